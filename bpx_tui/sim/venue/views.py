"""Backpack's JSON shapes for the engine's records.

Kept apart from the engine so the wire format (key sets, explicit nulls, string
decimals, ms vs µs vs naive datetimes, UPPERCASE ``o`` on the stream) lives in one
place and is compared key-for-key with tests/fixtures in the tests.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bpx_tui.exchange.numbers import wire
from bpx_tui.sim.venue.accounts import Position
from bpx_tui.sim.venue.margin import PositionFigures
from bpx_tui.sim.venue.marketdata import naive_datetime
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.orders import EXPIRED, Order, ws_reason

Json = dict[str, Any]
MONEY = Decimal("1e-6")
# WS keys of attached legs: trigger price, limit price, trigger by (a/b, j/k, d/g)
WS_ATTACHED = {"takeProfit": ("a", "j", "d"), "stopLoss": ("b", "k", "g")}


def money(value: Decimal) -> str:
    """USDC-style amount: at most 6 decimals, no exponent, no trailing zeros."""
    return wire(value.quantize(MONEY))


def _qty(order_steps: int, spec: MarketSpec) -> str:
    return spec.qty_text(order_steps) if order_steps else "0"


def _executed_quote(order: Order, spec: MarketSpec) -> str:
    return wire(spec.notional_dec(order.executed_quote))


def _trigger_qty(order: Order) -> str | None:
    return order.trigger_quantity


def _trigger_price(order: Order, spec: MarketSpec) -> str | None:
    return spec.price_text(order.trigger_price) if order.trigger_price is not None else None


def _attached(order: Order, spec: MarketSpec) -> Json:
    """The six stopLoss*/takeProfit* fields, null when not attached."""
    fields: Json = {}
    for kind in ("stopLoss", "takeProfit"):
        leg = (order.attached or {}).get(kind)
        fields[f"{kind}LimitPrice"] = (
            spec.price_text(leg[1]) if leg is not None and leg[1] is not None else None
        )
        fields[f"{kind}TriggerBy"] = leg[2] if leg is not None else None
        fields[f"{kind}TriggerPrice"] = spec.price_text(leg[0]) if leg is not None else None
    return fields


def order_rest(order: Order, spec: MarketSpec) -> Json:
    """The REST order object, tagged on ``orderType`` (fixtures rest_order_execute_response_*)."""
    body: Json = {
        "orderType": "Limit" if order.is_limit else "Market",
        "id": order.id,
        "clientId": order.client_id,
        "createdAt": order.created_us // 1000,
        "executedQuantity": _qty(order.executed, spec),
        "executedQuoteQuantity": _executed_quote(order, spec),
    }
    if order.is_limit:
        body["postOnly"] = order.post_only
        body["price"] = spec.price_text(order.price) if order.price is not None else None
        body["quantity"] = spec.qty_text(order.quantity) if order.quantity is not None else None
    else:
        body["quantity"] = spec.qty_text(order.quantity) if order.quantity is not None else None
        body["quoteQuantity"] = wire(order.quote_quantity) if order.quote_quantity else None
    body.update(
        {
            "reduceOnly": True if order.reduce_only else None,
            "relatedOrderId": order.related_id,
            "selfTradePrevention": order.stp,
            "side": order.side,
            "status": order.status,
            **_attached(order, spec),
            "strategyId": None,
            "symbol": order.symbol,
            "timeInForce": order.tif,
            "triggerBy": order.trigger_by,
            "triggerPrice": _trigger_price(order, spec),
            "triggerQuantity": _trigger_qty(order),
            "triggeredAt": order.triggered_at_ms,
        }
    )
    if not order.is_limit:
        body["slippageTolerance"] = None
        body["slippageToleranceType"] = None
    return body


def order_history_row(order: Order, spec: MarketSpec) -> Json:
    """A ``/wapi/v1/history/orders`` row: naive ``createdAt`` and ``expiryReason``."""
    return {
        "id": order.id,
        "createdAt": naive_datetime(order.created_us, millis=True),
        "executedQuantity": _qty(order.executed, spec),
        "executedQuoteQuantity": _executed_quote(order, spec),
        "expiryReason": order.expiry_reason,
        "orderType": "Limit" if order.is_limit else "Market",
        "postOnly": order.post_only if order.is_limit else None,
        "price": spec.price_text(order.price) if order.price is not None else None,
        "quantity": spec.qty_text(order.quantity) if order.quantity is not None else None,
        "quoteQuantity": wire(order.quote_quantity) if order.quote_quantity else None,
        "selfTradePrevention": order.stp,
        "status": order.status,
        "side": order.side,
        **_attached(order, spec),
        "symbol": order.symbol,
        "timeInForce": order.tif,
        "triggerBy": order.trigger_by,
        "triggerPrice": _trigger_price(order, spec),
        "triggerQuantity": _trigger_qty(order),
        "clientId": order.client_id,
        "systemOrderType": order.system_type,
        "strategyId": None,
        "slippageTolerance": None,
        "slippageToleranceType": None,
    }


class FillInfo:
    """What an ``orderFill`` event adds to the order's own fields."""

    __slots__ = ("fee", "fee_symbol", "maker", "price", "qty", "trade_id")

    def __init__(
        self, trade_id: int, qty: int, price: int, maker: bool, fee: Decimal, fee_symbol: str
    ) -> None:
        self.trade_id = trade_id
        self.qty = qty
        self.price = price
        self.maker = maker
        self.fee = fee
        self.fee_symbol = fee_symbol


