"""RestClient against a loopback fake exchange that verifies every signature.

Each test checks both sides: what went on the wire (path, instruction, body text,
query, headers) and what came back (typed values or typed errors).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
import pytest

from bpx_tui.exchange.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    OrderRejected,
    RateLimitError,
    ServerError,
    TransportError,
    UnknownOrderOutcome,
)
from bpx_tui.exchange.models import (
    Balance,
    Collateral,
    DepthSnapshot,
    Fill,
    FundingPayment,
    FundingRate,
    Kline,
    Market,
    MarkPrice,
    OpenInterest,
    Order,
    Position,
    Ticker,
    Trade,
)
from bpx_tui.exchange.rest import (
    BAD_RESPONSE,
    CANCEL_PENDING,
    RestClient,
    backoff_delay,
    body_payload,
    query_params,
)
from bpx_tui.exchange.signing import Signer, generate_secret
from tests.conftest import load_fixture
from tests.fakes.rest_server import TEST_SECRET, FakeRestServer, Recorded

BTC = "BTC_USDC_PERP"
SOL = "SOL_USDC_PERP"


class Sleeps(list[float]):
    """Stands in for asyncio.sleep: records each backoff delay and yields once."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def server() -> AsyncIterator[FakeRestServer]:
    async with FakeRestServer() as fake:
        yield fake


@pytest.fixture
def signer() -> Signer:
    return Signer(TEST_SECRET)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(
    server: FakeRestServer, signer: Signer | None, sleeps: Sleeps, **kw: Any
) -> RestClient:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("max_retries", 3)
    return RestClient(server.url, signer, sleep=sleeps, **kw)


@pytest.fixture
async def client(
    server: FakeRestServer, signer: Signer, sleeps: Sleeps
) -> AsyncIterator[RestClient]:
    async with make_client(server, signer, sleeps) as rest:
        yield rest


def freeze(server: FakeRestServer, signer: Signer, timestamp: int) -> None:
    """Sign at a fixed time and move the fake's clock there so it is not 'expired'."""
    signer.clock = lambda: timestamp
    server.clock_offset_ms = timestamp + 500 - int(time.time() * 1000)


def only(server: FakeRestServer, method: str, path: str) -> Recorded:
    calls = server.calls(method, path)
    assert len(calls) == 1, [c.path for c in server.requests]
    return calls[0]


def assert_unsigned(record: Recorded) -> None:
    assert "X-Signature" not in record.headers and "X-API-Key" not in record.headers


# -- wire encoding helpers -------------------------------------------------------------


def test_body_payload_drops_none_renders_decimals_and_refuses_floats() -> None:
    body = body_payload(
        {"price": Decimal("96500.10"), "quantity": Decimal("1E-5"), "postOnly": True, "x": None}
    )
    assert body == {"price": "96500.1", "quantity": "0.00001", "postOnly": True}
    with pytest.raises(TypeError, match="floats"):
        body_payload({"price": 0.1})
    assert query_params({"reduceOnly": False, "limit": 5, "symbol": None}) == {
        "reduceOnly": "false",
        "limit": "5",
    }


def test_backoff_is_full_jitter_capped_and_honours_retry_after() -> None:
    for attempt in range(10):
        assert 0.0 <= backoff_delay(attempt, 0.2, 5.0) <= min(5.0, 0.2 * 2**attempt)
    assert backoff_delay(3, 0.2, 5.0, retry_after=1.5) == 1.5
    assert backoff_delay(0, 0.2, 5.0, retry_after=10_000) == 60.0


# -- public endpoints ----------------------------------------------------------------------


async def test_markets_and_market(client: RestClient, server: FakeRestServer) -> None:
    markets = await client.markets()
    assert [m.symbol for m in markets][:2] == ["SOL_USDC", BTC]
    assert all(isinstance(m, Market) for m in markets)
    market = await client.market(BTC)
    assert market.tick_size == Decimal("0.1") and market.is_perp
    assert market.raw["symbol"] == BTC
    assert_unsigned(only(server, "GET", "/api/v1/markets"))
    assert only(server, "GET", "/api/v1/market").query == {"symbol": BTC}


