"""Margin and collateral figures of an account under cross margin with USDC collateral.

``net_equity`` = every balance at its price (USDC at 1) plus unrealized PnL on mark.
Initial margin counts each perp's *worst-case* exposure (position plus all open
orders of one side), so an order that only reduces risk is never refused; maintenance
margin counts positions only and drives liquidation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bpx_tui.sim.venue.accounts import Account
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.prices import PriceBoard

ZERO = Decimal(0)


@dataclass
class Margin:
    equity: Decimal
    unrealized: Decimal
    assets_value: Decimal
    exposure_notional: Decimal  # sum |position| * mark
    imr_positions: Decimal
    imr_orders: Decimal  # extra initial margin of open orders beyond the positions
    mmr: Decimal
    spot_locked_usdc: Decimal


def spot_locks(account: Account, specs: dict[str, MarketSpec]) -> dict[str, Decimal]:
    """Assets held by open spot orders: quote for bids, base for asks (§4.7 ``locked``)."""
    locks: dict[str, Decimal] = {}
    for order in account.open_orders.values():
        spec = specs[order.symbol]
        if spec.is_perp or order.quantity is None:
            continue
        remaining = order.remaining
        if order.is_bid:
            price = order.price if order.price is not None else order.trigger_price or 0
            amount = spec.notional_dec(price * remaining)
            locks[spec.quote] = locks.get(spec.quote, ZERO) + amount
        else:
            locks[spec.base] = locks.get(spec.base, ZERO) + spec.qty_dec(remaining)
    return locks


def margin(
    account: Account,
    specs: dict[str, MarketSpec],
    prices: PriceBoard,
    override: tuple[str, int] | None = None,
) -> Margin:
    """Figures at current marks; ``override`` = (symbol, worst exposure steps) for a what-if."""
    unrealized = ZERO
    exposure = ZERO
    imr_positions = ZERO
    imr_total = ZERO
    mmr = ZERO
    symbols = set(account.positions)
    symbols.update(o.symbol for o in account.open_orders.values() if specs[o.symbol].is_perp)
    if override is not None:
        symbols.add(override[0])
    for symbol in symbols:
        spec = specs[symbol]
        assert spec.imf is not None and spec.mmf is not None
        mark = prices.mark(symbol)
        position = account.positions.get(symbol)
        if position is not None and position.net:
            unrealized += position.unrealized(mark, spec)
            notional = abs(spec.qty_dec(position.net)) * mark
            exposure += notional
            imr_positions += notional * spec.imf.at(notional)
            mmr += notional * spec.mmf.at(notional)
        worst = account.worst_exposure(symbol)
        if override is not None and override[0] == symbol:
            worst = override[1]
        worst_notional = abs(spec.qty_dec(worst)) * mark
        imr_total += worst_notional * spec.imf.at(worst_notional)
    assets_value = ZERO
    for asset, amount in account.balances.items():
        assets_value += amount * prices.asset_price(asset)
    locks = spot_locks(account, specs)
    return Margin(
        equity=assets_value + unrealized,
        unrealized=unrealized,
        assets_value=assets_value,
        exposure_notional=exposure,
        imr_positions=imr_positions,
        imr_orders=max(imr_total - imr_positions, ZERO),
        mmr=mmr,
        spot_locked_usdc=locks.get("USDC", ZERO),
    )
