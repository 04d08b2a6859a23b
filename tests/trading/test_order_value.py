"""The order value: one builder puts every intent on the market's grid, or refuses it once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.models import Market
from bpx_tui.trading.order import Exit, NewOrder, OrderIntent, build_order, mint_client_id
from tests.conftest import load_fixture

D = Decimal
MARKETS = {m["symbol"]: Market.from_api(m) for m in load_fixture("rest_markets.json")}
BTC = MARKETS["BTC_USDC_PERP"]  # tick 0.1, step 0.00001
SPOT = MARKETS["SOL_USDC"]


def limit(**kw: object) -> OrderIntent:
    fields: dict[str, object] = {"quantity": D("0.01"), "price": D("96500")}
    fields.update(kw)
    return OrderIntent(BTC.symbol, "Bid", "Limit", **fields)  # type: ignore[arg-type]


def market(**kw: object) -> OrderIntent:
    fields: dict[str, object] = {"quantity": D("0.02")}
    fields.update(kw)
    return OrderIntent(BTC.symbol, "Ask", "Market", **fields)  # type: ignore[arg-type]


def test_rounding_puts_a_script_s_numbers_on_the_grid() -> None:
    order = build_order(limit(quantity=D("0.0123456"), price=D("96500.04")), BTC)
    assert (order.terms.quantity, order.terms.price) == (D("0.01234"), D("96500.0"))
    assert order.payload() == {
        "symbol": BTC.symbol,
        "side": "Bid",
        "orderType": "Limit",
        "quantity": "0.01234",
        "price": "96500",
    }


@pytest.mark.parametrize(
    ("intent", "message"),
    [
        (limit(price=D("96500.04")), "limit price 96500.04 is not on the tick 0.1"),
        (limit(quantity=D("0.0123456")), "quantity 0.0123456 is not a multiple of the step"),
    ],
)
def test_exact_refuses_what_the_trader_did_not_write(intent: OrderIntent, message: str) -> None:
    with pytest.raises(InvalidOrder, match=message):
        build_order(intent, BTC, exact=True)


@pytest.mark.parametrize(
    ("intent", "market_", "message"),
    [
        (limit(price=None), BTC, "a limit order needs a price"),
        (market(price=D(1)), BTC, "a market order takes no price"),
        (market(quantity=None), BTC, "give a quantity"),
        (market(quote_quantity=D(5)), BTC, "either a quantity or a quote quantity"),
        (market(quantity=D(0)), BTC, "quantity must be a positive number"),
        (limit(quantity=D("0.000001")), BTC, "below the minimum"),
        (market(post_only=True), BTC, "post-only applies to limit orders"),
        (limit(post_only=True, time_in_force="IOC"), BTC, "cannot be IOC"),
        (OrderIntent(SPOT.symbol, "Ask", "Market", D(1), reduce_only=True), SPOT, "spot"),
        (OrderIntent(BTC.symbol, "Up", "Market", D(1)), BTC, "side must be Bid/Ask"),  # type: ignore[arg-type]
        (OrderIntent(BTC.symbol, "Bid", "Stop", D(1)), BTC, "order type must be"),  # type: ignore[arg-type]
        (limit(time_in_force="GTX"), BTC, "time in force must be"),
        (limit(trigger_by="MarkPrice"), BTC, "needs a trigger price"),
        (limit(take_profit=Exit(D(96000))), BTC, "take-profit on a buy must be above"),
        (limit(stop_loss=Exit(D(97000))), BTC, "stop-loss on a buy must be below"),
        (limit(replaces=" "), BTC, "needs an id"),
        (OrderIntent("ETH_USDC_PERP", "Bid", "Market", D(1)), BTC, "the market is BTC"),
    ],
)
def test_a_value_the_market_cannot_represent_is_refused_here(
    intent: OrderIntent, market_: Market, message: str
) -> None:
    with pytest.raises(InvalidOrder, match=message):
        build_order(intent, market_)


def test_people_s_words_for_sides_and_types_are_read_once() -> None:
    intent = OrderIntent(BTC.symbol, "BUY", "limit", D("0.01"), price=D(96500))  # type: ignore[arg-type]
    assert build_order(intent, BTC).terms == build_order(limit(), BTC).terms


def test_a_quote_sized_limit_becomes_base_units_at_its_price() -> None:
    order = build_order(limit(quantity=None, quote_quantity=D(1000)), BTC, exact=True)
    assert order.terms.quantity == D("0.01036")  # 1000 / 96500, down to the step
    assert order.terms.quote_quantity is None
    quote = build_order(market(quantity=None, quote_quantity=D("100.123")), BTC)
    assert quote.payload()["quoteQuantity"] == "100.12"  # money: to the cent, not the tick


def test_trigger_order_and_attached_exits_reach_the_payload() -> None:
    stop = build_order(
        market(trigger_price=D("94000.04"), trigger_by="markprice", reduce_only=True), BTC
    )
    body = stop.payload()
    assert (body["triggerQuantity"], body["triggerPrice"], body["triggerBy"]) == (
        "0.02",
        "94000",
        "MarkPrice",
    )
    assert "quantity" not in body and body["reduceOnly"] is True
    entry = build_order(
        limit(
            take_profit=Exit(D("99000"), D("98990"), "LastPrice"),
            stop_loss=Exit(D("95000.04")),
        ),
        BTC,
    ).payload()
    assert {k: v for k, v in entry.items() if k.startswith(("takeProfit", "stopLoss"))} == {
        "takeProfitTriggerPrice": "99000",
        "takeProfitLimitPrice": "98990",
        "takeProfitTriggerBy": "LastPrice",
        "stopLossTriggerPrice": "95000",
    }


def test_client_id_is_stamped_once_and_checked() -> None:
    order = build_order(limit(), BTC)
    assert "clientId" not in order.payload()
    stamped = order.with_client_id(4_294_967_295)
    assert stamped.payload()["clientId"] == 4_294_967_295
    assert stamped.terms is order.terms  # stamping changes nothing else
    with pytest.raises(InvalidOrder, match=r"0\.\.4294967295"):
        order.with_client_id(2**32)
    ids = {mint_client_id() for _ in range(200)}
    assert len(ids) == 200 and all(0 < i < 2**32 for i in ids)
    first = mint_client_id()
    seen: list[int] = []
    # A taken id is never handed out: the mint asks again.
    assert mint_client_id(lambda cid: not seen.append(cid) and len(seen) == 1) == seen[-1]
    assert len(seen) == 2 and first > 0


def test_the_value_is_frozen() -> None:
    order: NewOrder = build_order(limit(), BTC)
    with pytest.raises(AttributeError):
        order.client_id = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        order.terms.price = D(1)  # type: ignore[misc]
