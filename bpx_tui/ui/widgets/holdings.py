"""Spot holdings: each asset's available and locked amount and its value in USDC.

A funding trader holds spot against a short perp; this is the spot leg, beside the
positions table's perp leg. Rows arrive as :class:`~bpx_tui.ui.views.HoldingRow`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

from bpx_tui.ui import fmt
from bpx_tui.ui.views import HoldingRow
from bpx_tui.ui.widgets.table import CellMemo, Cells, Column, DiffTable, TablePanel

NO_HOLDINGS = "No balances"


class HoldingsTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("asset", "Asset", 8, right=False),
        Column("available", "Available", 16),
        Column("locked", "Locked", 14, drop_rank=1),
        Column("value", "Value USDC", 14),
    )


def holding_cells(row: HoldingRow) -> Cells:
    return (
        (row.asset, "active"),
        (fmt.exact(row.available.normalize()) if row.available else "0", ""),
        (fmt.exact(row.locked.normalize()) if row.locked else "0", "muted"),
        (fmt.num(row.value, 2), ""),
    )


class HoldingsPanel(TablePanel):
    TABLE = HoldingsTable
    TITLE = "Holdings"
    EMPTY = NO_HOLDINGS
    STEM = "holdings"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cells = CellMemo(holding_cells)

    def show(self, rows: Sequence[HoldingRow]) -> None:
        total = sum((row.value for row in rows if row.value is not None), Decimal(0))
        self.show_rows(self._cells(rows), f"{fmt.num(total, 2)} USDC")
