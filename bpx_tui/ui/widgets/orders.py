"""Working orders; trigger orders (stop-loss / take-profit) grouped after the rest.

The rows arrive sorted as :class:`~bpx_tui.ui.views.OrderRow` values; which order the
cursor is on is read by the app's cancel key through :attr:`DiffTable.selected_key`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from bpx_tui.ui import fmt
from bpx_tui.ui.views import OrderRow
from bpx_tui.ui.widgets.table import CellMemo, Cells, Column, DiffTable, TablePanel

NO_ORDERS = "No open orders"


class OrdersTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("symbol", "Market", 14, right=False),
        Column("side", "Side", 4, right=False),
        Column("type", "Type", 9, right=False),
        Column("price", "Price", 10),
        Column("size", "Size", 9),
        Column("filled", "Filled", 9, drop_rank=2),
        Column("status", "Status", 10, right=False, drop_rank=1),
        Column("age", "Age", 4, drop_rank=3),
    )


def order_cells(row: OrderRow) -> Cells:
    if row.trigger:
        kind = f"⚑{row.order_type[:4]}"
        price = f"@{fmt.num(row.price, row.price_decimals)}"
    else:
        kind = row.order_type + ("·P" if row.post_only else "") + ("·R" if row.reduce_only else "")
        price = fmt.num(row.price, row.price_decimals)
    # A trigger order carries its size as triggerQuantity ("Y"); its "q" is 0 until it fires.
    if not row.quantity and row.trigger_quantity:
        quantity_text = row.trigger_quantity
    else:
        quantity_text = fmt.num(row.quantity, row.quantity_decimals)
    return (
        (row.symbol, "active"),
        (fmt.side_word(row.side), "up" if row.side == "Bid" else "down"),
        (kind, ""),
        (price, ""),
        (quantity_text, ""),
        (fmt.num(row.filled, row.quantity_decimals), "muted"),
        (row.status, "muted"),
        (fmt.age(row.age_s * 1000) if row.age_s is not None else fmt.DASH, "muted"),
    )


class OrdersPanel(TablePanel):
    TABLE = OrdersTable
    TITLE = "Open orders"
    EMPTY = NO_ORDERS
    STEM = "orders"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cells = CellMemo(order_cells)

    @property
    def table(self) -> OrdersTable:
        return self.query_one(OrdersTable)

    def show(self, rows: Sequence[OrderRow]) -> None:
        triggers = sum(row.trigger for row in rows)
        plain = len(rows) - triggers
        subtitle = f"{plain} working" + (f" · {triggers} trigger" if triggers else "")
        self.show_rows(self._cells(rows), subtitle)
