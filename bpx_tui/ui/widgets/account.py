"""Account health in four lines: equity, available, margin used, IMF/MMF."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import Static

from bpx_tui.ui import fmt
from bpx_tui.ui.freshness import LIVE, Freshness
from bpx_tui.ui.views import AccountView

MARGIN_FRACTION_SHOWN = Decimal(100)  # 10,000 %
NO_ACCOUNT = "No account: market data only (configure an API key to trade)"
LOADING = "Loading account…"


def account_text(view: AccountView) -> str:
    if view.state == "no-account":
        return NO_ACCOUNT
    if view.state == "loading":
        return LOADING
    fraction = view.margin_fraction
    if not fraction:
        margin = fmt.DASH
    elif fraction > MARGIN_FRACTION_SHOWN:
        # Equity over a tiny position's margin is a meaningless 8-digit percentage.
        margin = f">{fmt.pct(MARGIN_FRACTION_SHOWN, 0, sign=False)}"
    else:
        margin = fmt.pct(fraction, 1, sign=False)
    rows = (
        ("Equity", fmt.num(view.equity, 2), "Avail", fmt.num(view.available, 2)),
        ("Margin", fmt.num(view.margin_used, 2), "uPnL", fmt.num(view.upnl, 2, sign=True)),
        ("IMF", fmt.pct(view.imf, 2, sign=False), "MMF", fmt.pct(view.mmf, 2, sign=False)),
        ("MF", margin, "USDC", fmt.num(view.usdc_available, 2)),
    )
    # 38 columns: fits the right-hand panel down to an 80-column terminal.
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
        self.border_subtitle = freshness.label
        self.set_class(not freshness.live, "-stale")
        text = account_text(view)
        if text != self._text:
            # Reflow only when the height changes (e.g. "Loading account…" -> 4 lines).
            relayout = text.count("\n") != self._text.count("\n")
            self._text = text
            self.update(text, layout=relayout)
