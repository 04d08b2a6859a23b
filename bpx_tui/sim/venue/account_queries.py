"""Read-only account endpoints: positions, capital, collateral, account, limits, history.

Kept out of the matching path because none of it changes state; it only shapes what
the venue knows into Backpack's bodies. Every figure comes from the same
:class:`~bpx_tui.sim.venue.margin.Risk` the order checks use, so what an account is
told it has is what an order may use.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from bpx_tui.exchange.numbers import wire
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.errors import bad_request, not_found
from bpx_tui.sim.numbers import optional_integer, page_limit, parse_decimal
from bpx_tui.sim.venue.accounts import Account
from bpx_tui.sim.venue.history import ALL
from bpx_tui.sim.venue.margin import Risk
from bpx_tui.sim.venue.market_state import MarketState
from bpx_tui.sim.venue.orders import Order
from bpx_tui.sim.venue.universe import COLLATERAL_WEIGHTS
from bpx_tui.sim.venue.views import money, order_history_row, position_rest

Json = dict[str, Any]
R = TypeVar("R")
ZERO = Decimal(0)
AMOUNT = Decimal("1e-8")

LIQUIDATION_TYPES = {
    "BookLiquidation": ("LiquidatePositionOnBook",),
    "Adl": ("LiquidatePositionOnAdl",),
    "Backstop": ("LiquidatePositionOnBackstop",),
    "Liquidation": ("LiquidatePositionOnBook", "LiquidatePositionOnBackstop"),
    "AllLiquidation": (
        "LiquidatePositionOnBook",
        "LiquidatePositionOnAdl",
        "LiquidatePositionOnBackstop",
    ),
    "CollateralConversion": ("CollateralConversion",),
    "CollateralConversionAndSpotLiquidation": ("CollateralConversion",),
}
"""``fillType`` filter values and the ``systemOrderType`` of the fills each keeps."""


@dataclass(frozen=True)
class _Page:
    """Where one history page comes from: an index key, paging, and leftover filters."""

    key: Hashable | None  # None: no record can match
    newest_first: bool
    offset: int
    limit: int
    symbol_ok: Callable[[str], bool] | None = None  # a market-type filter without an index

    def where(self, symbol_of: Callable[[R], str]) -> Callable[[R], bool] | None:
        """The leftover filter for records whose symbol is ``symbol_of(record)``."""
        ok = self.symbol_ok
        return None if ok is None else lambda record: ok(symbol_of(record))


def _order_symbol(order: Order) -> str:
    return order.symbol


def _row_symbol(row: Json) -> str:
    return str(row["symbol"])


def _market_types(params: dict[str, Any]) -> set[str] | None:
    market_type = params.get("marketType")
    if market_type is None:
        return None
    if isinstance(market_type, list | tuple):
        return {str(value) for value in market_type}
    return set(str(market_type).split(","))


def _amount(value: Decimal, asset: str) -> str:
    return money(value) if asset == "USDC" else wire(value.quantize(AMOUNT))


def _bps(rate: Decimal) -> str:
    return wire(rate * 10_000)


def _fill_type_filter(fill_type: object) -> Callable[[Json], bool] | None:
    if fill_type == "User":
        return lambda row: row["systemOrderType"] is None
    if isinstance(fill_type, str) and fill_type in LIQUIDATION_TYPES:
        kinds = LIQUIDATION_TYPES[fill_type]
        return lambda row: row["systemOrderType"] in kinds
    return None


class AccountQueries:
    """Answers the private GET endpoints for one account at a time."""

    def __init__(self, config: SimConfig, markets: MarketState, risk: Risk) -> None:
        self._config = config
        self._markets = markets
        self._risk = risk

    def positions(self, account: Account, symbol: str | None) -> list[Json]:
        """``/api/v1/position``; asking for one symbol without a position is a 404."""
        if symbol is not None:
            self._markets.spec(symbol)
        rows = []
        for sym, position in account.positions.items():
            if symbol is not None and sym != symbol:
                continue
            spec = self._markets.specs[sym]
            figures = self._risk.position(account, position, spec)
            rows.append(position_rest(position, spec, figures, account.id))
        if symbol is not None and not rows:
            raise not_found("Position not found")
        return rows

    def capital(self, account: Account) -> Json:
        """``/api/v1/capital``: an object keyed by asset."""
        locks = self._risk.spot_locks(account)
        order_margin = self._risk.margin(account).imr_orders
        locks["USDC"] = locks.get("USDC", ZERO) + order_margin
        body: Json = {}
        for asset in sorted(set(account.balances) | set(locks), key=lambda a: (a != "USDC", a)):
            total = account.balance(asset)
            locked = locks.get(asset, ZERO)
            if asset != "USDC" and total == 0 and locked == 0:
                continue
            body[asset] = {
                "available": _amount(total - locked, asset),
                "locked": _amount(locked, asset),
                "staked": "0",
            }
        return body

    def collateral(self, account: Account) -> Json:
        """``/api/v1/capital/collateral`` (rest_capital_collateral.json)."""
        figures = self._risk.margin(account)
        locks = self._risk.spot_locks(account)
        order_margin = figures.imr_orders
        rows = []
        for asset in sorted(account.balances, key=lambda a: (a != "USDC", a)):
            total = account.balance(asset)
            if asset != "USDC" and total == 0:
                continue
            price = self._markets.prices.asset_price(asset)
            weight = COLLATERAL_WEIGHTS.get(asset, Decimal(0))
            locked = locks.get(asset, ZERO) + (order_margin if asset == "USDC" else ZERO)
            notional = total * price
            rows.append(
                {
                    "symbol": asset,
                    "assetMarkPrice": wire(price),
                    "totalQuantity": _amount(total, asset),
                    "balanceNotional": money(notional),
                    "collateralWeight": wire(weight),
                    "collateralValue": money(notional * weight),
                    "openOrderQuantity": _amount(locked, asset),
                    "lendQuantity": "0",
                    "availableQuantity": _amount(total - locked, asset),
                }
            )
        exposure = figures.exposure_notional
        locked_equity = order_margin + figures.spot_locked_usdc
        imf = figures.imr_positions / exposure if exposure else ZERO
        mmf = figures.mmr / exposure if exposure else ZERO
        negative = sum((-v for v in account.balances.values() if v < 0), ZERO)
        return {
            "assetsValue": money(figures.assets_value + negative),
            "borrowLiability": "0",
            "collateral": rows,
            "imf": wire(imf.quantize(AMOUNT)),
            "unsettledEquity": money(figures.unrealized),
            "liabilitiesValue": money(negative),
            "marginFraction": wire((figures.equity / exposure).quantize(Decimal("1e-4")))
            if exposure
            else None,
            "mmf": wire(mmf.quantize(AMOUNT)),
            "netEquity": money(figures.equity),
            "netEquityAvailable": money(figures.equity - figures.imr_positions - locked_equity),
            "netEquityLocked": money(locked_equity),
            "netExposureFutures": money(exposure),
            "pnlUnrealized": money(figures.unrealized),
        }

    def settings(self, account: Account) -> Json:
        """``/api/v1/account``; fees in basis points as in rest_account.json."""
        config = self._config
        return {
            "autoBorrowSettlements": True,
            "autoLend": True,
            "autoRealizePnl": True,
            "autoRepayBorrows": True,
            "borrowLimit": "500000",
            "futuresMakerFee": _bps(config.maker_fee),
            "futuresTakerFee": _bps(config.taker_fee),
            "leverageLimit": wire(account.leverage_limit),
            "limitOrders": 500,
            "liquidating": account.liquidating,
            "positionLimit": "1000000",
            "spotMakerFee": _bps(config.maker_fee),
            "spotTakerFee": _bps(config.taker_fee),
            "triggerOrders": 100,
        }

    def max_order_quantity(self, account: Account, params: dict[str, Any]) -> Json:
        """``/api/v1/account/limits/order``: what margin or funds allow right now."""
        spec = self._markets.spec(params.get("symbol"))
        side = params.get("side")
        if side not in ("Bid", "Ask"):
            raise bad_request('failed to parse "side": Expect a valid enumeration value')
        is_bid = side == "Bid"
        raw_price = params.get("price")
        price = (
            parse_decimal(raw_price, "price")
            if raw_price is not None
            else self._markets.prices.mark(spec.symbol)
        )
        if price <= 0:
            raise bad_request("Price must be positive")
        reduce_only = str(params.get("reduceOnly", "false")).lower() == "true"
        position = account.positions.get(spec.symbol)
        net = spec.qty_dec(position.net) if position else ZERO
        reducible = -net if is_bid and net < 0 else (net if not is_bid and net > 0 else ZERO)
        if reduce_only:
            quantity = reducible
        elif spec.is_perp:
            assert spec.imf is not None
            figures = self._risk.margin(account)
            free = figures.equity - figures.imr_positions - figures.imr_orders
            free -= figures.spot_locked_usdc
            quantity = max(free, ZERO) / (price * spec.imf.base) + reducible
        else:
            locks = self._risk.spot_locks(account)
            if is_bid:
                free_quote = account.balance(spec.quote) - locks.get(spec.quote, ZERO)
                quantity = max(free_quote, ZERO) / price
            else:
                quantity = max(account.balance(spec.base) - locks.get(spec.base, ZERO), ZERO)
        steps = int(quantity / spec.step)
        return {
            "maxOrderQuantity": spec.qty_text(steps),
            "symbol": spec.symbol,
            "side": side,
            "price": wire(price) if raw_price is not None else None,
            "reduceOnly": reduce_only,
            "autoBorrow": False,
            "autoBorrowRepay": False,
            "autoLendRedeem": False,
        }

    def order_history(self, account: Account, params: dict[str, Any]) -> list[Json]:
        """``/wapi/v1/history/orders``: rows are built for the page only (orders change)."""
        page = self._history_page(params)
        if page.key is None:
            return []
        order_id = params.get("orderId")
        orders = account.order_history.page(
            page.key,
            newest_first=page.newest_first,
            offset=page.offset,
            limit=page.limit,
            ident=None if order_id is None else str(order_id),
            where=page.where(_order_symbol),
        )
        return [order_history_row(order, self._markets.specs[order.symbol]) for order in orders]

    def fill_history(self, account: Account, params: dict[str, Any]) -> list[Json]:
        """``/wapi/v1/history/fills``; ``fillType`` is the one filter without an index."""
        page = self._history_page(params)
        fill_type = params.get("fillType")
        if fill_type is not None and fill_type != "User" and fill_type not in LIQUIDATION_TYPES:
            raise bad_request('failed to parse "fillType": Expect a valid enumeration value')
        start = optional_integer(params.get("from"), "from")
        end = optional_integer(params.get("to"), "to")
        if page.key is None:
            return []
        filters = (page.where(_row_symbol), _fill_type_filter(fill_type))
        wheres = [w for w in filters if w is not None]
        order_id = params.get("orderId")
        return account.fills.page(
            page.key,
            newest_first=page.newest_first,
            offset=page.offset,
            limit=page.limit,
            since=start,
            until=end,
            ident=None if order_id is None else str(order_id),
            where=(lambda row: all(w(row) for w in wheres)) if wheres else None,
        )

    def funding_history(self, account: Account, params: dict[str, Any]) -> list[Json]:
        page = self._history_page(params)
        if page.key is None:
            return []
        return account.funding_history.page(
            page.key,
            newest_first=page.newest_first,
            offset=page.offset,
            limit=page.limit,
            where=page.where(_row_symbol),
        )

    def _history_page(self, params: dict[str, Any]) -> _Page:
        """Validate the shared history parameters and pick the narrowest index.

        ``symbol`` and ``marketType`` are indexes (see :mod:`.history`), so paging stays
        O(page) with or without them; default order is newest first.
        """
        direction = params.get("sortDirection", "Desc")
        if direction not in ("Asc", "Desc"):
            raise bad_request('failed to parse "sortDirection": Expect a valid enumeration value')
        limit = page_limit(params.get("limit"), 100, 1000)
        offset = max(0, optional_integer(params.get("offset"), "offset") or 0)
        symbol = params.get("symbol")
        wanted = _market_types(params)
        specs = self._markets.specs
        types = {spec.market_type for spec in specs.values()}
        key: Hashable | None = ALL
        symbol_ok: Callable[[str], bool] | None = None
        if symbol is not None:
            spec = self._markets.spec(symbol)
            matches = wanted is None or spec.market_type in wanted
            key = ("symbol", spec.symbol) if matches else None
        elif wanted is not None:
            chosen = types & wanted
            if not chosen:
                key = None
            elif len(chosen) == 1:
                key = ("marketType", next(iter(chosen)))
            elif chosen != types:
                symbol_ok = lambda name: specs[name].market_type in chosen  # noqa: E731
        return _Page(key, direction == "Desc", offset, limit, symbol_ok)