async def test_ticker_tickers_and_unknown_ticker(
    client: RestClient, server: FakeRestServer
) -> None:
    ticker = await client.ticker("SOL_USDC")
    assert isinstance(ticker, Ticker) and ticker.last_price == Decimal("141.93")
    assert only(server, "GET", "/api/v1/ticker").query == {"symbol": "SOL_USDC"}
    tickers = await client.tickers()
    assert {t.symbol for t in tickers} == {BTC, "SOL_USDC"}
    with pytest.raises(NotFoundError, match="no ticker for NOPE"):
        await client.ticker("NOPE")  # the fake answers 204 like the spec


async def test_depth_raw_and_snapshot(client: RestClient, server: FakeRestServer) -> None:
    raw = await client.depth(BTC, limit=20)
    assert raw["lastUpdateId"] == "2204871163"
    assert server.requests[-1].query == {"symbol": BTC, "limit": "20"}
    snap = await client.depth_snapshot(BTC)
    assert isinstance(snap, DepthSnapshot)
    assert snap.bids[0] == (Decimal("97012.4"), Decimal("0.20410"))  # best bid first
    assert snap.asks[0][0] == Decimal("97012.5")
    assert snap.last_update_id == 2204871163
    assert server.requests[-1].query == {"symbol": BTC}


async def test_trades_and_klines_in_seconds(client: RestClient, server: FakeRestServer) -> None:
    trades = await client.trades(BTC, limit=2)
    assert server.requests[-1].query == {"symbol": BTC, "limit": "2"}
    assert [t.id for t in trades] == [48213376, 48213377]
    assert all(isinstance(t, Trade) and t.symbol == BTC for t in trades)

    klines = await client.klines(BTC, "1m", 1763899860, 1763900040_000, price_type="Mark")
    assert only(server, "GET", "/api/v1/klines").query == {
        "symbol": BTC,
        "interval": "1m",
        "startTime": "1763899860",
        "endTime": "1763900040",  # milliseconds by mistake are converted to seconds
        "priceType": "Mark",
    }
    assert len(klines) == 3 and isinstance(klines[0], Kline)
    assert klines[0].close == Decimal("97010.1") and klines[0].trades == 412


async def test_mark_prices_funding_rates_open_interest(
    client: RestClient, server: FakeRestServer
) -> None:
    marks = await client.mark_prices(SOL)
    assert server.requests[-1].query == {"symbol": SOL}
    assert len(marks) == 1 and isinstance(marks[0], MarkPrice)
    assert marks[0].funding_rate == Decimal("-0.0000041637781092")
    assert len(await client.mark_prices()) == 2
    assert server.requests[-1].query == {}

    rates = await client.funding_rates(BTC, limit=3, offset=0)
    assert server.requests[-1].query == {"symbol": BTC, "limit": "3", "offset": "0"}
    assert isinstance(rates[0], FundingRate) and rates[0].funding_rate == Decimal("0.0000125")

    interest = await client.open_interest(BTC)
    assert isinstance(interest[0], OpenInterest)
    assert interest[0].open_interest == Decimal("1612.40917")


async def test_system_endpoints(client: RestClient, server: FakeRestServer) -> None:
    assert await client.status() == {"status": "Ok", "message": None}
    assert await client.ping() == "pong"
    before = server.now_ms()
    assert before <= await client.server_time() <= server.now_ms()
    assets = await client.assets()
    assert assets[0]["symbol"] == "BTC"
    assert await client.request("GET", "/api/v1/ping") == "pong"


async def test_query_values_with_special_characters_round_trip(
    client: RestClient, server: FakeRestServer
) -> None:
    # Signed decoded; whatever percent-encoding the transport applies must decode back.
    odd = "a+b c&d=%e/é"
    orders = await client.order_history(strategy_id=odd, symbol=BTC)
    assert {o.symbol for o in orders} == {BTC}
    sent = only(server, "GET", "/wapi/v1/history/orders")
    assert sent.verified and sent.query["strategyId"] == odd
    assert sent.signing_string is not None and f"strategyId={odd}&symbol=" in sent.signing_string


async def test_url_joins_are_normalised(server: FakeRestServer, sleeps: Sleeps) -> None:
    async with RestClient(server.url + "/", sleep=sleeps) as rest:
        assert await rest.request("GET", "api/v1//status") == {"status": "Ok", "message": None}
    assert server.requests[-1].raw_path == "/api/v1/status"


# -- private endpoints: what is signed is what is sent ---------------------------------


