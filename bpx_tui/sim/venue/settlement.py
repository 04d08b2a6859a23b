"""Where the money of a fill goes: balances, perp positions, fees and the house.

A spot fill moves the two assets and charges the fee in the asset received; a perp
fill changes the position and credits realized PnL minus the fee in USDC. Every fee
goes to the house, so balances plus house always equal deposits (plus unrealized
PnL): the conservation tests rely on nothing else moving money.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.venue.accounts import Account, Accounts, Position
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.orders import Order

FIRST_POSITION_ID = 7_000_000_000

Moved = tuple[Position, str] | None
"""A position a fill changed and the event it gets (opened, adjusted, closed)."""


class Settlement:
    """Settles one side of a fill."""

    def __init__(self, config: SimConfig, accounts: Accounts, clock_us: Callable[[], int]) -> None:
        self._config = config
        self._accounts = accounts
        self._clock = clock_us
        self._last_position_id = FIRST_POSITION_ID

    def settle(
        self, account: Account, order: Order, spec: MarketSpec, price: int, qty: int, maker: bool
    ) -> tuple[Decimal, str, Moved]:
        """Move money for ``order``'s side of a fill: the fee, its asset, the position."""
        rate = self._config.maker_fee if maker else self._config.taker_fee
        notional = spec.notional_dec(price * qty)
        if not spec.is_perp:
            base_qty = spec.qty_dec(qty)
            if order.is_bid:
                fee = base_qty * rate
                account.credit(spec.quote, -notional)
                account.credit(spec.base, base_qty - fee)
                self._accounts.to_house(spec.base, fee)
                return fee, spec.base, None
            fee = notional * rate
            account.credit(spec.base, -base_qty)
            account.credit(spec.quote, notional - fee)
            self._accounts.to_house(spec.quote, fee)
            return fee, spec.quote, None
        fee = notional * rate
        holders = self._accounts.holders[spec.symbol]
        position = account.positions.get(spec.symbol)
        event = "positionAdjusted"
        if position is None:
            self._last_position_id += 1
            position = Position(self._last_position_id, spec.symbol, self._clock())
            account.positions[spec.symbol] = position
            holders.add(account.id)
            event = "positionOpened"
        realized = position.apply_fill(qty if order.is_bid else -qty, price, spec)
        position.fees += fee
        account.credit("USDC", realized - fee)
        self._accounts.to_house("USDC", fee)
        if position.net == 0:
            event = "positionClosed"
            del account.positions[spec.symbol]
            holders.discard(account.id)
        return fee, "USDC", (position, event)
