"""Read-only account endpoints: capital, collateral, account, limits and history.

Separated from the engine because none of it changes state; it only shapes what the
engine knows into Backpack's bodies (backpack-api.md §4.6-§4.10).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from bpx_tui.exchange.numbers import wire
from bpx_tui.sim.errors import bad_request
from bpx_tui.sim.numbers import parse_decimal, parse_integer
from bpx_tui.sim.venue.accounts import Account, Position
from bpx_tui.sim.venue.history import ALL
from bpx_tui.sim.venue.margin import margin, spot_locks
from bpx_tui.sim.venue.markets import ASSETS, COLLATERAL_WEIGHTS, MarketSpec, asset_json
from bpx_tui.sim.venue.orders import Order
from bpx_tui.sim.venue.views import PositionFigures, money, order_history_row, position_rest

if TYPE_CHECKING:
    from bpx_tui.sim.venue.engine import Engine

Json = dict[str, Any]
R = TypeVar("R")
ZERO = Decimal(0)
AMOUNT = Decimal("1e-8")


def assets() -> list[Json]:
    return [asset_json(*row) for row in ASSETS]


def page_limit(value: object, default: int, maximum: int) -> int:
    number = to_int(value, "limit")
    if number is None:
        return default
    if number < 0:
        raise bad_request("Invalid limit")
    return min(number, maximum)


def to_int(value: object, key: str) -> int | None:
    """An integer parameter that may arrive as text; junk is a 400, not a crash."""
    return None if value is None else parse_integer(value, key)


def _int_param(params: dict[str, Any], key: str) -> int | None:
    return to_int(params.get(key), key)


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


def _history_page(engine: Engine, params: dict[str, Any]) -> _Page:
    """Validate the shared history parameters (§4.10) and pick the narrowest index.

    ``symbol`` and ``marketType`` are indexes (see :mod:`.history`), so paging stays
    O(page) with or without them; default order is newest first.
    """
    direction = params.get("sortDirection", "Desc")
    if direction not in ("Asc", "Desc"):
        raise bad_request('failed to parse "sortDirection": Expect a valid enumeration value')
    limit = page_limit(params.get("limit"), 100, 1000)
    offset = max(0, _int_param(params, "offset") or 0)
    symbol = params.get("symbol")
    wanted = _market_types(params)
    types = {spec.market_type for spec in engine.specs.values()}
    key: Hashable | None = ALL
    symbol_ok: Callable[[str], bool] | None = None
    if symbol is not None:
        spec = engine.spec(symbol)
        matches = wanted is None or spec.market_type in wanted
        key = ("symbol", spec.symbol) if matches else None
    elif wanted is not None:
        chosen = types & wanted
        if not chosen:
            key = None
        elif len(chosen) == 1:
            key = ("marketType", next(iter(chosen)))
        elif chosen != types:
            specs = engine.specs
            symbol_ok = lambda name: specs[name].market_type in chosen  # noqa: E731
    return _Page(key, direction == "Desc", offset, limit, symbol_ok)


def _market_types(params: dict[str, Any]) -> set[str] | None:
    market_type = params.get("marketType")
    if market_type is None:
        return None
    if isinstance(market_type, list | tuple):
        return {str(value) for value in market_type}
    return set(str(market_type).split(","))


def _amount(value: Decimal, asset: str) -> str:
    return money(value) if asset == "USDC" else wire(value.quantize(AMOUNT))


def position_row(
    position: Position, spec: MarketSpec, figures: PositionFigures, account: Account
) -> Json:
    return position_rest(position, spec, figures, account.id)


def _usdc_order_margin(engine: Engine, account: Account) -> Decimal:
    return margin(account, engine.specs, engine.prices).imr_orders


def capital(engine: Engine, account: Account) -> Json:
    """``/api/v1/capital``: an object keyed by asset (§4.7)."""
    locks = spot_locks(account, engine.specs)
    locks["USDC"] = locks.get("USDC", ZERO) + _usdc_order_margin(engine, account)
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


def collateral(engine: Engine, account: Account) -> Json:
    """``/api/v1/capital/collateral`` (§4.8, rest_capital_collateral.json)."""
    figures = margin(account, engine.specs, engine.prices)
    locks = spot_locks(account, engine.specs)
    order_margin = figures.imr_orders
    rows = []
    for asset in sorted(account.balances, key=lambda a: (a != "USDC", a)):
        total = account.balance(asset)
        if asset != "USDC" and total == 0:
            continue
        price = engine.prices.asset_price(asset)
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


def _bps(rate: Decimal) -> str:
    return wire(rate * 10_000)


def account_settings(engine: Engine, account: Account) -> Json:
    """``/api/v1/account``; fees in basis points as in rest_account.json (§4.9)."""
    config = engine.config
    return {
        "autoBorrowSettlements": True,
        "autoLend": True,
        "autoRealizePnl": True,
        "autoRepayBorrows": True,
        "borrowLimit": "500000",
        "futuresMakerFee": _bps(config.maker_fee),
        "futuresTakerFee": _bps(config.taker_fee),
        "leverageLimit": "10",
        "limitOrders": 500,
        "liquidating": account.liquidating,
        "positionLimit": "1000000",
        "spotMakerFee": _bps(config.maker_fee),
        "spotTakerFee": _bps(config.taker_fee),
        "triggerOrders": 100,
    }


def max_order_quantity(engine: Engine, account: Account, params: dict[str, Any]) -> Json:
    """``/api/v1/account/limits/order``: what margin or funds allow right now (§4.9)."""
    spec = engine.spec(params.get("symbol"))
    side = params.get("side")
    if side not in ("Bid", "Ask"):
        raise bad_request('failed to parse "side": Expect a valid enumeration value')
    is_bid = side == "Bid"
    raw_price = params.get("price")
    price = (
        parse_decimal(raw_price, "price")
        if raw_price is not None
        else engine.prices.mark(spec.symbol)
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
        figures = margin(account, engine.specs, engine.prices)
        free = figures.equity - figures.imr_positions - figures.imr_orders
        free -= figures.spot_locked_usdc
        quantity = max(free, ZERO) / (price * spec.imf.base) + reducible
    else:
        locks = spot_locks(account, engine.specs)
        if is_bid:
            quantity = max(account.balance(spec.quote) - locks.get(spec.quote, ZERO), ZERO) / price
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


def order_history(engine: Engine, account: Account, params: dict[str, Any]) -> list[Json]:
    """``/wapi/v1/history/orders``: rows are built for the page only (orders change)."""
    page = _history_page(engine, params)
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
    return [order_history_row(order, engine.specs[order.symbol]) for order in orders]


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


def fill_history(engine: Engine, account: Account, params: dict[str, Any]) -> list[Json]:
    """``/wapi/v1/history/fills``; ``fillType`` is the one filter without an index."""
    page = _history_page(engine, params)
    fill_type = params.get("fillType")
    if fill_type is not None and fill_type != "User" and fill_type not in LIQUIDATION_TYPES:
        raise bad_request('failed to parse "fillType": Expect a valid enumeration value')
    start = _int_param(params, "from")
    end = _int_param(params, "to")
    if page.key is None:
        return []
    wheres = [w for w in (page.where(_row_symbol), _fill_type_filter(fill_type)) if w is not None]
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


def _fill_type_filter(fill_type: object) -> Callable[[Json], bool] | None:
    if fill_type == "User":
        return lambda row: row["systemOrderType"] is None
    if isinstance(fill_type, str) and fill_type in LIQUIDATION_TYPES:
        kinds = LIQUIDATION_TYPES[fill_type]
        return lambda row: row["systemOrderType"] in kinds
    return None


def funding_history(engine: Engine, account: Account, params: dict[str, Any]) -> list[Json]:
    page = _history_page(engine, params)
    if page.key is None:
        return []
    return account.funding_history.page(
        page.key,
        newest_first=page.newest_first,
        offset=page.offset,
        limit=page.limit,
        where=page.where(_row_symbol),
    )