async def test_execute_order_matches_golden_request(
    client: RestClient, server: FakeRestServer, signer: Signer
) -> None:
    golden = load_fixture("rest_order_execute_request.json")
    freeze(server, signer, int(golden["headers"]["X-Timestamp"]))
    order = await client.execute_order(dict(golden["body"]))

    sent = only(server, "POST", "/api/v1/order")
    assert sent.verified and sent.instruction == "orderExecute"
    assert sent.signing_string == golden["signingString"]
    assert sent.body == orjson.dumps(golden["body"]).decode()  # compact, same key order
    for name in ("X-API-Key", "X-Timestamp", "X-Window", "X-Signature", "Content-Type"):
        assert sent.headers[name] == golden["headers"][name], name

    assert isinstance(order, Order)
    assert order.client_id == 1001 and order.status == "New" and order.side == "Bid"
    assert order.price == Decimal("96500.0") and order.raw["id"] == order.id


async def test_execute_order_renders_decimals_and_drops_none(
    client: RestClient, server: FakeRestServer
) -> None:
    payload: dict[str, Any] = {
        "symbol": BTC,
        "side": "Ask",
        "orderType": "Limit",
        "price": Decimal("97100.50"),
        "quantity": Decimal("1E-3"),
        "postOnly": True,
        "reduceOnly": None,
        "clientId": 4_000_000_000,
    }
    order = await client.execute_order(payload)
    client_id = 4_000_000_000
    assert order.client_id == client_id

    sent = only(server, "POST", "/api/v1/order")
    assert sent.verified
    assert sent.json() == {
        "symbol": BTC,
        "side": "Ask",
        "orderType": "Limit",
        "price": "97100.5",
        "quantity": "0.001",
        "postOnly": True,
        "clientId": client_id,
    }
    assert '"postOnly":true' in sent.body and f'"clientId":{client_id}' in sent.body
    assert sent.signing_string is not None and "postOnly=true" in sent.signing_string
    assert "reduceOnly" not in sent.signing_string


async def test_float_is_refused_before_anything_is_sent(
    client: RestClient, server: FakeRestServer
) -> None:
    with pytest.raises(TypeError, match="floats"):
        await client.execute_order({"symbol": BTC, "side": "Bid", "price": 97000.5})
    with pytest.raises(TypeError):
        await client.klines(BTC, "1m", 1.5)  # type: ignore[arg-type]
    assert server.requests == []


async def test_execute_orders_batch_mixed_ok_and_err(
    client: RestClient, server: FakeRestServer, signer: Signer
) -> None:
    golden = load_fixture("rest_orders_batch_request.json")
    server.respond("POST", "/api/v1/orders", load_fixture("rest_orders_batch_response.json"))
    freeze(server, signer, int(golden["headers"]["X-Timestamp"]))
    results = await client.execute_orders([dict(o) for o in golden["body"]])

    sent = only(server, "POST", "/api/v1/orders")
    assert sent.headers["X-Signature"] == golden["headers"]["X-Signature"]
    assert sent.body == orjson.dumps(golden["body"]).decode()
    ok, err = results
    assert isinstance(ok, Order) and ok.id == "6142012001" and ok.client_id == 2001
    assert isinstance(err, OrderRejected) and err.code == "INVALID_PRICE"
    assert err.message == "Price is too far from the last active price"


async def test_execute_orders_places_each_and_verifies(
    client: RestClient, server: FakeRestServer
) -> None:
    orders = [
        {
            "symbol": SOL,
            "side": "Bid",
            "orderType": "Limit",
            "price": Decimal("140.00"),
            "quantity": Decimal("2"),
        },
        {
            "symbol": SOL,
            "side": "Ask",
            "orderType": "Limit",
            "price": Decimal("143.1"),
            "quantity": Decimal("2"),
            "clientId": 9,
        },
    ]
    results = await client.execute_orders(orders)
    sent = only(server, "POST", "/api/v1/orders")
    assert sent.verified and sent.signing_string is not None
    assert sent.signing_string.count("instruction=orderExecute") == 2
    # The REST layer mints no clientId: the trading layer's journal is the one mint.
    assert "clientId" not in sent.json()[0] and sent.json()[1]["clientId"] == 9
    assert len([r for r in results if isinstance(r, Order)]) == 2
    with pytest.raises(ValueError):
        await client.execute_orders([])


