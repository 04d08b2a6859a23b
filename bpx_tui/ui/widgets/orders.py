"""Working orders; trigger orders (stop-loss / take-profit) grouped after the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from bpx_tui.exchange.models import Order
from bpx_tui.ui import fmt
from bpx_tui.ui.widgets.table import Cell, Column, DiffTable, TablePanel

if TYPE_CHECKING:
    from bpx_tui.exchange.client import BackpackClient

NO_ORDERS = "No open orders"


class OrdersTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("symbol", "Market", 15, right=False),
        Column("side", "Side", 4, right=False),
        Column("type", "Type", 9, right=False),
        Column("price", "Price", 11),
        Column("size", "Size", 9),
        Column("filled", "Filled", 9),
        Column("status", "Status", 10, right=False),
        Column("age", "Age", 4),
    )


def order_cells(order: Order, decimals: int, qty_decimals: int, now_ms: int) -> tuple[Cell, ...]:
    side = fmt.side_word(order.side)
    if order.is_trigger:
        kind = f"⚑{order.order_type[:4]}"
        price = f"@{fmt.num(order.trigger_price, decimals)}"
    else:
        kind = (
            order.order_type
            + ("·P" if order.post_only else "")
            + ("·R" if order.reduce_only else "")
        )
        price = fmt.num(order.price, decimals)
    # A trigger order carries its size as triggerQuantity ("Y"); its "q" is 0 until it fires.
    if not order.quantity and order.trigger_quantity:
        quantity_text = order.trigger_quantity
    else:
        quantity_text = fmt.num(order.quantity, qty_decimals)
    created = order.created_at_ms
    return (
        (order.symbol, "active"),
        (side, "up" if order.side == "Bid" else "down"),
        (kind, ""),
        (price, ""),
        (quantity_text, ""),
        (fmt.num(order.executed_quantity, qty_decimals), "muted"),
        (order.status, "muted"),
        (fmt.age(now_ms - created) if created else fmt.DASH, "muted"),
    )


def sorted_orders(orders: dict[str, Order]) -> list[Order]:
    """Plain orders first, then trigger orders; each by market, then newest first."""
    return sorted(
        orders.values(),
        key=lambda o: (o.is_trigger, o.symbol, -(o.created_at_ms or 0), o.id),
    )


class OrdersPanel(TablePanel):
    TABLE = OrdersTable
    TITLE = "Open orders"
    EMPTY = NO_ORDERS
    STEM = "orders"

    @property
    def table(self) -> OrdersTable:
        return self.query_one(OrdersTable)

    def show(self, client: BackpackClient, now_ms: int) -> None:
        rows: dict[str, tuple[Cell, ...]] = {}
        triggers = 0
        for order in sorted_orders(client.open_orders):
            market = client.markets.get(order.symbol)
            rows[order.id] = order_cells(
                order,
                market.price_decimals if market else 2,
                market.quantity_decimals if market else 4,
                now_ms,
            )
            triggers += order.is_trigger
        plain = len(rows) - triggers
        self.show_rows(rows, f"{plain} working" + (f" · {triggers} trigger" if triggers else ""))