def order_event(event: str, order: Order, spec: MarketSpec, fill: FillInfo | None = None) -> Json:
    """An ``account.orderUpdate`` payload without ``E``/``T`` (fixture ws_account_orderUpdate_*)."""
    data: Json = {"e": event, "s": order.symbol}
    if order.client_id is not None:
        data["c"] = order.client_id
    data["S"] = order.side
    data["o"] = "LIMIT" if order.is_limit else "MARKET"
    data["f"] = order.tif
    if order.quantity is not None:
        data["q"] = spec.qty_text(order.quantity)
    elif order.is_trigger:
        data["q"] = "0"
    if order.quote_quantity is not None:
        data["Q"] = wire(order.quote_quantity)
    if order.is_limit and order.price is not None:
        data["p"] = spec.price_text(order.price)
    if order.is_trigger:
        data["P"] = _trigger_price(order, spec)
        data["B"] = order.trigger_by
        data["Y"] = order.trigger_quantity
    if order.attached:
        for kind, (price_key, limit_key, by_key) in WS_ATTACHED.items():
            leg = order.attached.get(kind)
            if leg is not None:
                data[price_key] = spec.price_text(leg[0])
                if leg[1] is not None:
                    data[limit_key] = spec.price_text(leg[1])
                data[by_key] = leg[2]
    data["X"] = order.status
    if event == "orderExpired" or (order.status == EXPIRED and order.expiry_reason):
        data["R"] = ws_reason(order.expiry_reason or "Unknown")
    data["i"] = order.id
    if order.related_id is not None:
        data["I"] = order.related_id
    if fill is not None:
        data["t"] = fill.trade_id
        data["l"] = spec.qty_text(fill.qty)
        data["L"] = spec.price_text(fill.price)
        data["m"] = fill.maker
        data["n"] = wire(fill.fee)
        data["N"] = fill.fee_symbol
    else:
        data["t"] = None
    data["z"] = _qty(order.executed, spec)
    data["Z"] = _executed_quote(order, spec)
    data["V"] = order.stp
    data["O"] = order.origin
    data["r"] = bool(order.reduce_only)
    if order.is_limit:
        data["y"] = order.post_only
    return data


def fill_row(order: Order, spec: MarketSpec, fill: FillInfo, side: str, ts_us: int) -> Json:
    """A ``/wapi/v1/history/fills`` row (rest_history_fills.json): clientId as a string."""
    return {
        "clientId": str(order.client_id) if order.client_id is not None else None,
        "fee": wire(fill.fee),
        "feeSymbol": fill.fee_symbol,
        "isMaker": fill.maker,
        "orderId": order.id,
        "price": spec.price_text(fill.price),
        "quantity": spec.qty_text(fill.qty),
        "side": side,
        "symbol": order.symbol,
        "systemOrderType": order.system_type,
        "timestamp": naive_datetime(ts_us, millis=True),
        "tradeId": fill.trade_id,
    }


def _price(value: Decimal, spec: MarketSpec) -> str:
    return wire(value.quantize(spec.tick / 100))


def position_rest(
    position: Position, spec: MarketSpec, figures: PositionFigures, user_id: int
) -> Json:
    """A ``/api/v1/position`` item (fixture rest_position.json)."""
    assert spec.imf is not None and spec.mmf is not None
    exposure_qty = spec.qty_dec(figures.exposure)
    return {
        "breakEvenPrice": wire(position.break_even_price(spec)),
        "cumulativeFundingPayment": money(position.funding),
        "cumulativeInterest": "0",
        "entryPrice": wire(position.entry_price(spec)),
        "estLiquidationPrice": _price(figures.est_liq, spec),
        "imf": wire(figures.imf.quantize(Decimal("1e-8"))),
        "imfFunction": spec.imf.to_json(),
        "markPrice": _price(figures.mark, spec),
        "mmf": wire(figures.mmf.quantize(Decimal("1e-8"))),
        "mmfFunction": spec.mmf.to_json(),
        "netCost": money(position.cost),
        "netExposureNotional": money(exposure_qty * figures.mark),
        "netExposureQuantity": spec.qty_text(figures.exposure),
        "netQuantity": spec.qty_text(position.net),
        "pnlRealized": money(position.realized),
        "pnlUnrealized": money(figures.unrealized),
        "positionId": str(position.id),
        "subaccountId": None,
        "symbol": spec.symbol,
        "userId": user_id,
    }


def position_event(
    position: Position, spec: MarketSpec, figures: PositionFigures, event: str | None
) -> Json:
    """An ``account.positionUpdate`` payload without ``E``/``T``; no ``e`` for snapshots."""
    data: Json = {} if event is None else {"e": event}
    data.update(
        {
            "s": spec.symbol,
            "b": wire(position.break_even_price(spec)),
            "B": wire(position.entry_price(spec)),
            "f": wire(figures.imf.quantize(Decimal("1e-8"))),
            "M": _price(figures.mark, spec),
            "m": wire(figures.mmf.quantize(Decimal("1e-8"))),
            "q": spec.qty_text(position.net),
            "Q": spec.qty_text(figures.exposure),
            "n": money(spec.qty_dec(figures.exposure) * figures.mark),
            "i": position.id,
            "p": money(position.realized),
            "P": money(figures.unrealized),
            "l": "0",
        }
    )
    return data
