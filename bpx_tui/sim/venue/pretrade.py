"""Checks an order passes before it may touch a book: price band, margin, spot funds.

Static checks (symbol, precision, sizes) happen earlier, in :mod:`.payload`; these
depend on the venue's state, so they run again when a trigger order fires.
"""

from __future__ import annotations

from decimal import Decimal

from bpx_tui.sim.errors import (
    insufficient_funds,
    insufficient_margin,
    invalid_price,
    max_leverage_reached,
)
from bpx_tui.sim.venue.accounts import ZERO, Account
from bpx_tui.sim.venue.margin import Risk
from bpx_tui.sim.venue.market_state import MarketState
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.orders import Order


class PreTradeChecks:
    """Refuses, with Backpack's error, an order the account or the market cannot take."""

    def __init__(self, markets: MarketState, risk: Risk) -> None:
        self._markets = markets
        self._risk = risk

    def check_band(self, spec: MarketSpec, price: int) -> None:
        reference = self._reference_price(spec)
        value = spec.price_dec(price)
        if value > reference * spec.max_multiplier or value < reference * spec.min_multiplier:
            raise invalid_price()

    def _reference_price(self, spec: MarketSpec) -> Decimal:
        """The "last active price" bands are measured from: mark on perps, last on spot."""
        prices = self._markets.prices
        if spec.is_perp:
            return prices.mark(spec.symbol)
        last = self._markets.data[spec.symbol].last_price
        return last if last is not None else prices.mark(spec.symbol)

    def _estimate_steps(self, order: Order, spec: MarketSpec) -> int:
        if order.quantity is not None:
            return order.quantity
        if order.quote_quantity is not None:
            mark = self._markets.prices.mark(spec.symbol)
            return int(order.quote_quantity / mark / spec.step)
        return 0

    def check_funds(self, account: Account, order: Order, spec: MarketSpec) -> None:
        """Margin and leverage for perps (worst-case exposure), funds for spot.

        Leverage is counted like margin, over the worst case of every perp, so an
        order that only reduces risk is never refused for it either.
        """
        if account.system or order.reduce_only:
            return
        if spec.is_perp:
            steps = self._estimate_steps(order, spec)
            old = account.worst_exposure(spec.symbol)
            new = account.worst_exposure(
                spec.symbol, steps if order.is_bid else 0, 0 if order.is_bid else steps
            )
            if abs(new) <= abs(old):
                return
            figures = self._risk.margin(account, (spec.symbol, new))
            required = figures.imr_positions + figures.imr_orders + figures.spot_locked_usdc
            if required > figures.equity:
                raise insufficient_margin()
            if figures.worst_notional > figures.equity * account.leverage_limit:
                raise max_leverage_reached()
            return
        locks = self._risk.spot_locks(account)
        if order.is_bid:
            available = account.balance(spec.quote) - locks.get(spec.quote, ZERO)
            if order.price is not None and order.quantity is not None:
                needed = spec.notional_dec(order.price * order.quantity)
            elif order.quote_quantity is not None:
                needed = order.quote_quantity
            else:
                needed = ZERO
            if needed > available or available <= 0:
                raise insufficient_funds()
        else:
            available = account.balance(spec.base) - locks.get(spec.base, ZERO)
            if order.quantity is not None and spec.qty_dec(order.quantity) > available:
                raise insufficient_funds()
            if available <= 0:
                raise insufficient_funds()