async def test_cancel_order_by_order_id_matches_golden_request(
    client: RestClient, server: FakeRestServer, signer: Signer
) -> None:
    golden = load_fixture("rest_order_cancel_request.json")
    freeze(server, signer, int(golden["headers"]["X-Timestamp"]))
    order = await client.cancel_order(BTC, order_id="6142011842")
    sent = only(server, "DELETE", "/api/v1/order")
    assert sent.signing_string == golden["signingString"]
    assert sent.headers["X-Signature"] == golden["headers"]["X-Signature"]
    assert sent.json() == {"symbol": BTC, "orderId": "6142011842"}
    assert order.status == "Cancelled" and order.id == "6142011842"


async def test_cancel_order_by_client_id_and_argument_checks(
    client: RestClient, server: FakeRestServer
) -> None:
    placed = await client.execute_order(
        {
            "symbol": SOL,
            "side": "Bid",
            "orderType": "Limit",
            "price": "140",
            "quantity": "1",
            "clientId": 4242,
        }
    )
    order = await client.cancel_order(SOL, client_id=4242)
    sent = only(server, "DELETE", "/api/v1/order")
    assert sent.verified and sent.body == f'{{"symbol":"{SOL}","clientId":4242}}'
    assert order.id == placed.id and order.status == "Cancelled"
    for bad in ({}, {"order_id": "1", "client_id": 2}):
        with pytest.raises(ValueError, match="exactly one"):
            await client.cancel_order(SOL, **bad)
    with pytest.raises(ValueError, match="clientId"):
        await client.cancel_order(SOL, client_id=2**32)
    assert len(server.calls("DELETE", "/api/v1/order")) == 1
    with pytest.raises(OrderRejected, match="Order not found"):
        await client.cancel_order(SOL, client_id=4242)  # already gone: a 400, as observed live


async def test_cancel_all(client: RestClient, server: FakeRestServer) -> None:
    cancelled = await client.cancel_all(BTC, order_type="RestingLimitOrder")
    sent = only(server, "DELETE", "/api/v1/orders")
    assert sent.verified and sent.instruction == "orderCancelAll"
    assert sent.json() == {"symbol": BTC, "orderType": "RestingLimitOrder"}
    assert [o.id for o in cancelled] == ["6142011842"]
    assert all(o.status == "Cancelled" for o in cancelled)
    rest = await client.cancel_all(BTC)
    assert server.requests[-1].json() == {"symbol": BTC}
    assert [o.status for o in rest] == ["Cancelled"] and rest[0].is_trigger


async def test_cancel_accepted_with_202_and_no_body(
    client: RestClient, server: FakeRestServer
) -> None:
    server.fail("DELETE", "/api/v1/order", status=202, body=b"")
    pending = await client.cancel_order(BTC, order_id="6142011842")
    assert (pending.id, pending.symbol, pending.status) == ("6142011842", BTC, CANCEL_PENDING)
    server.fail("DELETE", "/api/v1/orders", status=202, body=b"")
    assert await client.cancel_all(BTC) is None  # accepted: nothing is known gone yet
    assert len(server.requests) == 2


async def test_get_order_and_open_orders(client: RestClient, server: FakeRestServer) -> None:
    order = await client.get_order(BTC, order_id="6142011842")
    sent = only(server, "GET", "/api/v1/order")
    assert sent.verified and sent.instruction == "orderQuery"
    assert sent.query == {"symbol": BTC, "orderId": "6142011842"}
    assert order.client_id == 1001 and order.is_open

    by_client = await client.get_order(BTC, client_id=1001)
    assert by_client.id == "6142011842"
    assert server.requests[-1].query == {"symbol": BTC, "clientId": "1001"}
    with pytest.raises(NotFoundError) as info:
        await client.get_order(BTC, order_id="123")
    assert info.value.status == 404 and info.value.code == "RESOURCE_NOT_FOUND"

    orders = await client.open_orders(BTC, market_type="PERP")
    sent = server.requests[-1]
    assert sent.instruction == "orderQueryAll" and sent.query == {
        "symbol": BTC,
        "marketType": "PERP",
    }
    assert [o.status for o in orders] == ["New", "TriggerPending"]


