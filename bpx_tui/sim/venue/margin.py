"""Margin and collateral figures of an account under cross margin with USDC collateral.

``net_equity`` = every balance at its price (USDC at 1) plus unrealized PnL on mark.
Initial margin counts each perp's *worst-case* exposure (position plus all open
orders of one side), so an order that only reduces risk is never refused; maintenance
margin counts positions only and drives liquidation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bpx_tui.sim.venue.accounts import Account, Position
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
    worst_notional: Decimal  # sum over perps of |position + one side's open orders| * mark


class PositionFigures:
    """Derived numbers of a position at the current mark, shared by REST and WS views."""

    __slots__ = ("est_liq", "exposure", "imf", "mark", "mmf", "unrealized")

    def __init__(
        self,
        mark: Decimal,
        unrealized: Decimal,
        exposure: int,
        imf: Decimal,
        mmf: Decimal,
        est_liq: Decimal,
    ) -> None:
        self.mark = mark
        self.unrealized = unrealized
        self.exposure = exposure
        self.imf = imf
        self.mmf = mmf
        self.est_liq = est_liq


class Risk:
    """An account's margin, locked funds and position figures at the current marks.

    Order checks, liquidation, the account endpoints and position events all ask the
    same questions; answering them in one place keeps the margin an order is refused
    for equal to the margin ``/api/v1/capital/collateral`` reports.
    """

    def __init__(self, specs: dict[str, MarketSpec], prices: PriceBoard) -> None:
        self.specs = specs
        self.prices = prices

    def spot_locks(self, account: Account) -> dict[str, Decimal]:
        """Assets held by open spot orders: quote for bids, base for asks (``locked``)."""
        locks: dict[str, Decimal] = {}
        specs = self.specs
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

    def margin(self, account: Account, override: tuple[str, int] | None = None) -> Margin:
        """Figures at current marks; ``override`` = (symbol, worst exposure steps) for a
        what-if: the margin the account would need with one more order on the book."""
        specs, prices = self.specs, self.prices
        unrealized = ZERO
        exposure = ZERO
        imr_positions = ZERO
        imr_total = ZERO
        worst_total = ZERO
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
            worst_total += worst_notional
        assets_value = ZERO
        for asset, amount in account.balances.items():
            assets_value += amount * prices.asset_price(asset)
        locks = self.spot_locks(account)
        return Margin(
            equity=assets_value + unrealized,
            unrealized=unrealized,
            assets_value=assets_value,
            exposure_notional=exposure,
            imr_positions=imr_positions,
            imr_orders=max(imr_total - imr_positions, ZERO),
            mmr=mmr,
            spot_locked_usdc=locks.get("USDC", ZERO),
            worst_notional=worst_total,
        )

    def position(self, account: Account, position: Position, spec: MarketSpec) -> PositionFigures:
        assert spec.imf is not None and spec.mmf is not None
        mark = self.prices.mark(spec.symbol)
        notional = abs(spec.qty_dec(position.net)) * mark
        bids, asks = account.open_exposure(spec.symbol)
        long_case, short_case = position.net + bids, position.net - asks
        exposure = long_case if abs(long_case) >= abs(short_case) else short_case
        return PositionFigures(
            mark=mark,
            unrealized=position.unrealized(mark, spec),
            exposure=exposure,
            imf=spec.imf.at(notional),
            mmf=spec.mmf.at(notional),
            est_liq=self._liquidation_price(account, position, spec, notional),
        )

    def _liquidation_price(
        self, account: Account, position: Position, spec: MarketSpec, notional: Decimal
    ) -> Decimal:
        """Mark at which equity meets maintenance margin, other positions held still."""
        assert spec.mmf is not None
        figures = self.margin(account)
        mmf = spec.mmf.at(notional)
        other_mmr = figures.mmr - notional * mmf
        mark = self.prices.mark(spec.symbol)
        qty = spec.qty_dec(position.net)
        slack = figures.equity - other_mmr
        denominator = qty - abs(qty) * mmf
        if denominator == 0:
            return ZERO
        price = (qty * mark - slack) / denominator
        return max(price, ZERO)
