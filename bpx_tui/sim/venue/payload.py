"""Parse and validate an ``orderExecute`` payload into the engine's grid units.

Two stages: :func:`decode_order` reads the body (types, enums, every number through
the strict parser in :mod:`.numbers`) without looking at any market, and
:func:`validate_order` checks it against its market's static filters (symbol,
precision, size). Price bands, margin and funds are checked by the engine. Every refusal is
the :class:`SimError` Backpack would send (docs/PROTOCOL.md "Errors").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bpx_tui.sim.errors import (
    SimError,
    bad_request,
    invalid_order,
    invalid_quantity,
)
from bpx_tui.sim.numbers import parse_decimal, parse_integer
from bpx_tui.sim.venue.markets import MarketSpec, decimal_to_units, market_spec

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
    return None if value is None else parse_decimal(value, key)


def _client_id(payload: dict[str, Any]) -> int | None:
    value = payload.get("clientId")
    if value is None:
        return None
    return parse_integer(value, "clientId", minimum=0, maximum=UINT32_MAX)


def _percent(value: str) -> Decimal:
    """``"50%"`` -> 50: a share of the position, in (0, 100]."""
    percent = parse_decimal(value[:-1], "triggerQuantity")
    if not 0 < percent <= 100:
        raise invalid_quantity("Trigger quantity percentage must be in (0, 100]")
    return percent


@dataclass
class OrderFields:
    """An ``orderExecute`` body with every field type-checked but no market consulted.

    Splitting this from :func:`validate_order` lets a batch be decoded whole before any
    item runs: a body that cannot even be read is refused as a whole, like Backpack's
    deserializer does, while market-level refusals stay per item.
    """

    symbol: object
    is_bid: bool
    is_limit: bool
    tif: str
    stp: str
    post_only: bool
    reduce_only: bool
    client_id: int | None
    price: Decimal | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    trigger_price: Decimal | None
    trigger_amount: Decimal | None  # triggerQuantity as an amount
    trigger_percent: str | None  # triggerQuantity as "NN%", as echoed
    trigger_by: str | None  # None: the market's default
    attached: dict[str, tuple[Decimal, Decimal | None, str]]


def _attached_fields(payload: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal | None, str]]:
    """Take-profit / stop-loss fields: each becomes a reduce-only trigger on fill."""
    attached: dict[str, tuple[Decimal, Decimal | None, str]] = {}
    for kind in ("takeProfit", "stopLoss"):
        trigger = _decimal(payload, f"{kind}TriggerPrice")
        limit = _decimal(payload, f"{kind}LimitPrice")
        by = _enum(payload, f"{kind}TriggerBy", TRIGGER_BY, "MarkPrice")
        if trigger is None:
            if limit is not None:
                raise bad_request(f"`{kind}LimitPrice` requires `{kind}TriggerPrice`")
            continue
        attached[kind] = (trigger, limit, by)
    return attached


def decode_order(payload: object) -> OrderFields:
    """Type-check ``payload`` (a decoded JSON body) without consulting any market."""
    if not isinstance(payload, dict):
        raise bad_request("Invalid request body: expected a JSON object")
    for key in ("symbol", "side", "orderType"):
        if key not in payload or payload[key] is None:
            raise bad_request(f'missing field "{key}"')
    raw_trigger_qty = payload.get("triggerQuantity")
    trigger_price = _decimal(payload, "triggerPrice")
    if (trigger_price is None) != (raw_trigger_qty is None):
        raise bad_request(BOTH_OR_NEITHER)
    is_percent = isinstance(raw_trigger_qty, str) and raw_trigger_qty.endswith("%")
    if isinstance(raw_trigger_qty, str) and is_percent:
        _percent(raw_trigger_qty)
    trigger_by = payload.get("triggerBy")
    return OrderFields(
        symbol=payload["symbol"],
        is_bid=_enum(payload, "side", ("Bid", "Ask"), "Bid") == "Bid",
        is_limit=_enum(payload, "orderType", ("Limit", "Market"), "Limit") == "Limit",
        tif=_enum(payload, "timeInForce", TIME_IN_FORCE, "GTC"),
        stp=_enum(payload, "selfTradePrevention", STP_MODES, "RejectTaker"),
        post_only=_bool(payload, "postOnly"),
        reduce_only=_bool(payload, "reduceOnly"),
        client_id=_client_id(payload),
        price=_decimal(payload, "price"),
        quantity=_decimal(payload, "quantity"),
        quote_quantity=_decimal(payload, "quoteQuantity"),
        trigger_price=trigger_price,
        trigger_amount=None if is_percent else _decimal(payload, "triggerQuantity"),
        trigger_percent=raw_trigger_qty if is_percent else None,
        trigger_by=None if trigger_by is None else _enum(payload, "triggerBy", TRIGGER_BY, ""),
        attached=_attached_fields(payload),
    )


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


def validate_order(fields: OrderFields, markets: dict[str, MarketSpec]) -> OrderRequest:
    """Check decoded ``fields`` against their market and convert them to grid units."""
    spec = market_spec(markets, fields.symbol)
    price = price_units(fields.price, spec) if fields.price is not None else None
    quantity = quantity_units(fields.quantity, spec) if fields.quantity is not None else None
    quote = fields.quote_quantity
    if quote is not None and quote <= 0:
        raise invalid_quantity("Quote quantity must be positive")
    request = OrderRequest(
        spec=spec,
        is_bid=fields.is_bid,
        is_limit=fields.is_limit,
        price=price,
        quantity=quantity,
        quote_quantity=quote,
        tif=fields.tif,
        post_only=fields.post_only,
        reduce_only=fields.reduce_only,
        client_id=fields.client_id,
        stp=fields.stp,
    )
    if fields.trigger_price is not None:
        request.trigger_price = price_units(fields.trigger_price, spec, "Trigger price")
        if fields.trigger_percent is not None:
            request.trigger_quantity = fields.trigger_percent
        else:
            assert fields.trigger_amount is not None
            request.trigger_quantity = spec.qty_text(quantity_units(fields.trigger_amount, spec))
        default_by = "MarkPrice" if spec.is_perp else "LastPrice"
        request.trigger_by = fields.trigger_by or default_by
    request.attached = {
        kind: (
            price_units(trigger, spec, "Trigger price"),
            price_units(limit, spec) if limit is not None else None,
            by,
        )
        for kind, (trigger, limit, by) in fields.attached.items()
    } or None
    _check_consistency(request, spec)
    return request


def _check_consistency(request: OrderRequest, spec: MarketSpec) -> None:
    """Field combinations Backpack refuses whatever the market state."""
    quote = request.quote_quantity
    if request.is_limit:
        if request.price is None:
            raise invalid_order("Limit orders require a price")
        if request.quantity is None and request.trigger_quantity is None:
            raise invalid_order("Limit orders require a quantity")
        if quote is not None:
            raise invalid_order("quoteQuantity is only allowed on market orders")
        if request.post_only and request.tif != "GTC":
            raise invalid_order("Post only orders must be GTC")
    else:
        if request.post_only:
            raise invalid_order("Market orders cannot be post only")
        if request.quantity is None and quote is None and request.trigger_quantity is None:
            raise invalid_order("Market orders require a quantity or a quoteQuantity")
        if request.quantity is not None and quote is not None:
            raise invalid_order("Specify either quantity or quoteQuantity, not both")
    if request.reduce_only and not spec.is_perp:
        raise invalid_order("Reduce only orders are only supported on futures markets")


def parse_order(payload: object, markets: dict[str, MarketSpec]) -> OrderRequest:
    """Decode and validate ``payload`` (a decoded JSON body) into grid units."""
    return validate_order(decode_order(payload), markets)