async def test_history_endpoints(client: RestClient, server: FakeRestServer) -> None:
    orders = await client.order_history(
        symbol=BTC, limit=1, offset=0, sort_direction="Desc", from_=1763800000000, to=1763990000000
    )
    sent = only(server, "GET", "/wapi/v1/history/orders")
    assert sent.verified and sent.instruction == "orderHistoryQueryAll"
    assert sent.query == {
        "symbol": BTC,
        "limit": "1",
        "offset": "0",
        "sortDirection": "Desc",
        "from": "1763800000000",
        "to": "1763990000000",
    }
    assert len(orders) == 1 and orders[0].status == "Filled"
    assert orders[0].created_at_ms == 1763900000238  # naive datetime string parsed

    fills = await client.fill_history(fill_type="User", orderId="6141990410", symbol=SOL)
    sent = only(server, "GET", "/wapi/v1/history/fills")
    assert sent.instruction == "fillHistoryQueryAll"
    assert sent.query == {"fillType": "User", "orderId": "6141990410", "symbol": SOL}
    assert isinstance(fills[0], Fill) and fills[0].client_id == "77"

    funding = await client.funding_history(symbol=SOL)
    assert only(server, "GET", "/wapi/v1/history/funding").instruction == "fundingHistoryQueryAll"
    assert isinstance(funding[0], FundingPayment) and funding[0].quantity == Decimal("0.009112")


async def test_positions(client: RestClient, server: FakeRestServer) -> None:
    everything = await client.positions()
    assert {p.symbol for p in everything} == {BTC, SOL}
    assert server.requests[-1].instruction == "positionQuery"
    short = await client.positions(SOL)
    assert server.requests[-1].query == {"symbol": SOL}
    assert isinstance(short[0], Position) and short[0].side == "SHORT"
    assert short[0].net_quantity == Decimal("-15.40")
    assert await client.positions("ETH_USDC_PERP") == []  # 404 "Position not found"
    server.fail("GET", "/api/v1/position", status=404, body="Not Found", content_type="text/plain")
    with pytest.raises(NotFoundError):  # a 404 that is not the exchange's answer stays an error
        await client.positions(SOL)


async def test_balances_collateral_account_limits(
    client: RestClient, server: FakeRestServer
) -> None:
    balances = await client.balances()
    sent = only(server, "GET", "/api/v1/capital")
    assert sent.signing_string is not None
    assert sent.signing_string.startswith("instruction=balanceQuery&timestamp=")
    assert balances["USDC"] == Balance(
        "USDC", Decimal("25341.218764"), Decimal("965.0"), Decimal(0)
    )
    assert set(balances) == {"USDC", "SOL", "BTC"}

    collateral = await client.collateral()
    assert isinstance(collateral, Collateral)
    assert collateral.net_equity == Decimal("28786.667464")
    assert collateral.margin_fraction == Decimal("5.6468")

    account = await client.account()
    assert account["leverageLimit"] == "10" and account["liquidating"] is False

    limits = await client.max_order_quantity(symbol=BTC, side="Bid", reduce_only=True)
    sent = only(server, "GET", "/api/v1/account/limits/order")
    assert sent.instruction == "maxOrderQuantity"
    assert "reduceOnly=true" in sent.query_string  # lowercase on the wire ...
    assert (
        sent.signing_string is not None and "reduceOnly=true" in sent.signing_string
    )  # ... and signed
    assert limits["maxOrderQuantity"] == "1.25"


async def test_private_call_without_signer_is_refused_locally(
    server: FakeRestServer, sleeps: Sleeps
) -> None:
    async with make_client(server, None, sleeps) as rest:
        with pytest.raises(AuthError, match="needs an API key"):
            await rest.balances()
    assert server.requests == []


async def test_wrong_key_gives_auth_error_without_secrets(
    server: FakeRestServer, sleeps: Sleeps
) -> None:
    secret = generate_secret()
    async with make_client(server, Signer(secret), sleeps) as rest:
        with pytest.raises(AuthError) as info:
            await rest.balances()
    signature = server.requests[-1].headers["X-Signature"]
    assert info.value.status == 401
    assert secret not in str(info.value) and signature not in str(info.value)


# -- retries -------------------------------------------------------------------------------


async def test_429_with_retry_after_is_retried_then_succeeds(
    client: RestClient, server: FakeRestServer, sleeps: Sleeps
) -> None:
    server.fail(
        "GET",
        "/api/v1/tickers",
        status=429,
        body={"code": "TOO_MANY_REQUESTS", "message": "Too many requests"},
        retry_after="0.25",
        times=2,
    )
    tickers = await client.tickers()
    assert len(tickers) == 2
    assert len(server.calls("GET", "/api/v1/tickers")) == 3
    assert sleeps == [0.25, 0.25]  # the server's Retry-After, not our own backoff


