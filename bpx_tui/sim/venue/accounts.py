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

from bpx_tui.sim.errors import SimError
from bpx_tui.sim.venue.history import History
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.orders import Order

ZERO = Decimal(0)
COST_QUANTUM = Decimal("1e-10")
DEFAULT_LEVERAGE_LIMIT = Decimal(10)  # rest_account.json


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


def history_keys(spec: MarketSpec) -> tuple[tuple[str, str], ...]:
    """The indexes a record of ``spec`` is filed under, so that a history page filtered
    by symbol or by market type stays a slice (see :mod:`.history`)."""
    return (("symbol", spec.symbol), ("marketType", spec.market_type))


def _order_id(order: Order) -> str:
    return order.id


def _fill_order_id(row: dict[str, object]) -> str:
    return str(row["orderId"])


@dataclass
class Account:
    """One exchange account (a key pair maps to one of these)."""

    id: int
    api_key: str
    history_cap: int
    system: bool = False  # market maker / taker: no private events, no history
    balances: dict[str, Decimal] = field(default_factory=dict)
    deposits: dict[str, Decimal] = field(default_factory=dict)
    open_orders: dict[str, Order] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    liquidating: bool = False
    leverage_limit: Decimal = DEFAULT_LEVERAGE_LIMIT
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

    def record_order(self, order: Order, spec: MarketSpec) -> None:
        """File ``order`` in the order history once (system accounts keep none)."""
        if not self.system and not order.recorded:
            order.recorded = True
            self.order_history.add(order, order.created_us // 1000, history_keys(spec))

    def reducible(self, symbol: str, is_bid: bool) -> int:
        """Steps a reduce-only order on this side may still fill without flipping."""
        position = self.positions.get(symbol)
        if position is None:
            return 0
        if is_bid and position.net < 0:
            return -position.net
        if not is_bid and position.net > 0:
            return position.net
        return 0

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


class Accounts:
    """Every account on the venue, found by id or API key, plus what the house keeps.

    ``holders`` lists, per perp, the accounts with an open position there, so funding,
    revaluation and open interest visit the holders and not every account.
    ``house`` collects fees and funding rounding: the counterpart that makes the sum
    of all balances equal the sum of all deposits.
    """

    def __init__(self, symbols: list[str], history_cap: int) -> None:
        self.by_id: dict[int, Account] = {}
        self.holders: dict[str, set[int]] = {symbol: set() for symbol in symbols}
        self.house: dict[str, Decimal] = {}
        self._by_key: dict[str, int] = {}
        self._history_cap = history_cap

    def open(self, api_key: str, usdc: Decimal, system: bool = False) -> Account:
        account = Account(
            id=len(self.by_id) + 1, api_key=api_key, history_cap=self._history_cap, system=system
        )
        account.deposit("USDC", usdc)
        self.by_id[account.id] = account
        self._by_key[api_key] = account.id
        return account

    def id_for_key(self, api_key: str) -> int | None:
        return self._by_key.get(api_key)

    def get(self, account_id: int) -> Account:
        """The account a verified request acts for; an id nobody holds is a 401."""
        account = self.by_id.get(account_id)
        if account is None:
            raise SimError(401, "UNAUTHORIZED", "Unknown account")
        return account

    def to_house(self, asset: str, amount: Decimal) -> None:
        self.house[asset] = self.house.get(asset, ZERO) + amount

    def open_interest_steps(self, symbol: str) -> int:
        """Open interest in steps: the sum of every long (equal to the sum of shorts)."""
        total = 0
        for account_id in self.holders[symbol]:
            position = self.by_id[account_id].positions.get(symbol)
            if position is not None and position.net > 0:
                total += position.net
        return total
