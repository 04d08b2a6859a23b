"""The order value: what the trader asked for, made into exactly what will be sent.

Every way of asking for an order — the ticket, a ladder key, close, close-all, a
script through ``BackpackAPI`` — describes it as an :class:`OrderIntent` and hands it
to :func:`build_order`, the only code that applies a market's rules (tick and step
rounding, minimum and maximum size, which flags go with which order type). What comes
out is a frozen :class:`NewOrder`: the risk checks read it, the journal stamps its
``clientId`` and records it, the preview draws from it, and the exchange client sends
its :meth:`NewOrder.payload` as it is, without checking it again. A value the market
cannot represent is therefore refused here, once, with one message.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.models import Market
from bpx_tui.exchange.numbers import RoundingMode, is_multiple, round_to_step, wire
from bpx_tui.exchange.vocab import (
    UINT32_MAX,
    OrderType,
    Side,
    TimeInForce,
    TriggerBy,
    check_client_id,
    parse_order_type,
    parse_side,
    parse_time_in_force,
    parse_trigger_by,
)

__all__ = [
    "Exit",
    "NewOrder",
    "OrderIntent",
    "build_order",
    "check_exits",
    "mint_client_id",
]

ZERO = Decimal(0)
# A quote amount is money in the quote asset (USDC), not a price: it goes out to the
# cent, whatever the market's tick.
QUOTE_STEP = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Exit:
    """A take-profit or stop-loss attached to an entry; the exchange places it on fill."""

    trigger_price: Decimal
    limit_price: Decimal | None = None  # None: the exit fires as a market order
    trigger_by: TriggerBy | None = None  # None: the exchange's default source


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the trader asked for, in the trader's numbers (not yet on the market's grid).

    A limit order may be sized in the quote unit (``quote_quantity``); building it turns
    that into base units at the limit price, because Backpack takes a quote size on
    market orders only.
    """

    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal | None = None
    quote_quantity: Decimal | None = None
    price: Decimal | None = None
    post_only: bool = False
    reduce_only: bool = False
    time_in_force: TimeInForce | None = None
    trigger_price: Decimal | None = None  # a stop entry: rests off-book until this trades
    trigger_by: TriggerBy | None = None
    take_profit: Exit | None = None
    stop_loss: Exit | None = None
    replaces: str | None = None  # the id of a resting order this one takes the place of


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order on the market's grid, checked, ready for the wire. Made by :func:`build_order`.

    ``terms`` holds the exact values that are sent (the intent, rounded); ``client_id``
    is stamped by whoever sends it (the journal mints it) with :meth:`with_client_id`.
    """

    terms: OrderIntent
    client_id: int | None = None

    @property
    def symbol(self) -> str:
        return self.terms.symbol

    @property
    def side(self) -> Side:
        return self.terms.side

    def with_client_id(self, client_id: int) -> NewOrder:
        return replace(self, client_id=check_client_id(client_id))

    def payload(self) -> dict[str, Any]:
        """The JSON body of ``POST /api/v1/order``, exactly as signed and sent."""
        terms = self.terms
        body: dict[str, Any] = {
            "symbol": terms.symbol,
            "side": terms.side,
            "orderType": terms.order_type,
        }
        if terms.quantity is not None:
            # A trigger order carries its size as triggerQuantity (as ccxt sends it).
            size_key = "quantity" if terms.trigger_price is None else "triggerQuantity"
            body[size_key] = wire(terms.quantity)
        if terms.quote_quantity is not None:
            body["quoteQuantity"] = wire(terms.quote_quantity)
        if terms.price is not None:
            body["price"] = wire(terms.price)
        if terms.post_only:
            body["postOnly"] = True
        if terms.reduce_only:
            body["reduceOnly"] = True
        if terms.time_in_force is not None:
            body["timeInForce"] = terms.time_in_force
        if terms.trigger_price is not None:
            body["triggerPrice"] = wire(terms.trigger_price)
            if terms.trigger_by is not None:
                body["triggerBy"] = terms.trigger_by
        for prefix, exit_ in (("takeProfit", terms.take_profit), ("stopLoss", terms.stop_loss)):
            if exit_ is None:
                continue
            body[f"{prefix}TriggerPrice"] = wire(exit_.trigger_price)
            if exit_.limit_price is not None:
                body[f"{prefix}LimitPrice"] = wire(exit_.limit_price)
            if exit_.trigger_by is not None:
                body[f"{prefix}TriggerBy"] = exit_.trigger_by
        if self.client_id is not None:
            body["clientId"] = self.client_id
        return body


def mint_client_id(taken: Callable[[int], bool] | None = None) -> int:
    """A random non-zero uint32 that ``taken`` does not know: the id a lost order is found by.

    Random rather than counted, so two processes (or a restarted one) do not hand out
    the same id to different orders.
    """
    while True:
        candidate = secrets.randbelow(UINT32_MAX) + 1
        if taken is None or not taken(candidate):
            return candidate


def build_order(intent: OrderIntent, market: Market, *, exact: bool = False) -> NewOrder:
    """Put ``intent`` on ``market``'s grid, or raise :class:`InvalidOrder` saying why not.

    ``exact`` refuses a typed price or size that is off the tick or step instead of
    rounding it: a trader's ticket must send what the trader wrote. Scripts and closes
    round (a price to the nearest tick, a size down, so nothing is over-traded).
    """
    if intent.symbol != market.symbol:
        raise InvalidOrder(f"the order is for {intent.symbol!r}, the market is {market.symbol}")
    side = parse_side(intent.side)
    order_type = parse_order_type(intent.order_type)
    limit = order_type == "Limit"
    grid = _Grid(market, exact)
    price = None
    if limit:
        if intent.price is None:
            raise InvalidOrder("a limit order needs a price")
        price = grid.price(intent.price, "limit price")
    elif intent.price is not None:
        raise InvalidOrder("a market order takes no price")
    quantity, quote = _size(intent, grid, price)
    tif = None if intent.time_in_force is None else parse_time_in_force(intent.time_in_force)
    if intent.post_only:
        if not limit:
            raise InvalidOrder("post-only applies to limit orders only")
        if tif not in (None, "GTC"):
            raise InvalidOrder(f"a post-only order rests on the book: it cannot be {tif}")
    if intent.reduce_only and not market.is_perp:
        raise InvalidOrder(f"{market.symbol} is a spot market: reduce-only applies to perps")
    trigger = None
    if intent.trigger_price is not None:
        if quantity is None:
            raise InvalidOrder("a trigger order is sized in base units, not in quote")
        trigger = grid.price(intent.trigger_price, "trigger price")
    trigger_by = None if intent.trigger_by is None else parse_trigger_by(intent.trigger_by)
    if trigger_by is not None and trigger is None:
        raise InvalidOrder("a trigger source needs a trigger price")
    take_profit = _exit(grid, intent.take_profit, "take-profit")
    stop_loss = _exit(grid, intent.stop_loss, "stop-loss")
    check_exits(side, price if trigger is None else trigger, take_profit, stop_loss)
    if intent.replaces is not None and not intent.replaces.strip():
        raise InvalidOrder("the order to replace needs an id")
    # The symbol (checked above) and the two flags go out as asked.
    terms = replace(
        intent,
        side=side,
        order_type=order_type,
        quantity=quantity,
        quote_quantity=quote,
        price=price,
        time_in_force=tif,
        trigger_price=trigger,
        trigger_by=trigger_by,
        take_profit=take_profit,
        stop_loss=stop_loss,
        replaces=None if intent.replaces is None else intent.replaces.strip(),
    )
    return NewOrder(terms)


class _Grid:
    """One market's tick and step, rounding or refusing as the caller asked."""

    def __init__(self, market: Market, exact: bool) -> None:
        self.market = market
        self.exact = exact

    def price(self, value: Decimal, what: str, mode: RoundingMode = "nearest") -> Decimal:
        market = self.market
        _positive(value, what)
        if self.exact and not is_multiple(value, market.tick_size):
            raise InvalidOrder(
                f"{market.symbol}: {what} {value} is not on the tick {market.tick_size}"
            )
        rounded = market.round_price(value, mode)
        market.check_price(rounded)
        return rounded

    def quantity(self, value: Decimal, *, derived: bool = False) -> Decimal:
        """``derived``: converted from a quote amount, so rounding down is the conversion."""
        market = self.market
        _positive(value, "quantity")
        if self.exact and not derived and not is_multiple(value, market.step_size):
            raise InvalidOrder(
                f"{market.symbol}: quantity {value} is not a multiple of the step "
                f"{market.step_size}"
            )
        rounded = market.round_quantity(value, "down")
        if rounded < market.min_quantity or rounded <= ZERO:
            minimum = max(market.min_quantity, market.step_size)
            raise InvalidOrder(f"{market.symbol}: quantity {value} is below the minimum {minimum}")
        market.check_quantity(rounded)
        return rounded


