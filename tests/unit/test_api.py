"""The guide's ``BackpackAPI`` facade, method by method, over real loopback sockets.

Each test asserts what went on the wire (path, signed instruction, exact body text) and
what came back (the guide's dict conventions).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from bpx_tui.api import BackpackAPI
from bpx_tui.exchange.errors import TransportError
from tests.conftest import load_fixture
from tests.fakes.rest_server import FakeRestServer
from tests.fakes.ws_server import FakeWsServer

KEY = load_fixture("signing_vectors.json")["key"]


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeRestServer, FakeWsServer]]:
    async with FakeRestServer() as rest, FakeWsServer() as ws:
        yield rest, ws


@pytest.fixture
async def api(servers: tuple[FakeRestServer, FakeWsServer]) -> AsyncIterator[BackpackAPI]:
    rest, ws = servers
    async with BackpackAPI(
        KEY["apiKeyBase64"], KEY["secretBase64"], base_url=rest.url, ws_url=ws.url
    ) as facade:
        yield facade


def _posts(rest: FakeRestServer, path: str) -> list[Any]:
    return [r for r in rest.requests if r.method == "POST" and r.path == path]


async def test_constructor_defaults_are_backpack() -> None:
    facade = BackpackAPI(KEY["apiKeyBase64"], KEY["secretBase64"])
    assert facade.client.rest.base_url.startswith("https://api.backpack.exchange")
    assert facade.client.stream.url == "wss://ws.backpack.exchange"
    assert KEY["secretBase64"] not in repr(facade)
    await facade.close()


async def test_mismatched_key_and_secret_is_refused() -> None:
    other_key = "A" * 43 + "="
    with pytest.raises(ValueError, match="does not belong"):
        BackpackAPI(other_key, KEY["secretBase64"])


async def test_price_stream_and_callbacks(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    _, ws = servers
    seen: list[tuple[str, float]] = []

    async def on_price(symbol: str, price: float) -> None:
        seen.append((symbol, price))

    api.register_price_callback(on_price)
    await api.start_ws_price_stream()
    # Streaming: the perps were subscribed on the wire and the REST tickers seeded prices.
    assert {"ticker.BTC_USDC_PERP", "ticker.SOL_USDC_PERP"} <= ws.subscribed()
    assert api.prices["BTC_USDC_PERP"] == 97012.4
    frame = load_fixture("ws_ticker.json")
    frame["data"]["c"] = "97100.5"
    await ws.push(frame["stream"], frame["data"])
    for _ in range(200):
        if api.prices["BTC_USDC_PERP"] == 97100.5 and ("BTC_USDC_PERP", 97100.5) in seen:
            break
        await asyncio.sleep(0.01)
    assert api.prices["BTC_USDC_PERP"] == 97100.5
    assert ("BTC_USDC_PERP", 97100.5) in seen
    assert await api.get_price("BTC_USDC_PERP") == 97100.5


async def test_price_stream_reconnects_and_resubscribes(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    _, ws = servers
    await api.start_ws_price_stream(["BTC_USDC_PERP"])
    await ws.drop_all()
    await ws.wait_until(
        lambda: len(ws.connections) == 2 and "ticker.BTC_USDC_PERP" in ws.connections[1].streams
    )
    frame = load_fixture("ws_ticker.json")
    frame["data"]["c"] = "99999.9"
    await ws.push(frame["stream"], frame["data"])
    for _ in range(200):
        if api.prices.get("BTC_USDC_PERP") == 99999.9:
            break
        await asyncio.sleep(0.01)
    assert api.prices["BTC_USDC_PERP"] == 99999.9
    assert api.client.stream.reconnects >= 1


async def test_get_price_without_stream_uses_rest(api: BackpackAPI) -> None:
    assert await api.get_price("SOL_USDC") == 141.93
    assert await api.get_price("NOPE_USDC") is None


async def test_funding_rates(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    assert await api.get_funding_rate("BTC_USDC_PERP") == 0.0000125
    rates = await api.get_all_funding_rates()
    assert rates == {"BTC_USDC_PERP": 0.0000125, "SOL_USDC_PERP": -0.0000041637781092}
    assert any(
        r.path == "/api/v1/markPrices" and r.query.get("symbol") == "BTC_USDC_PERP"
        for r in rest.requests
    )


async def test_place_limit_order_float_noise_never_reaches_the_wire(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    result = await api.place_order(
        "SOL_USDC_PERP", "BUY", 0.1 + 0.2, 140.123, order_type="LIMIT", post_only=True
    )
    assert result["orderId"] and result["type"] == "Limit" and result["symbol"] == "SOL_USDC_PERP"
    (sent,) = _posts(rest, "/api/v1/order")
    body = orjson.loads(sent.body)
    # 0.30000000000000004 is rounded to the 0.01 step; 140.123 to the 0.01 tick.
    assert body["quantity"] == "0.3" and body["price"] == "140.12"
    assert body["side"] == "Bid" and body["orderType"] == "Limit" and body["postOnly"] is True
    assert isinstance(body["clientId"], int)
    assert "0.30000000000000004" not in sent.body
    assert sent.instruction == "orderExecute" and sent.verified


async def test_place_market_reduce_only(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    result = await api.place_order("BTC_USDC_PERP", "SELL", "0.02", reduce_only=True)
    assert result["status"] == "Filled" and result["type"] == "Market"
    body = orjson.loads(_posts(rest, "/api/v1/order")[0].body)
    assert body == {
        "symbol": "BTC_USDC_PERP",
        "side": "Ask",
        "orderType": "Market",
        "quantity": "0.02",
        "reduceOnly": True,
        "clientId": body["clientId"],
    }


async def test_exchange_rejection_is_a_dict(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    rest.fail(
        "POST",
        "/api/v1/order",
        status=400,
        body={"code": "INSUFFICIENT_MARGIN", "message": "Insufficient margin"},
    )
    result = await api.place_order("BTC_USDC_PERP", "BUY", 5, 97000, order_type="LIMIT")
    assert result["code"] == "INSUFFICIENT_MARGIN" and result["msg"] == "Insufficient margin"


async def test_local_validation_is_a_dict_and_sends_nothing(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    for bad in (
        api.place_order("BTC_USDC_PERP", "HOLD", 1, 97000, order_type="LIMIT"),
        api.place_order("BTC_USDC_PERP", "BUY", 0.000001, 97000, order_type="LIMIT"),
        api.place_order("BTC_USDC_PERP", "BUY", "abc", 97000, order_type="LIMIT"),
        api.place_order("BTC_USDC_PERP", "BUY", 1, order_type="LIMIT"),
        api.place_order("NOPE_USDC_PERP", "BUY", 1, 1, order_type="LIMIT"),
    ):
        result = await bad
        assert result["code"] and result["msg"]
    assert _posts(rest, "/api/v1/order") == []


async def test_place_order_with_depth(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    buy = await api.place_order_with_depth("BTC_USDC_PERP", "BUY", 0.01, depth_tolerance=0.001)
    sell = await api.place_order_with_depth("BTC_USDC_PERP", "SELL", 0.01, depth_tolerance=0.001)
    assert buy["orderId"] and sell["orderId"]
    bodies = [orjson.loads(r.body) for r in _posts(rest, "/api/v1/order")]
    # best ask 97012.5 x 1.001 = 97109.5125 -> 97109.5 ; best bid 97012.4 x 0.999 = 96915.3876 -> 96915.4
    assert bodies[0]["price"] == "97109.5" and bodies[0]["side"] == "Bid"
    assert bodies[1]["price"] == "96915.4" and bodies[1]["side"] == "Ask"
    assert all(
        r.query.get("symbol") == "BTC_USDC_PERP" for r in rest.requests if r.path == "/api/v1/depth"
    )


async def test_order_status_resting_then_history(api: BackpackAPI) -> None:
    resting = await api.get_order_status("BTC_USDC_PERP", "6142011842")
    assert resting["status"] == "New" and resting["orderId"] == "6142011842"
    history = load_fixture("rest_history_orders.json")
    done = history[0]
    finished = await api.get_order_status(done["symbol"], done["id"])
    assert finished["orderId"] == done["id"] and finished["status"] == done["status"]
    missing = await api.get_order_status("BTC_USDC_PERP", "1")
    assert missing["code"] == "RESOURCE_NOT_FOUND"


async def test_open_orders_and_cancels(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    orders = await api.get_open_orders()
    assert {o["orderId"] for o in orders} == {"6142011842", "6142011950"}
    assert all({"orderId", "symbol", "type"} <= o.keys() for o in orders)
    cancelled = await api.cancel_order("BTC_USDC_PERP", "6142011842")
    assert cancelled["status"] == "Cancelled"
    (cancel,) = [r for r in rest.requests if r.method == "DELETE" and r.path == "/api/v1/order"]
    assert orjson.loads(cancel.body) == {"orderId": "6142011842", "symbol": "BTC_USDC_PERP"}
    again = await api.cancel_order("BTC_USDC_PERP", "6142011842")
    assert again["code"] == "INVALID_CLIENT_REQUEST" and "not found" in again["msg"].lower()
    everything = await api.cancel_all_orders()
    assert [o["orderId"] for o in everything] == ["6142011950"]
    deletes = [
        orjson.loads(r.body)
        for r in rest.requests
        if r.method == "DELETE" and r.path == "/api/v1/orders"
    ]
    assert deletes == [{"symbol": "BTC_USDC_PERP"}]
    assert await api.get_open_orders() == []


async def test_cancel_all_for_one_symbol(api: BackpackAPI) -> None:
    cancelled = await api.cancel_all_orders("BTC_USDC_PERP")
    assert {o["orderId"] for o in cancelled} == {"6142011842", "6142011950"}


async def test_positions(api: BackpackAPI) -> None:
    btc = await api.get_position("BTC_USDC_PERP")
    assert btc is not None
    assert btc["quantity"] == 0.02 and btc["entryPrice"] == 97012.4
    assert (
        "unrealizedProfit" in btc and btc["netQuantity"] == "0.02000"
    )  # Backpack's own fields kept
    sol = await api.get_position("SOL_USDC_PERP")
    assert sol is not None and sol["quantity"] == -15.4 and sol["side"] == "SHORT"
    assert await api.get_position("ETH_USDC_PERP") is None
    assert {p["symbol"] for p in await api.get_positions()} == {"BTC_USDC_PERP", "SOL_USDC_PERP"}


async def test_orderbook_is_best_first(api: BackpackAPI) -> None:
    book = await api.get_orderbook("BTC_USDC_PERP")
    assert book["bids"][0] == [97012.4, 0.2041] and book["asks"][0] == [97012.5, 0.412]
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    assert [a[0] for a in book["asks"]] == sorted(a[0] for a in book["asks"])
    assert book["lastUpdateId"] == 2204871163


async def test_balances_and_account(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    balances = await api.get_balances()
    capital = load_fixture("rest_capital.json")
    assert {b["asset"] for b in balances} == set(capital)
    usdc = next(b for b in balances if b["asset"] == "USDC")
    assert usdc["available"] == float(capital["USDC"]["available"])
    assert set(usdc) >= {"asset", "available", "locked"}
    info = await api.get_account_info()
    assert info["status"] == "ACTIVE" and info["commissionTier"]["takerFee"] == "5"
    instructions = {r.instruction for r in rest.requests if r.verified}
    assert {"balanceQuery", "accountQuery"} <= instructions


async def test_transport_failure_raises() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with BackpackAPI(
        KEY["apiKeyBase64"],
        KEY["secretBase64"],
        base_url=f"http://127.0.0.1:{port}",
        ws_url=f"ws://127.0.0.1:{port}",
    ) as facade:
        facade.client.rest.max_retries = 0
        with pytest.raises(TransportError):
            await facade.get_balances()


async def test_a_lost_placement_answer_is_found_not_reported_failed(
    api: BackpackAPI, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    """The guide's facade takes the console's one send path: a 503 after the exchange
    accepted the order is settled by clientId, and the script gets the order."""
    rest, _ = servers
    rest.accept_then_fail("POST", "/api/v1/order", status=503)
    placed = await api.place_order("BTC_USDC_PERP", "BUY", 0.01, 96000.0, order_type="LIMIT")
    assert placed["orderId"] == rest.state.placed[0]["id"] and placed["status"] == "New"
    assert len(_posts(rest, "/api/v1/order")) == 1  # never re-sent
    [lookup] = rest.calls("GET", "/api/v1/order")
    assert lookup.query["clientId"] == str(placed["clientId"])
