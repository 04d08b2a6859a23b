"""The trade tape (time and sales) of the active market: newest first, aggressor in colour.

Rows arrive as :class:`~bpx_tui.ui.tape.TapeRow` (bursts already merged); a trade at or
above the configured notional is highlighted, because size is what a tape reader looks
for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from bpx_tui.ui import fmt
from bpx_tui.ui.tape import TapeRow
from bpx_tui.ui.widgets.table import CellMemo, Cells, Column, DiffTable, TablePanel

NO_TRADES = "No trades yet on this market"


class TapeTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("time", "Time", 8, right=False),
        Column("side", "Side", 4, right=False),
        Column("price", "Price", 12),
        Column("size", "Size", 12),
        Column("prints", "Prints", 6, drop_rank=1),
    )


class TapeCells:
    """Cells of one row in the market's digits (set per market by the panel)."""

    def __init__(self) -> None:
        self.price_decimals = 2
        self.quantity_decimals = 4

    def __call__(self, row: TapeRow) -> Cells:
        side = "up" if row.buy else "down"
        return (
            (fmt.clock(row.timestamp_ms) if row.timestamp_ms else fmt.DASH, "muted"),
            ("BUY" if row.buy else "SELL", side),
            (fmt.num(row.price, self.price_decimals), side),
            (fmt.num(row.quantity, self.quantity_decimals), "warn" if row.big else ""),
            (f"×{row.prints}" if row.prints > 1 else "", "muted"),
        )


class TapePanel(TablePanel):
    TABLE = TapeTable
    TITLE = "Tape"
    EMPTY = NO_TRADES
    STEM = "tape"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._format = TapeCells()
        self._cells = CellMemo(self._format)

    def show(self, rows: Sequence[TapeRow], price_decimals: int, quantity_decimals: int) -> None:
        digits = (price_decimals, quantity_decimals)
        if digits != (self._format.price_decimals, self._format.quantity_decimals):
            self._format.price_decimals, self._format.quantity_decimals = digits
            self._cells = CellMemo(self._format)  # cached cells were in the old digits
        big = sum(1 for row in rows if row.big)
        self.show_rows(self._cells(rows), f"{len(rows)} lines · {big} big" if big else "")