def _positive(value: Decimal, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= ZERO:
        raise InvalidOrder(f"{what} must be a positive number, got {value}")


def _size(
    intent: OrderIntent, grid: _Grid, price: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """(base quantity, quote quantity): exactly one is set."""
    if intent.quantity is None and intent.quote_quantity is None:
        raise InvalidOrder("give a quantity (or, for a market order, a quote quantity)")
    if intent.quantity is not None and intent.quote_quantity is not None:
        raise InvalidOrder("give either a quantity or a quote quantity, not both")
    if intent.quantity is not None:
        return grid.quantity(intent.quantity), None
    quote = intent.quote_quantity
    assert quote is not None
    _positive(quote, "quote quantity")
    if price is not None:
        return grid.quantity(quote / price, derived=True), None
    if grid.exact and not is_multiple(quote, QUOTE_STEP):
        raise InvalidOrder(f"quote quantity {quote} is finer than a cent")
    rounded = round_to_step(quote, QUOTE_STEP, "down")
    if rounded <= ZERO:
        raise InvalidOrder(f"quote quantity {quote} is below one cent")
    return None, rounded


def _exit(grid: _Grid, exit_: Exit | None, what: str) -> Exit | None:
    if exit_ is None:
        return None
    return Exit(
        trigger_price=grid.price(exit_.trigger_price, f"{what} trigger"),
        limit_price=None
        if exit_.limit_price is None
        else grid.price(exit_.limit_price, f"{what} limit price"),
        trigger_by=None if exit_.trigger_by is None else parse_trigger_by(exit_.trigger_by),
    )


def check_exits(
    side: Side, entry: Decimal | None, take_profit: Exit | None, stop_loss: Exit | None
) -> None:
    """An exit on the wrong side of its entry would fire at once: refuse it.

    A market entry has no price yet, so its exits are not checked here; the ticket
    checks them against the fill it estimates from the book.
    """
    if entry is None:
        return
    up = side == "Bid"
    buy_or_sell = "buy" if up else "sell"
    if take_profit is not None:
        trigger = take_profit.trigger_price
        if not (trigger > entry if up else trigger < entry):
            where = "above" if up else "below"
            raise InvalidOrder(f"a take-profit on a {buy_or_sell} must be {where} {entry}")
    if stop_loss is not None:
        trigger = stop_loss.trigger_price
        if not (trigger < entry if up else trigger > entry):
            where = "below" if up else "above"
            raise InvalidOrder(f"a stop-loss on a {buy_or_sell} must be {where} {entry}")
