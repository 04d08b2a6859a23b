"""Trigger orders waiting for a price: armed, checked, and the take-profit/stop-loss legs.

A trigger order rests here, not on the book, until its reference price (mark, index
or last, per ``triggerBy``) crosses the trigger price in the direction it was armed
from. This module only knows *when* an order is due; running it is the matching
engine's job (:meth:`~bpx_tui.sim.venue.matching.Matching.fire_due_triggers`), which
keeps the dependency one way.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal

from bpx_tui.sim.venue.accounts import Account
from bpx_tui.sim.venue.market_state import MarketState
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.orders import TRIGGER_PENDING, Order, OrderIds
from bpx_tui.sim.venue.publisher import Publisher


class Triggers:
    """The armed trigger orders of every market."""

    def __init__(
        self, markets: MarketState, publisher: Publisher, ids: OrderIds, clock_us: Callable[[], int]
    ) -> None:
        self._markets = markets
        self._publisher = publisher
        self._ids = ids
        self._clock = clock_us
        self.pending: dict[str, dict[str, Order]] = {symbol: {} for symbol in markets.symbols}

    def armed(self, symbol: str) -> bool:
        return bool(self.pending[symbol])

    def reference(self, spec: MarketSpec, trigger_by: str | None) -> Decimal:
        """The price a trigger watches; last price falls back to mark before any trade."""
        state = self._markets.prices.states[spec.symbol]
        if trigger_by == "IndexPrice":
            return state.index_dec
        if trigger_by == "LastPrice":
            last = self._markets.data[spec.symbol].last_price
            return last if last is not None else state.mark
        return state.mark

    def arm(self, account: Account, order: Order, spec: MarketSpec) -> None:
        """Open ``order`` as a pending trigger; it fires when the price comes to it."""
        assert order.trigger_price is not None
        reference = self.reference(spec, order.trigger_by)
        order.trigger_above = spec.price_dec(order.trigger_price) >= reference
        order.status = TRIGGER_PENDING
        account.record_order(order, spec)
        account.open_orders[order.id] = order
        self.pending[spec.symbol][order.id] = order
        self._publisher.order(account, "triggerPlaced", order, spec)

    def disarm(self, order: Order) -> None:
        self.pending[order.symbol].pop(order.id, None)

    def due(self, symbol: str) -> list[Order]:
        spec = self._markets.specs[symbol]
        due = []
        for order in self.pending[symbol].values():
            assert order.trigger_price is not None
            reference = self.reference(spec, order.trigger_by)
            trigger = spec.price_dec(order.trigger_price)
            if (order.trigger_above and reference >= trigger) or (
                not order.trigger_above and reference <= trigger
            ):
                due.append(order)
        return due

    def steps(self, account: Account, order: Order, spec: MarketSpec) -> int:
        """The size a fired trigger trades: an amount, or a share (``"50%"``) of the
        position as it is at the moment of firing."""
        text = order.trigger_quantity or "0"
        if text.endswith("%"):
            position = account.positions.get(spec.symbol)
            if position is None:
                return 0
            share = abs(spec.qty_dec(position.net)) * Decimal(text[:-1]) / 100
            return int((share / spec.step).to_integral_value(rounding=ROUND_DOWN))
        return int(Decimal(text).scaleb(spec.quantity_decimals))

    def spawn_attached(self, account: Account, parent: Order, spec: MarketSpec) -> None:
        """Once an order with TP/SL legs is done and has filled, arm the legs.

        Each leg is a trigger order on the other side for the executed quantity,
        reduce-only on perps, with ``relatedOrderId`` = the parent (rest_orders_open.json).
        """
        if not parent.attached or parent.spawned or not parent.executed or parent.is_open:
            return
        parent.spawned = True
        for kind in ("takeProfit", "stopLoss"):
            leg = parent.attached.get(kind)
            if leg is None:
                continue
            trigger, limit, by = leg
            child = Order(
                self._ids.next(),
                account.id,
                spec.symbol,
                not parent.is_bid,
                limit is not None,
                limit,
                None,
                self._clock(),
                reduce_only=True if spec.is_perp else None,
                stp=parent.stp,
            )
            child.trigger_price = trigger
            child.trigger_quantity = spec.qty_text(parent.executed)
            child.trigger_by = by
            child.related_id = parent.id
            self.arm(account, child, spec)
