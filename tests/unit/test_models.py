"""Parsing of Backpack payloads: the unit zoo, type drift and enum casing (docs/PROTOCOL.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.models import (
    DepthSnapshot,
    Kline,
    Market,
    MarkPrice,
    Order,
    Position,
    Ticker,
    parse_time_ms,
)
from bpx_tui.exchange.numbers import NumberError, parse_decimal, parse_int, to_decimal, wire
from tests.conftest import load_fixture


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1763900000000, 1763900000000),  # ms int (orders, trades)
        (1763900000000000, 1763900000000),  # µs int (depth timestamp, WS E/T)
        ("1763900000000000", 1763900000000),  # µs as a string (2025 WS captures)
        ("2025-11-23T12:13:20", 1763900000000),  # naive UTC datetime (fills, history)
        ("2025-11-23T12:13:20.500", 1763900000500),
        ("2025-11-23 12:13:20", 1763900000000),  # klines use a space
        ("garbage", None),
        (None, None),
    ],
)
def test_time_units(value: object, expected: int | None) -> None:
    assert parse_time_ms(value) == expected


def test_numbers_arrive_as_strings_or_json_numbers() -> None:
    assert parse_int("2204871166") == 2204871166 and parse_int(7) == 7 and parse_int(True) is None
    assert parse_decimal("N/A") is None  # ticker priceChangePercent has been seen as "N/A"
    assert parse_decimal(0.1) == Decimal("0.1") and parse_decimal("1.50") == Decimal("1.50")


def test_float_input_is_read_as_its_shortest_text() -> None:
    assert to_decimal(0.1 + 0.2) == Decimal("0.30000000000000004")
    assert wire(Decimal("1E-5")) == "0.00001" and wire(Decimal("96500.0")) == "96500"
    assert wire(Decimal("-0")) == "0"
    for bad in (float("nan"), "1e", True, None):
        with pytest.raises(NumberError):
            to_decimal(bad)  # type: ignore[arg-type]


def test_market_filters_and_rounding() -> None:
    btc = next(
        Market.from_api(m)
        for m in load_fixture("rest_markets.json")
        if m["symbol"] == "BTC_USDC_PERP"
    )
    assert btc.is_perp and btc.tick_size == Decimal("0.1") and btc.step_size == Decimal("0.00001")
    assert btc.funding_interval_ms == 3600000
    assert btc.round_price("97012.46") == Decimal("97012.5")
    assert btc.round_quantity(0.1 + 0.2) == Decimal("0.3")
    with pytest.raises(InvalidOrder, match="tick"):
        btc.check_price(Decimal("97012.45"))
    with pytest.raises(InvalidOrder, match="step"):
        btc.check_quantity(Decimal("0.000015"))
    string_interval = dict(load_fixture("rest_markets.json")[1], fundingInterval="28800000")
    assert Market.from_api(string_interval).funding_interval_ms == 28800000


def test_order_enum_casing_differs_by_channel() -> None:
    rest = Order.from_api(load_fixture("rest_order_execute_response_limit.json"))
    ws = Order.from_update(load_fixture("ws_account_orderUpdate_accepted.json")["data"])
    assert rest.order_type == "Limit" and ws.order_type == "Limit"  # WS sends LIMIT
    assert rest.side in ("Bid", "Ask") and ws.side in ("Bid", "Ask")
    unknown = Order.from_api(
        dict(load_fixture("rest_order_execute_response_limit.json"), status="Triggered")
    )
    assert (
        unknown.status == "Triggered" and not unknown.is_open
    )  # unknown enums are kept, not fatal


def test_history_order_created_at_is_a_naive_string() -> None:
    row = load_fixture("rest_history_orders.json")[0]
    assert isinstance(row["createdAt"], str)
    assert Order.from_api(row).created_at_ms == parse_time_ms(row["createdAt"])


def test_position_sign_comes_from_net_quantity() -> None:
    rows = {p["symbol"]: Position.from_api(p) for p in load_fixture("rest_position.json")}
    assert rows["BTC_USDC_PERP"].side == "LONG" and rows["SOL_USDC_PERP"].side == "SHORT"
    assert rows["SOL_USDC_PERP"].net_quantity == Decimal("-15.40")
    update = Position.from_update(load_fixture("ws_account_positionUpdate_adjusted.json")["data"])
    assert update.net_quantity != 0 and update.side in ("LONG", "SHORT")


def test_depth_snapshot_is_sorted_best_first() -> None:
    snap = DepthSnapshot.from_api(load_fixture("rest_depth.json"), "BTC_USDC_PERP")
    assert snap.bids[0][0] == Decimal("97012.4")  # REST sends bids ascending: best is last
    assert snap.asks[0][0] == Decimal("97012.5")
    assert snap.last_update_id == 2204871163  # a string on the wire


def test_stream_payloads_with_string_times() -> None:
    mark = load_fixture("ws_markPrice.json")["data"]
    mark_str = dict(mark, E=str(mark["E"]), T=str(mark["T"]))
    assert MarkPrice.from_stream(mark_str) == MarkPrice.from_stream(mark)
    assert MarkPrice.from_stream(mark).next_funding_ms == 1763902800000  # n is ms
    kline = Kline.from_stream(load_fixture("ws_kline.json")["data"])
    assert kline.start_ms == parse_time_ms("2025-11-23T12:13:00") and kline.close == Decimal(
        "97012.4"
    )
    ticker = Ticker.from_stream(load_fixture("ws_ticker.json")["data"])
    assert ticker.change_percent is not None and ticker.change_percent > 0


def test_ticker_change_is_a_fraction() -> None:
    ticker = Ticker.from_api(load_fixture("rest_ticker.json"))
    assert abs(ticker.change_percent or 0) < 1


def test_a_pending_trigger_is_sized_by_its_trigger_quantity_on_rest_and_stream() -> None:
    """REST sends a pending trigger's quantity as null, the stream as "0": either way
    what it has left to trade is its triggerQuantity (what moving it must keep)."""
    streamed = Order.from_update(load_fixture("ws_account_orderUpdate_triggerPlaced.json")["data"])
    assert streamed.quantity == 0 and streamed.unfilled == Decimal("0.02")
    resting, trigger = (Order.from_api(d) for d in load_fixture("rest_orders_open.json"))
    assert trigger.quantity is None and trigger.unfilled == Decimal("0.02")
    assert resting.unfilled == resting.remaining == Decimal("0.01")
    share = Order.from_api({**trigger.raw, "triggerQuantity": "50%"})
    assert share.unfilled is None  # a share of the position: no size to confirm
