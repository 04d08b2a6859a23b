"""Parse and validate an ``orderExecute`` payload into the engine's grid units.

Only the checks that need no market state live here (types, enums, precision, size
filters); price bands, margin and funds are checked by the engine. Every refusal is
the :class:`SimError` Backpack would send (backpack-api.md §4.1, §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bpx_tui.sim.errors import (
    SimError,
    bad_request,
    invalid_market,
    invalid_order,
    invalid_quantity,
)
from bpx_tui.sim.markets import MarketSpec, decimal_to_units

UINT32_MAX = 4_294_967_295
STP_MODES = ("RejectTaker", "RejectMaker", "RejectBoth", "Allow")
TRIGGER_BY = ("LastPrice", "MarkPrice", "IndexPrice")
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
BOTH_OR_NEITHER = "Must specify both `triggerPrice` and `triggerQuantity` or neither"


@dataclass
class OrderRequest:
    spec: MarketSpec
    is_bid: bool
    is_limit: bool
    price: int | None
    quantity: int | None
    quote_quantity: Decimal | None
    tif: str
    post_only: bool
    reduce_only: bool
    client_id: int | None
    stp: str
    trigger_price: int | None = None
    trigger_quantity: str | None = None  # as echoed: step-formatted amount or "50%"
    trigger_by: str | None = None
    attached: dict[str, tuple[int, int | None, str]] | None = None


def _enum(payload: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = payload.get(key, default)
    if value is None:
        return default
    if value not in allowed:
        raise bad_request(f'failed to parse "{key}": Expect a valid enumeration value')
    return str(value)


def _bool(payload: dict[str, Any], key: str) -> bool:
    value = payload.get(key, False)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise bad_request(f'failed to parse "{key}": expected a boolean')


def _decimal(payload: dict[str, Any], key: str) -> Decimal | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad_request(f'failed to parse "{key}": expected a decimal string')
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise bad_request(f'failed to parse "{key}": invalid decimal') from None
    if not result.is_finite():
        raise bad_request(f'failed to parse "{key}": invalid decimal')
    return result


def _client_id(payload: dict[str, Any]) -> int | None:
    value = payload.get("clientId")
    if value is None:
        return None
    if isinstance(value, bool):
        raise bad_request('failed to parse "clientId": expected an unsigned 32-bit integer')
    try:
        number = int(value) if isinstance(value, int | str) else None
    except ValueError:
        number = None
    if number is None or not 0 <= number <= UINT32_MAX:
        raise bad_request('failed to parse "clientId": expected an unsigned 32-bit integer')
    return number


def price_units(value: Decimal, spec: MarketSpec, what: str = "Price") -> int:
    """Ticks of a price; refuses extra precision and non-positive prices."""
    units = decimal_to_units(value, spec.price_decimals)
    if units is None:
        raise bad_request(f"{what} decimal too long")
    if units <= 0:
        raise SimError(400, "INVALID_PRICE", f"{what} must be positive")
    return units


def quantity_units(value: Decimal, spec: MarketSpec) -> int:
    """Steps of a quantity, checked against the market's quantity filters."""
    units = decimal_to_units(value, spec.quantity_decimals)
    if units is None:
        raise bad_request("Quantity decimal too long")
    if units < spec.min_quantity_steps:
        raise invalid_quantity("Quantity is below the minimum allowed value")
    if spec.max_quantity is not None and value > Decimal(spec.max_quantity):
        raise invalid_quantity("Quantity is above the maximum allowed value")
    return units


def _trigger_quantity(value: Decimal | str, spec: MarketSpec) -> str:
    if isinstance(value, str):
        try:
            percent = Decimal(value[:-1])
        except InvalidOperation:
            raise bad_request('failed to parse "triggerQuantity": invalid percentage') from None
        if not percent.is_finite() or not 0 < percent <= 100:
            raise invalid_quantity("Trigger quantity percentage must be in (0, 100]")
        return value
    return spec.qty_text(quantity_units(value, spec))


