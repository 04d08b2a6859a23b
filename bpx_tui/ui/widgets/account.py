"""Account health in four lines: equity, margin in use, distance to liquidation, leverage."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import Static

from bpx_tui.ui import fmt
from bpx_tui.ui.freshness import LIVE, Freshness
from bpx_tui.ui.views import AccountView
from bpx_tui.ui.widgets.unchanged import set_titles

MARGIN_FRACTION_SHOWN = Decimal(100)  # 10,000 %
MULTIPLE_SHOWN = 1000  # a margin fraction this many times maintenance is "far"
NO_ACCOUNT = "No account: market data only (configure an API key to trade)"
LOADING = "Loading account…"


def leverage_text(leverage: Decimal | None, limit: Decimal | None) -> str:
    """``0.97x/10x``: in use, and the account's limit when known."""
    used = fmt.DASH if leverage is None else f"{leverage:.2f}x"
    return used if limit is None else f"{used}/{fmt.plain(limit)}x"


def margin_text(fraction: Decimal | None) -> str:
    if not fraction:
        return fmt.DASH  # flat: no exposure to hold margin against
    if fraction > MARGIN_FRACTION_SHOWN:
        # Equity over a tiny position's exposure is a meaningless 8-digit percentage.
        return f">{fmt.pct(MARGIN_FRACTION_SHOWN, 0, sign=False)}"
    return fmt.pct(fraction, 2, sign=False)


def multiple_text(multiple: Decimal | None) -> str:
    """How far from liquidation, as a multiple of the maintenance fraction."""
    if multiple is None:
        return fmt.DASH
    if multiple >= MULTIPLE_SHOWN:
        return f">{MULTIPLE_SHOWN}x"
    return f"{multiple:.1f}x"


def account_text(view: AccountView) -> str:
    """Four lines, 38 columns (the right-hand panel down to an 80-column terminal):
    equity and what is free; initial margin in use and unrealised PnL; the margin
    fraction and how many times maintenance it is (1x liquidates); leverage in use
    against the account's limit, and the session's realised PnL."""
    if view.state == "no-account":
        return NO_ACCOUNT
    if view.state == "loading":
        return LOADING
    rows = (
        ("Equity", fmt.num(view.equity, 2), "Avail", fmt.num(view.available, 2)),
        ("IM used", fmt.num(view.initial_margin, 2), "uPnL", fmt.num(view.upnl, 2, sign=True)),
        (
            "MF",
            margin_text(view.margin_fraction),
            "×maint",
            multiple_text(view.maintenance_multiple),
        ),
        (
            "Lev",
            leverage_text(view.leverage, view.leverage_limit),
            "rPnL",
            fmt.num(view.session_realized, 2, sign=True),
        ),
    )
    return "\n".join(f"{a:<7}{b:>12} {c:<6}{d:>12}" for a, b, c, d in rows)


class AccountStrip(Static):
    """Static updated without a layout pass unless its height changes: new numbers
    several times a second must not reflow the screen."""

    freshness: Freshness = LIVE  # what the strip last showed; the pump redraws on a change

    def on_mount(self) -> None:
        self.border_title = "Account"
        self._text = ""

    def show(self, view: AccountView) -> None:
        """The view's freshness is the feed's: equity and uPnL are marked to a price that
        may no longer be live."""
        freshness = view.fresh
        self.freshness = freshness
        set_titles(self, subtitle=freshness.label)
        self.set_class(not freshness.live, "-stale")
        text = account_text(view)
        if text != self._text:
            # Reflow only when the height changes (e.g. "Loading account…" -> 4 lines).
            relayout = text.count("\n") != self._text.count("\n")
            self._text = text
            self.update(text, layout=relayout)
