"""Account health in two lines: equity, available, margin used, IMF/MMF."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from textual.widgets import Static

from bpx_tui.ui import fmt
from bpx_tui.ui.freshness import LIVE, Freshness

if TYPE_CHECKING:
    from bpx_tui.exchange.client import BackpackClient


MARGIN_FRACTION_SHOWN = Decimal(100)  # 10,000 %


def account_text(client: BackpackClient) -> str:
    if not client.has_credentials:
        return "No account: market data only (configure an API key to trade)"
    collateral = client.collateral
    if collateral is None:
        return "Loading account…"
    usdc = client.balances.get("USDC")
    fraction = collateral.margin_fraction
    if not fraction:
        margin = fmt.DASH
    elif fraction > MARGIN_FRACTION_SHOWN:
        # Equity over a tiny position's margin is a meaningless 8-digit percentage.
        margin = f">{fmt.pct(MARGIN_FRACTION_SHOWN, 0, sign=False)}"
    else:
        margin = fmt.pct(fraction, 1, sign=False)
    rows = (
        (
            "Equity",
            fmt.num(collateral.net_equity, 2),
            "Avail",
            fmt.num(collateral.net_equity_available, 2),
        ),
        (
            "Margin",
            fmt.num(collateral.net_equity_locked, 2),
            "uPnL",
            fmt.num(collateral.pnl_unrealized, 2, sign=True),
        ),
        (
            "IMF",
            fmt.pct(collateral.imf, 2, sign=False),
            "MMF",
            fmt.pct(collateral.mmf, 2, sign=False),
        ),
        ("MF", margin, "USDC", fmt.num(usdc.available if usdc else None, 2)),
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

    def show(self, client: BackpackClient, freshness: Freshness = LIVE) -> None:
        """``freshness``: the feed's; equity and uPnL are marked to a price that may
        no longer be live."""
        self.freshness = freshness
        self.border_subtitle = freshness.label
        self.set_class(not freshness.live, "-stale")
        text = account_text(client)
        if text != self._text:
            # Reflow only when the height changes (e.g. "Loading account…" -> 4 lines).
            relayout = text.count("\n") != self._text.count("\n")
            self._text = text
            self.update(text, layout=relayout)