async def test_5xx_on_get_is_retried_with_capped_backoff(
    server: FakeRestServer, signer: Signer, sleeps: Sleeps
) -> None:
    async with make_client(server, signer, sleeps, backoff_base=0.1, backoff_cap=0.3) as rest:
        server.fail("GET", "/api/v1/capital", status=500, times=3)
        assert "USDC" in await rest.balances()
        calls = server.calls("GET", "/api/v1/capital")
        assert len(calls) == 4 and calls[-1].verified
        assert len(sleeps) == 3
        assert all(0 <= s <= cap for s, cap in zip(sleeps, (0.1, 0.2, 0.3), strict=True))

        server.fail("GET", "/api/v1/status", status=503, times=None)
        with pytest.raises(ServerError):
            await rest.status()
        assert len(server.calls("GET", "/api/v1/status")) == 4  # 1 + max_retries


async def test_hanging_get_times_out_and_is_retried(server: FakeRestServer, sleeps: Sleeps) -> None:
    server.hang("GET", "/api/v1/markets")
    async with make_client(server, None, sleeps, timeout=0.5) as rest:
        markets = await rest.markets()
    assert len(markets) >= 2 and len(server.calls("GET", "/api/v1/markets")) == 2
    assert len(sleeps) == 1


async def test_slow_answer_within_timeout_is_fine(
    client: RestClient, server: FakeRestServer
) -> None:
    server.delay("GET", "/api/v1/status", 0.05)
    assert (await client.status())["status"] == "Ok"
    assert len(server.calls("GET", "/api/v1/status")) == 1


ORDER = {"symbol": BTC, "side": "Bid", "orderType": "Limit", "price": "96000", "quantity": "0.01"}