def _attached(
    payload: dict[str, Any], spec: MarketSpec
) -> dict[str, tuple[int, int | None, str]] | None:
    """Take-profit / stop-loss fields: each becomes a reduce-only trigger on fill (§4.1)."""
    attached: dict[str, tuple[int, int | None, str]] = {}
    for kind in ("takeProfit", "stopLoss"):
        trigger = _decimal(payload, f"{kind}TriggerPrice")
        limit = _decimal(payload, f"{kind}LimitPrice")
        if trigger is None:
            if limit is not None:
                raise bad_request(f"`{kind}LimitPrice` requires `{kind}TriggerPrice`")
            continue
        by = _enum(payload, f"{kind}TriggerBy", TRIGGER_BY, "MarkPrice")
        attached[kind] = (
            price_units(trigger, spec, "Trigger price"),
            price_units(limit, spec) if limit is not None else None,
            by,
        )
    return attached or None


def parse_order(payload: object, markets: dict[str, MarketSpec]) -> OrderRequest:
    """Validate ``payload`` (a decoded JSON body) and convert it to grid units."""
    if not isinstance(payload, dict):
        raise bad_request("Invalid request body: expected a JSON object")
    symbol = payload.get("symbol")
    if symbol is None:
        raise bad_request('missing field "symbol"')
    spec = markets.get(symbol) if isinstance(symbol, str) else None
    if spec is None:
        raise invalid_market(symbol)
    if "side" not in payload:
        raise bad_request('missing field "side"')
    if "orderType" not in payload:
        raise bad_request('missing field "orderType"')
    is_bid = _enum(payload, "side", ("Bid", "Ask"), "Bid") == "Bid"
    is_limit = _enum(payload, "orderType", ("Limit", "Market"), "Limit") == "Limit"
    tif = _enum(payload, "timeInForce", TIME_IN_FORCE, "GTC")
    stp = _enum(payload, "selfTradePrevention", STP_MODES, "RejectTaker")
    post_only = _bool(payload, "postOnly")
    reduce_only = _bool(payload, "reduceOnly")
    client_id = _client_id(payload)

    raw_trigger_qty = payload.get("triggerQuantity")
    trigger_price_dec = _decimal(payload, "triggerPrice")
    if (trigger_price_dec is None) != (raw_trigger_qty is None):
        raise bad_request(BOTH_OR_NEITHER)
    price_dec = _decimal(payload, "price")
    quantity_dec = _decimal(payload, "quantity")
    quote_dec = _decimal(payload, "quoteQuantity")

    price = price_units(price_dec, spec) if price_dec is not None else None
    quantity = quantity_units(quantity_dec, spec) if quantity_dec is not None else None
    if quote_dec is not None and quote_dec <= 0:
        raise invalid_quantity("Quote quantity must be positive")

    request = OrderRequest(
        spec=spec,
        is_bid=is_bid,
        is_limit=is_limit,
        price=price,
        quantity=quantity,
        quote_quantity=quote_dec,
        tif=tif,
        post_only=post_only,
        reduce_only=reduce_only,
        client_id=client_id,
        stp=stp,
    )
    if trigger_price_dec is not None:
        request.trigger_price = price_units(trigger_price_dec, spec, "Trigger price")
        if isinstance(raw_trigger_qty, str) and raw_trigger_qty.strip().endswith("%"):
            request.trigger_quantity = _trigger_quantity(raw_trigger_qty.strip(), spec)
        else:
            amount = _decimal(payload, "triggerQuantity")
            assert amount is not None
            request.trigger_quantity = _trigger_quantity(amount, spec)
        default_by = "MarkPrice" if spec.is_perp else "LastPrice"
        request.trigger_by = _enum(payload, "triggerBy", TRIGGER_BY, default_by)

    request.attached = _attached(payload, spec)
    if is_limit:
        if price is None:
            raise invalid_order("Limit orders require a price")
        if quantity is None and request.trigger_quantity is None:
            raise invalid_order("Limit orders require a quantity")
        if quote_dec is not None:
            raise invalid_order("quoteQuantity is only allowed on market orders")
        if post_only and tif != "GTC":
            raise invalid_order("Post only orders must be GTC")
    else:
        if post_only:
            raise invalid_order("Market orders cannot be post only")
        if quantity is None and quote_dec is None and request.trigger_quantity is None:
            raise invalid_order("Market orders require a quantity or a quoteQuantity")
        if quantity is not None and quote_dec is not None:
            raise invalid_order("Specify either quantity or quoteQuantity, not both")
    if reduce_only and not spec.is_perp:
        raise invalid_order("Reduce only orders are only supported on futures markets")
    return request
