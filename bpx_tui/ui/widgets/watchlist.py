"""The watchlist: several markets at a glance; Enter makes a row the active market.

Prices here change about once a second per market (ticker and mark streams), so a
diff-updated DataTable is cheap enough; a changed last price flashes up/down for
:data:`FLASH_S` seconds. The rows arrive as :class:`~bpx_tui.ui.views.WatchRow` values
and the choice of a market leaves as a message: which market is active is the app's
business, not the table's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from textual.message import Message

from bpx_tui.ui import fmt
from bpx_tui.ui.freshness import LIVE, Freshness
from bpx_tui.ui.views import WatchRow
from bpx_tui.ui.widgets.table import CellMemo, Cells, Column, DiffTable
from bpx_tui.ui.widgets.unchanged import set_titles

FLASH_S = 0.6


@dataclass(slots=True)
class _Flash:
    price: Decimal
    direction: str = ""
    until: float = 0.0


def watch_cells(row: WatchRow) -> Cells:
    """The row without its flash (that one moves with the clock, not with the row)."""
    decimals = row.price_decimals
    rate = row.funding_rate
    cells: Cells = (
        (("▶ " if row.active else "  ") + row.symbol, "active" if row.active else ""),
        (fmt.num(row.last, decimals), ""),
        (fmt.pct(row.change), _sign_style(row.change)),
        (fmt.num(row.mark, decimals), ""),
        (fmt.num(row.index, decimals), "muted"),
        (fmt.pct(rate, 4), _sign_style(rate)),
        (fmt.pct(row.funding_apr, 1), _sign_style(rate)),
        (
            fmt.countdown(row.next_funding_s * 1000)
            if row.next_funding_s is not None
            else fmt.DASH,
            "muted",
        ),
        (fmt.compact(row.open_interest), "muted"),
    )
    if row.fresh.live:
        return cells
    return (cells[0], *((text, "stale") for text, _style in cells[1:]))


class Watchlist(DiffTable):
    # A funding trader's columns (rate, APR, countdown) outlast index, OI and 24h.
    COLUMNS: ClassVar = (
        Column("symbol", "Market", 16, right=False),
        Column("last", "Last", 11),
        Column("change", "24h", 7, drop_rank=2),
        Column("mark", "Mark", 11),
        Column("index", "Index", 11, drop_rank=4),
        Column("funding", "Fund/int", 9),
        Column("apr", "APR", 7),
        Column("next", "Next", 9),  # fmt.countdown: "in 52m07s"
        Column("oi", "OI", 7, drop_rank=3),
    )

    class MarketChosen(Message):
        """The user picked a row (Enter or a click) to trade that market."""

        def __init__(self, symbol: str) -> None:
            self.symbol = symbol
            """The market of the chosen row."""
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._flash: dict[str, _Flash] = {}
        self._cells = CellMemo(watch_cells)

    def on_data_table_row_selected(self, event: DiffTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.MarketChosen(str(event.row_key.value)))

    def show(self, rows: Sequence[WatchRow], now: float) -> bool:
        """Push the current values; returns True while a flash is still running.

        ``now`` is monotonic seconds. A market whose data is not live has its numbers
        dimmed (no flash), and the panel's subtitle says how old the oldest is.
        """
        cells = self._cells(rows)
        flashing = False
        worst: Freshness = LIVE
        for row in rows:
            direction = self._direction(row.symbol, row.last, now)
            fresh = row.fresh
            if not fresh.live:
                if worst.live or (fresh.age_s or 0) > (worst.age_s or 0):
                    worst = fresh
            elif direction:
                drawn = cells[row.symbol]
                cells[row.symbol] = (drawn[0], (drawn[1][0], direction), *drawn[2:])
                flashing = True
        self.sync(cells)
        set_titles(self, subtitle=worst.label)
        self.set_class(not worst.live, "-stale")
        return flashing

    def _direction(self, symbol: str, last: Decimal | None, now: float) -> str:
        if last is None:
            return ""
        flash = self._flash.get(symbol)
        if flash is None:
            self._flash[symbol] = _Flash(last)
            return ""
        if last != flash.price:
            flash.direction = "up" if last > flash.price else "down"
            flash.until = now + FLASH_S
            flash.price = last
        return flash.direction if now < flash.until else ""


def _sign_style(value: Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return "up" if value > 0 else "down"