async def test_post_503_is_not_retried_and_reports_an_unknown_outcome(
    client: RestClient, server: FakeRestServer, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    """The REST layer does not guess: it sends once, looks nothing up, and says unknown
    (the trading layer's outcome owner settles it by clientId)."""
    caplog.set_level(logging.DEBUG)
    server.accept_then_fail("POST", "/api/v1/order", status=503)
    before = int(time.time() * 1000)
    with pytest.raises(UnknownOrderOutcome) as info:
        await client.execute_order({**ORDER, "clientId": 31337})

    lost = info.value
    assert (lost.symbol, lost.client_id) == (BTC, 31337)
    assert "SERVICE_UNAVAILABLE" in lost.cause
    assert lost.deadline_ms is not None and lost.deadline_ms >= before + 5000  # the window
    assert len(server.calls("POST", "/api/v1/order")) == 1
    assert server.calls("GET", "/api/v1/order") == []
    assert server.calls("GET", "/wapi/v1/history/orders") == []
    assert sleeps == []
    assert TEST_SECRET not in caplog.text
    for record in server.requests:
        if "X-Signature" in record.headers:
            assert record.headers["X-Signature"] not in caplog.text


async def test_post_timeout_is_an_unknown_outcome(
    server: FakeRestServer, signer: Signer, sleeps: Sleeps
) -> None:
    server.accept_then_fail("POST", "/api/v1/order", hang=True)
    async with make_client(server, signer, sleeps, timeout=0.5) as rest:
        with pytest.raises(UnknownOrderOutcome, match=r"no answer within 0\.5 s"):
            await rest.execute_order({**ORDER, "clientId": 5})
    assert len(server.calls("POST", "/api/v1/order")) == 1


async def test_unreadable_order_answer_is_an_unknown_outcome(
    client: RestClient, server: FakeRestServer
) -> None:
    server.accept_then_fail("POST", "/api/v1/order", status=200, body=b"garbage")
    with pytest.raises(UnknownOrderOutcome) as info:
        await client.execute_order({**ORDER, "clientId": 6})
    assert info.value.client_id == 6 and BAD_RESPONSE in info.value.cause
    assert len(server.calls("POST", "/api/v1/order")) == 1


async def test_connection_refused_is_transport_error(sleeps: Sleeps) -> None:
    """A connection that was never made proves the order was not sent: not unknown."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with RestClient(
        f"http://127.0.0.1:{port}", Signer(TEST_SECRET), max_retries=2, sleep=sleeps
    ) as rest:
        with pytest.raises(TransportError, match=r"GET /api/v1/ping: .*127\.0\.0\.1"):
            await rest.ping()
        assert len(sleeps) == 2
        with pytest.raises(TransportError) as info:
            await rest.execute_order({**ORDER, "clientId": 7})
        assert not isinstance(info.value, UnknownOrderOutcome)
        assert info.value.request_sent is False


# -- clock and expiry ----------------------------------------------------------------------


async def test_clock_offset_is_applied_to_x_timestamp(
    client: RestClient, server: FakeRestServer
) -> None:
    server.clock_offset_ms = -7_200_000  # the exchange runs two hours behind us
    offset = await client.sync_clock()
    assert abs(offset - server.clock_offset_ms) < 60_000
    assert client.clock_offset_ms == offset
    await client.balances()
    sent = only(server, "GET", "/api/v1/capital")
    assert sent.verified  # unsynced, our timestamp would be two hours in the future
    assert abs(int(sent.headers["X-Timestamp"]) - server.now_ms()) < 60_000


async def test_expired_request_is_resigned_once_after_resync(
    client: RestClient, server: FakeRestServer
) -> None:
    server.clock_offset_ms = 3_600_000  # our clock is an hour slow: every signature is stale
    order = await client.execute_order(
        {"symbol": SOL, "side": "Bid", "orderType": "Limit", "price": "139", "quantity": "1"}
    )
    first, second = server.calls("POST", "/api/v1/order")
    assert not first.verified and second.verified
    assert first.body == second.body
    assert first.headers["X-Signature"] != second.headers["X-Signature"]
    assert int(second.headers["X-Timestamp"]) - int(first.headers["X-Timestamp"]) > 3_000_000
    assert len(server.calls("GET", "/api/v1/time")) == 1
    assert len(server.state.placed) == 1 and order.id == server.state.placed[0]["id"]


async def test_expired_twice_gives_up_after_one_retry(
    client: RestClient, server: FakeRestServer
) -> None:
    expired = {"code": "INVALID_CLIENT_REQUEST", "message": "Request has expired"}
    server.fail("POST", "/api/v1/order", status=400, body=expired, times=2)
    # The exchange's clock is ahead (why it said "expired"): the re-sync moves ours on,
    # so the retry is signed at a later time, never the first request sent again.
    server.clock_offset_ms = 5_000
    with pytest.raises(AuthError, match="Request has expired"):
        await client.execute_order(
            {"symbol": SOL, "side": "Bid", "orderType": "Limit", "price": "139", "quantity": "1"}
        )
    posts = server.calls("POST", "/api/v1/order")
    assert len(posts) == 2
    first, retry = (int(p.headers["X-Timestamp"]) for p in posts)
    assert retry >= first + 4_000
    assert posts[0].headers["X-Signature"] != posts[1].headers["X-Signature"]
    assert server.state.placed == []


# -- error bodies --------------------------------------------------------------------------


EXPECTED_CLASS = {
    "Invalid signature": AuthError,
    "Request has expired": AuthError,
    "Invalid X-Signature header": AuthError,
    "Quantity decimal too long": OrderRejected,
    "Price decimal too long": OrderRejected,
    "Must specify both `triggerPrice` and `triggerQuantity` or neither": OrderRejected,
    "Price is too far from the last active price": OrderRejected,
    "Order would immediately match and take": OrderRejected,
    "Insufficient margin": OrderRejected,
    "Order not found": (NotFoundError, OrderRejected),
    "Position not found": NotFoundError,
    "Too many requests": RateLimitError,
    "System under maintenance": ServerError,
}


@pytest.mark.parametrize(
    "case", load_fixture("rest_errors.json")["cases"], ids=lambda c: c["when"][:40]
)
async def test_error_bodies_map_to_typed_errors(
    server: FakeRestServer, sleeps: Sleeps, case: dict[str, Any]
) -> None:
    server.fail("GET", "/api/v1/markets", status=case["httpStatus"], body=case["body"])
    async with make_client(server, None, sleeps, max_retries=0) as rest:
        with pytest.raises(ApiError) as info:
            await rest.markets()
    error = info.value
    expected = EXPECTED_CLASS[case["body"]["message"]]
    assert isinstance(error, expected)
    assert (error.status, error.code, error.message) == (
        case["httpStatus"],
        case["body"]["code"],
        case["body"]["message"],
    )


async def test_non_json_and_odd_error_bodies_are_still_clear(
    client: RestClient, server: FakeRestServer
) -> None:
    server.fail(
        "POST",
        "/api/v1/orders",
        status=502,
        body="<html><h1>Bad Gateway</h1></html>",
        content_type="text/html",
    )
    with pytest.raises(ServerError) as info:
        await client.execute_orders(
            [{"symbol": BTC, "side": "Bid", "orderType": "Market", "quantity": "0.01"}]
        )
    assert info.value.code == "HTTP_502" and "Bad Gateway" in info.value.message
    assert len(server.calls("POST", "/api/v1/orders")) == 1  # a batch is never re-sent

    server.fail("DELETE", "/api/v1/orders", status=418, body={"error": "teapot"})
    with pytest.raises(ApiError) as info:
        await client.cancel_all(BTC)
    assert info.value.code == "HTTP_418" and "teapot" in info.value.message

    server.fail("DELETE", "/api/v1/order", status=404, body=b"")
    with pytest.raises(NotFoundError) as info:
        await client.cancel_order(BTC, order_id="1")
    assert str(info.value)  # an empty body still reads as something


MALFORMED = [
    ("GET", "/api/v1/markets", {"oops": 1}, "markets"),
    ("GET", "/api/v1/markets", [{"no": "symbol"}], "markets"),
    ("GET", "/api/v1/markets", [{"symbol": "X", "filters": "junk"}], "markets"),
    ("GET", "/api/v1/market", [1, 2], "market"),
    ("GET", "/api/v1/depth", {"bids": [["1"]], "asks": []}, "depth_snapshot"),
    ("GET", "/api/v1/capital", {"USDC": "lots"}, "balances"),
    ("GET", "/api/v1/time", "soon", "server_time"),
    ("GET", "/api/v1/ping", {"pong": True}, "ping"),
    ("GET", "/api/v1/position", "nope", "positions"),
    ("POST", "/api/v1/orders", [{"operation": "Ok", "id": "1"}], "execute_orders"),
    ("POST", "/api/v1/orders", ["x", "y"], "execute_orders"),
]


@pytest.mark.parametrize(("method", "path", "body", "call"), MALFORMED, ids=lambda v: str(v)[:30])
async def test_malformed_2xx_bodies_are_bad_response(
    client: RestClient, server: FakeRestServer, method: str, path: str, body: Any, call: str
) -> None:
    server.respond(method, path, body)
    args: dict[str, tuple[Any, ...]] = {
        "market": (BTC,),
        "depth_snapshot": (BTC,),
        "execute_orders": (
            [{"symbol": BTC, "side": "Bid", "orderType": "Market", "quantity": "1"}] * 2,
        ),
    }
    with pytest.raises(ApiError) as info:
        await getattr(client, call)(*args.get(call, ()))
    assert info.value.code == BAD_RESPONSE and "unexpected" in str(info.value)


async def test_2xx_that_is_not_json_is_bad_response(
    client: RestClient, server: FakeRestServer
) -> None:
    server.respond("GET", "/api/v1/tickers", b"{not json", content_type="application/json")
    with pytest.raises(ApiError) as info:
        await client.tickers()
    assert info.value.code == BAD_RESPONSE


# -- session ownership ---------------------------------------------------------------------


async def test_shared_session_is_left_open(server: FakeRestServer, sleeps: Sleeps) -> None:
    async with aiohttp.ClientSession() as session:
        rest = RestClient(server.url, session=session, sleep=sleeps)
        assert await rest.ping() == "pong"
        await rest.close()
        assert not session.closed
        assert await rest.ping() == "pong"
    with pytest.raises(TransportError, match="shared HTTP session"):
        await rest.ping()


async def test_own_session_is_closed(server: FakeRestServer, sleeps: Sleeps) -> None:
    async with RestClient(server.url, sleep=sleeps) as rest:
        await rest.ping()
        session = rest._session
        assert session is not None and not session.closed
    assert session.closed


async def test_a_body_json_cannot_carry_is_refused_before_sending(
    client: RestClient, server: FakeRestServer
) -> None:
    with pytest.raises(ValueError, match="cannot be sent as JSON"):
        await client.request(
            "POST", "/api/v1/order", body={**ORDER, "brokerId": 2**70}, signed=True
        )
    assert server.calls("POST", "/api/v1/order") == []
