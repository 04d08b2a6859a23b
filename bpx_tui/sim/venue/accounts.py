"""Accounts, perp positions and the money arithmetic of a fill.

Conservation is exact by construction: a position keeps its *cost* (signed sum of
``price * quantity`` of the open part) rather than an average price, a partial close
removes a rounded share of that cost, and the realized PnL is the cash of the closing
trade minus exactly the removed cost. Rounding therefore moves value between
"realized" and "unrealized" of the same account but never creates or destroys it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bpx_tui.sim.venue.history import DEFAULT_CAP, History
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.orders import Order

ZERO = Decimal(0)
COST_QUANTUM = Decimal("1e-10")


class Position:
    """An open perp position; ``net`` in steps (signed), ``cost`` signed like ``net``."""

    __slots__ = ("cost", "fees", "funding", "id", "net", "opened_us", "realized", "symbol")

    def __init__(self, position_id: int, symbol: str, opened_us: int) -> None:
        self.id = position_id
        self.symbol = symbol
        self.net = 0
        self.cost = ZERO
        self.realized = ZERO
        self.funding = ZERO  # cumulative cash received (negative when paid)
        self.fees = ZERO
        self.opened_us = opened_us

    def unrealized(self, mark: Decimal, spec: MarketSpec) -> Decimal:
        return mark * spec.qty_dec(self.net) - self.cost

    def entry_price(self, spec: MarketSpec) -> Decimal:
        if self.net == 0:
            return ZERO
        return (self.cost / spec.qty_dec(self.net)).quantize(Decimal("1e-8"))

    def break_even_price(self, spec: MarketSpec) -> Decimal:
        """Price at which closing returns fees and funding too (rest_position.json)."""
        if self.net == 0:
            return ZERO
        numerator = self.cost + self.fees - self.funding
        return (numerator / spec.qty_dec(self.net)).quantize(Decimal("1e-8"))

    def apply_fill(self, signed_steps: int, price: int, spec: MarketSpec) -> Decimal:
        """Trade ``signed_steps`` (buy > 0) at ``price`` ticks; returns realized PnL."""
        value = spec.notional_dec(price * abs(signed_steps))
        net = self.net
        if net == 0 or (net > 0) == (signed_steps > 0):
            self.net = net + signed_steps
            self.cost += value if signed_steps > 0 else -value
            return ZERO
        closing = min(abs(signed_steps), abs(net))
        if closing == abs(net):
            removed = self.cost
        else:
            removed = (self.cost * closing / abs(net)).quantize(COST_QUANTUM)
        closing_value = spec.notional_dec(price * closing)
        realized = (closing_value if net > 0 else -closing_value) - removed
        self.cost -= removed
        self.net = net + (closing if signed_steps > 0 else -closing)
        rest = abs(signed_steps) - closing
        if rest:
            opened = value - closing_value
            self.net += rest if signed_steps > 0 else -rest
            self.cost += opened if signed_steps > 0 else -opened
        self.realized += realized
        return realized


def _order_id(order: Order) -> str:
    return order.id


def _fill_order_id(row: dict[str, object]) -> str:
    return str(row["orderId"])


@dataclass
class Account:
    """One exchange account (a key pair maps to one of these)."""

    id: int
    api_key: str
    system: bool = False  # market maker / taker: no private events, no history
    balances: dict[str, Decimal] = field(default_factory=dict)
    deposits: dict[str, Decimal] = field(default_factory=dict)
    open_orders: dict[str, Order] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    history_cap: int = DEFAULT_CAP
    liquidating: bool = False
    order_history: History[Order] = field(init=False)
    fills: History[dict[str, object]] = field(init=False)
    funding_history: History[dict[str, object]] = field(init=False)

    def __post_init__(self) -> None:
        self.order_history = History(self.history_cap, ident=_order_id)
        self.fills = History(self.history_cap, ident=_fill_order_id)
        self.funding_history = History(self.history_cap)

    def deposit(self, asset: str, amount: Decimal) -> None:
        self.balances[asset] = self.balances.get(asset, ZERO) + amount
        self.deposits[asset] = self.deposits.get(asset, ZERO) + amount

    def balance(self, asset: str) -> Decimal:
        return self.balances.get(asset, ZERO)

    def credit(self, asset: str, amount: Decimal) -> None:
        self.balances[asset] = self.balances.get(asset, ZERO) + amount

    def orders_on(self, symbol: str) -> list[Order]:
        return [o for o in self.open_orders.values() if o.symbol == symbol]

    def open_exposure(self, symbol: str) -> tuple[int, int]:
        """Steps of open resting/trigger bids and asks on ``symbol`` (reduce-only excluded)."""
        bids = asks = 0
        for order in self.open_orders.values():
            if order.symbol != symbol or order.reduce_only:
                continue
            remaining = order.remaining
            if order.is_bid:
                bids += remaining
            else:
                asks += remaining
        return bids, asks

    def worst_exposure(self, symbol: str, extra_bid: int = 0, extra_ask: int = 0) -> int:
        """Signed net position if every open order on one side filled (the larger side)."""
        position = self.positions.get(symbol)
        net = position.net if position else 0
        bids, asks = self.open_exposure(symbol)
        long_case = net + bids + extra_bid
        short_case = net - asks - extra_ask
        return long_case if abs(long_case) >= abs(short_case) else short_case
