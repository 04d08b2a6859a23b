"""Every JSON body and stream payload has the fixtures' keys and value types.

The fixtures (tests/fixtures) are realistic Backpack payloads; a client written against
Backpack must not be able to tell the local exchange apart by shape. Values differ, so
the comparison is structural: same key sets, same JSON types, decimal strings where the
fixture has decimal strings.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pytest

from bpx_tui.sim.errors import SimError
from tests.conftest import load_fixture
from tests.sim.engine_harness import BTC, SOL, Harness


def _is_decimal_text(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


NULLABLE = frozenset({"relatedOrderId", "quoteQuantity", "triggeredAt", "quantity"})


def assert_shape(
    actual: Any,
    expected: Any,
    path: str = "$",
    optional: frozenset[str] = frozenset(),
    nullable: frozenset[str] = NULLABLE,
) -> None:
    """``actual`` has the structure of ``expected``; a fixture ``null`` accepts any value.

    ``optional`` keys may be absent; ``nullable`` keys may be null where the fixture
    happens to show a value (Backpack documents them as nullable).
    """
    if expected is None:
        return
    if actual is None and path.rsplit(".", 1)[-1] in nullable:
        return
    assert actual is not None, f"{path}: null where the fixture has {expected!r}"
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object"
        missing = set(expected) - set(actual) - optional
        extra = set(actual) - set(expected) - optional
        assert not missing and not extra, f"{path}: missing {missing}, extra {extra}"
        for key in set(expected) & set(actual):
            assert_shape(actual[key], expected[key], f"{path}.{key}", optional, nullable)
        return
    if isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected an array"
        if expected:
            for i, item in enumerate(actual):
                assert_shape(item, expected[0], f"{path}[{i}]", optional, nullable)
        return
    assert type(actual) is type(expected), (
        f"{path}: {type(actual).__name__} vs {type(expected).__name__}"
    )
    if _is_decimal_text(expected):
        assert _is_decimal_text(actual), f"{path}: {actual!r} is not a decimal string"
        assert "E" not in actual and "e" not in actual, f"{path}: exponent in {actual!r}"


@pytest.fixture
def busy() -> Harness:
    """Two traders with a position, resting orders, a trigger and a funding payment."""
    h = Harness(funding_speedup=3600.0)
    maker, trader = h.account("maker"), h.account("trader")
    h.limit(maker, "Ask", "97012.4", "0.02000")
    h.market(trader, "Bid", "0.02000")
    h.limit(trader, "Bid", "96500.0", "0.01000", clientId=1001, postOnly=True)
    h.order(
        trader,
        side="Ask",
        orderType="Market",
        triggerPrice="94000.0",
        triggerQuantity="0.02000",
        reduceOnly=True,
    )
    h.engine.deposit(trader, "SOL", Decimal("12.5"))
    h.now = h.engine.funding.next_us
    h.engine.advance()
    h.tick(1_000_000)
    h.engine.advance()
    return h


def test_public_rest_shapes(busy: Harness) -> None:
    engine = busy.engine
    markets = load_fixture("rest_markets.json")
    for market in engine.markets():
        expected = markets[1] if market["marketType"] == "PERP" else markets[0]
        assert_shape(market, expected)
    assert_shape(engine.market(SOL), markets[2])
    assert_shape(engine.ticker(BTC), load_fixture("rest_ticker.json"))
    assert_shape(engine.tickers(), load_fixture("rest_tickers.json"))
    assert_shape(engine.depth(BTC, None), load_fixture("rest_depth.json"))
    assert_shape(engine.trades(BTC, None), load_fixture("rest_trades.json"))
    assert engine.trades(BTC, None)
    klines = engine.klines(BTC, "1m", busy.now // 1_000_000 - 3600, None, None)
    assert klines
    assert_shape(klines, load_fixture("rest_klines.json"))
    assert_shape(engine.mark_prices(None), load_fixture("rest_markPrices.json"))
    assert_shape(engine.funding_rates(BTC, None, None), load_fixture("rest_fundingRates.json"))
    assert_shape(engine.open_interest(None), load_fixture("rest_openInterest.json"))
    assert engine.open_interest(BTC)[0]["openInterest"] == "0.02000"
    spot_bases = {spec.base for spec in engine.specs.values() if not spec.is_perp}
    assert {a["symbol"] for a in engine.assets()} == spot_bases | {"USDC"}


def test_private_rest_shapes(busy: Harness) -> None:
    engine = busy.engine
    trader = engine.account_for_key("trader")
    assert trader is not None
    limit, pending = engine.open_orders(trader, BTC, None)
    assert_shape(limit, load_fixture("rest_order_execute_response_limit.json"))
    assert_shape(pending, load_fixture("rest_orders_open.json")[1])
    assert_shape(engine.positions(trader, None), load_fixture("rest_position.json"))
    capital = engine.capital(trader)
    expected_capital = load_fixture("rest_capital.json")
    for asset, row in capital.items():
        assert_shape(row, expected_capital["USDC"], f"capital.{asset}")
    assert set(capital) == {"USDC", "SOL"}
    assert_shape(engine.collateral(trader), load_fixture("rest_capital_collateral.json"))
    assert_shape(engine.account(trader), load_fixture("rest_account.json"))
    assert_shape(engine.fill_history(trader, {}), load_fixture("rest_history_fills.json"))
    assert_shape(engine.order_history(trader, {}), load_fixture("rest_history_orders.json"))
    assert_shape(engine.funding_history(trader, {}), load_fixture("rest_history_funding.json"))
    cancelled = engine.cancel_order(trader, BTC, limit["id"], None)
    assert_shape(cancelled, load_fixture("rest_order_cancel_response.json"))
    market = load_fixture("rest_order_execute_response_market.json")
    for order in engine.cancel_all(trader, BTC, None):
        assert order["status"] == "Cancelled"
        if order["orderType"] == "Limit":
            assert_shape(order, load_fixture("rest_orders_cancel_all_response.json")[0])
        else:
            assert_shape(order, market)


def test_market_order_shape() -> None:
    h = Harness()
    maker, taker = h.account("maker"), h.account("taker")
    h.limit(maker, "Ask", "97012.4", "0.02000")
    body = h.market(taker, "Bid", "0.02000")
    assert_shape(body, load_fixture("rest_order_execute_response_market.json"))
    assert body["executedQuoteQuantity"] == "1940.248"


def _stream(h: Harness, stream: str) -> list[dict[str, Any]]:
    return [d for s, d, _ in h.events if s == stream]


def test_public_stream_shapes(busy: Harness) -> None:
    h = busy
    checks = {
        "depth." + BTC: "ws_depth.json",
        "bookTicker." + BTC: "ws_bookTicker.json",
        "trade." + BTC: "ws_trade.json",
        "ticker." + BTC: "ws_ticker.json",
        "markPrice." + BTC: "ws_markPrice.json",
        "kline.1m." + BTC: "ws_kline.json",
        "openInterest." + BTC: "ws_openInterest.json",
    }
    # a side of this small book can be empty: bookTicker then sends null for it
    empty_side = NULLABLE | {"a", "A", "b", "B"}
    for stream, name in checks.items():
        payloads = _stream(h, stream)
        assert payloads, stream
        for payload in payloads:
            nullable = empty_side if name == "ws_bookTicker.json" else NULLABLE
            assert_shape(payload, load_fixture(name)["data"], stream, nullable=nullable)


def test_liquidation_event_shape() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader", usdc="1100")
    h.engine.update_account(trader, {"leverageLimit": "50"})
    h.limit(maker, "Ask", "97000.0", "0.50000")
    h.market(trader, "Bid", "0.50000")
    h.limit(maker, "Bid", "95400.0", "1.00000")
    h.engine.set_index(BTC, Decimal("95000"))
    [event] = _stream(h, "liquidation")
    assert_shape(event, load_fixture("ws_liquidation.json")["data"])


ORDER_EVENTS = {
    "orderAccepted": "ws_account_orderUpdate_accepted.json",
    "orderCancelled": "ws_account_orderUpdate_cancelled.json",
    "orderExpired": "ws_account_orderUpdate_expired.json",
    "orderFill": "ws_account_orderUpdate_fill.json",
    "triggerPlaced": "ws_account_orderUpdate_triggerPlaced.json",
}


def test_private_stream_shapes() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    h.limit(maker, "Ask", "97012.4", "0.02000")
    h.market(trader, "Bid", "0.02000")  # fill (market, no clientId)
    resting = h.limit(trader, "Bid", "96500.0", "0.01000", clientId=1001, postOnly=True)
    h.engine.cancel_order(trader, BTC, resting["id"], None)
    h.limit(maker, "Ask", "97013.0", "0.01000")
    with pytest.raises(SimError):
        h.limit(trader, "Bid", "97013.0", "0.01000", clientId=999, postOnly=True)
    h.order(
        trader,
        side="Ask",
        orderType="Market",
        triggerPrice="94000.0",
        triggerQuantity="0.02000",
        reduceOnly=True,
    )
    events = h.private(trader)
    seen: set[str] = set()
    for event in events:
        name = event.get("e")
        if name in ORDER_EVENTS:
            fixture = load_fixture(ORDER_EVENTS[name])["data"]
            if name == "orderAccepted" and event["o"] != "LIMIT":
                continue
            if name == "orderFill" and event["o"] != "MARKET":
                continue
            # "Q" (quote quantity) is only sent for quote-sized orders; "I" (related order)
            # when there is one
            assert_shape(event, fixture, name, optional=frozenset({"Q", "I"}))
            seen.add(name)
    assert seen == set(ORDER_EVENTS)
    adjusted = load_fixture("ws_account_positionUpdate_adjusted.json")["data"]
    positions = [e for e in events if str(e.get("e", "")).startswith("position")]
    assert positions
    for event in positions:
        assert_shape(event, adjusted)
    [snapshot] = h.engine.position_snapshot(trader, BTC)
    assert_shape(snapshot, load_fixture("ws_account_positionUpdate_snapshot.json")["data"])


def test_timestamps_as_strings_when_configured() -> None:
    h = Harness(ts_as_strings=True)
    alice = h.account("alice")
    h.limit(alice, "Bid", "96000.0", "0.01000")
    for _, data, _ in h.events:
        assert isinstance(data["E"], str) and isinstance(data["T"], str)
        assert int(data["E"]) == h.now
    depth = _stream(h, "depth." + BTC)[0]
    assert isinstance(depth["U"], int) and isinstance(depth["u"], int)
