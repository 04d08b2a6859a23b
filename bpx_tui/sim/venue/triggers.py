"""Trigger orders waiting for a price: armed, checked, and the take-profit/stop-loss legs.

A trigger order rests here, not on the book, until its reference price (mark, index
or last, per ``triggerBy``) crosses the trigger price in the direction it was armed
from. This module only knows *when* an order is due; running it is the matching
engine's job (:meth:`~bpx_tui.sim.venue.matching.Matching.fire_due_triggers`), which
keeps the dependency one way.

Where Backpack documents nothing and we had to choose (each also said at its code):

- a plain trigger order fires in the direction of its trigger from the reference
  price when it was placed (a stop below the mark fires on a fall, one above on a
  rise); a take-profit / stop-loss leg fires by what it is instead (a long's
  take-profit on a rise, its stop-loss on a fall), so a leg armed after the price
  already passed it fires at once rather than waiting for the price to come back;
- the legs appear with the parent's first fill and follow its executed quantity
  (``orderModified`` as it grows), so a partly filled resting entry is protected for
  what has filled rather than only once it is done;
- a pending reduce-only trigger left with nothing to reduce (the position closed or
  flipped to its side) is ``Cancelled`` with ``orderCancelled``, not expired:
  Backpack's web UI shows such exits as cancelled, and ``StopWithoutPosition``
  stays the reason for one that fires with nothing to size a percentage from.
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

    def arm(
        self, account: Account, order: Order, spec: MarketSpec, above: bool | None = None
    ) -> None:
        """Open ``order`` as a pending trigger; it fires when the price comes to it.

        ``above``: it fires when the reference is at or above the trigger (False: at or
        below); None takes the side of the trigger from the reference price now.
        """
        assert order.trigger_price is not None
        if above is None:
            reference = self.reference(spec, order.trigger_by)
            above = spec.price_dec(order.trigger_price) >= reference
        order.trigger_above = above
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

    def orphans(self, account: Account, symbol: str) -> list[Order]:
        """Pending reduce-only triggers of ``account`` with nothing left to reduce."""
        return [
            order
            for order in self.pending[symbol].values()
            if order.account_id == account.id
            and order.reduce_only
            and account.reducible(symbol, order.is_bid) == 0
        ]

    def follow_fill(self, account: Account, parent: Order, spec: MarketSpec) -> None:
        """After a fill of an order with take-profit / stop-loss legs, size the legs.

        The first fill arms each leg: a trigger order on the other side for the
        executed quantity, reduce-only on perps, ``relatedOrderId`` = the parent
        (rest_orders_open.json). A later fill raises the pending legs' quantity to the
        new executed total (``orderModified``). Our choice, see the module docstring.
        """
        if not parent.attached or not parent.executed:
            return
        quantity = spec.qty_text(parent.executed)
        if parent.legs is not None:
            for armed in parent.legs:
                if armed.status == TRIGGER_PENDING and armed.trigger_quantity != quantity:
                    armed.trigger_quantity = quantity
                    armed.updated_us = self._clock()
                    self._publisher.order(account, "orderModified", armed, spec)
            return
        parent.legs = []
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
            child.trigger_quantity = quantity
            child.trigger_by = by
            child.related_id = parent.id
            parent.legs.append(child)
            # A long's take-profit fires on a rise and its stop-loss on a fall (a
            # short's the other way), whatever the price did before the fill.
            self.arm(account, child, spec, above=(kind == "takeProfit") == parent.is_bid)
