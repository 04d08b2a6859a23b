"""REST side of the local exchange over real loopback sockets: every route, status and shape."""

from __future__ import annotations

import aiohttp
import pytest

from bpx_tui.exchange.signing import generate_secret
from bpx_tui.sim.server import SimServer
from tests.sim.conftest import Api

SYMBOL = "BTC_USDC_PERP"
JSON = "application/json"


async def _get(
    http: aiohttp.ClientSession, sim: SimServer, path: str, **params: str
) -> tuple[int, str, object]:
    async with http.get(sim.rest_url + path, params=params) as resp:
        body = await resp.json() if resp.content_type == JSON else await resp.text()
        return resp.status, resp.content_type, body


def _decimal_strings(obj: dict[str, object], *keys: str) -> None:
    for key in keys:
        value = obj[key]
        assert isinstance(value, str), (key, value)
        float(value)


async def test_ping_and_time_are_plain_text(sim: SimServer, http: aiohttp.ClientSession) -> None:
    assert await _get(http, sim, "/api/v1/ping") == (200, "text/plain", "pong")
    sim.clock.freeze(1_763_900_000_123_456)
    status, ctype, body = await _get(http, sim, "/api/v1/time")
    assert (status, ctype, body) == (200, "text/plain", "1763900000123")


async def test_status_and_plausible_probe_endpoints(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    assert await _get(http, sim, "/api/v1/status") == (200, JSON, {"status": "Ok", "message": None})
    for path in ("/api/v1/securities", "/api/v1/wallets", "/api/v1/collateral"):
        status, ctype, body = await _get(http, sim, path)
        assert (status, ctype) == (200, JSON) and isinstance(body, list)
    _, _, collateral = await _get(http, sim, "/api/v1/collateral")
    assert isinstance(collateral, list) and {"symbol", "haircutFunction"} <= set(collateral[0])


async def test_assets_markets_market(sim: SimServer, http: aiohttp.ClientSession) -> None:
    status, ctype, assets = await _get(http, sim, "/api/v1/assets")
    assert (status, ctype) == (200, JSON)
    assert isinstance(assets, list) and "USDC" in {a["symbol"] for a in assets}
    _, _, markets = await _get(http, sim, "/api/v1/markets")
    assert isinstance(markets, list)
    symbols = {m["symbol"] for m in markets}
    assert SYMBOL in symbols and set(sim.engine.symbols) == symbols
    _, _, perps = await _get(http, sim, "/api/v1/markets", marketType="PERP")
    assert isinstance(perps, list) and perps and all(m["marketType"] == "PERP" for m in perps)
    status, _, market = await _get(http, sim, "/api/v1/market", symbol=SYMBOL)
    assert status == 200 and isinstance(market, dict)
    assert market["symbol"] == SYMBOL and market["filters"]["price"]["tickSize"]


async def test_ticker_tickers_depth_trades(sim: SimServer, http: aiohttp.ClientSession) -> None:
    sim.step(200)
    status, _, ticker = await _get(http, sim, "/api/v1/ticker", symbol=SYMBOL)
    assert status == 200 and isinstance(ticker, dict)
    _decimal_strings(ticker, "lastPrice", "high", "low", "volume")
    _, _, tickers = await _get(http, sim, "/api/v1/tickers")
    assert isinstance(tickers, list) and SYMBOL in {t["symbol"] for t in tickers}
    _, _, depth = await _get(http, sim, "/api/v1/depth", symbol=SYMBOL, limit="5")
    assert isinstance(depth, dict)
    assert isinstance(depth["lastUpdateId"], str) and isinstance(depth["timestamp"], int)
    assert 0 < len(depth["asks"]) <= 5 and 0 < len(depth["bids"]) <= 5
    asks = [float(p) for p, _ in depth["asks"]]
    bids = [float(p) for p, _ in depth["bids"]]
    assert asks == sorted(asks) and bids == sorted(bids) and bids[-1] < asks[0]
    status, _, trades = await _get(http, sim, "/api/v1/trades", symbol=SYMBOL, limit="10")
    assert status == 200 and isinstance(trades, list) and len(trades) <= 10
    if trades:
        assert {"price", "quantity", "timestamp", "isBuyerMaker"} <= set(trades[0])
    status, _, history = await _get(
        http, sim, "/api/v1/trades/history", symbol=SYMBOL, limit="5", offset="1"
    )
    assert status == 200 and isinstance(history, list) and len(history) <= 5


async def test_klines_mark_prices_funding_open_interest(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    sim.step(100)
    sim.advance()
    start = str(sim.clock.now_ms() // 1000 - 3600)
    status, _, klines = await _get(
        http, sim, "/api/v1/klines", symbol=SYMBOL, interval="1m", startTime=start
    )
    assert status == 200 and isinstance(klines, list)
    if klines:
        assert {"start", "end", "open", "close", "volume", "trades"} <= set(klines[0])
    _, _, marks = await _get(http, sim, "/api/v1/markPrices")
    assert isinstance(marks, list) and marks
    _decimal_strings(marks[0], "markPrice", "indexPrice", "fundingRate")
    assert isinstance(marks[0]["nextFundingTimestamp"], int)
    status, _, one = await _get(http, sim, "/api/v1/markPrices", symbol=SYMBOL)
    assert isinstance(one, list) and [m["symbol"] for m in one] == [SYMBOL]
    async with http.get(sim.rest_url + "/api/v1/fundingRates", params={"symbol": SYMBOL}) as resp:
        assert resp.status == 200 and isinstance(await resp.json(), list)
        assert {"X-PAGE-COUNT", "X-CURRENT-PAGE", "X-PAGE-SIZE", "X-TOTAL"} <= set(resp.headers)
    status, _, oi = await _get(http, sim, "/api/v1/openInterest", symbol=SYMBOL)
    assert status == 200 and isinstance(oi, list) and oi[0]["symbol"] == SYMBOL


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/depth", {"symbol": SYMBOL, "limit": "abc"}),
        ("/api/v1/depth", {"symbol": SYMBOL, "limit": "7"}),
        ("/api/v1/depth", {}),
        ("/api/v1/trades", {"symbol": SYMBOL, "limit": "-1"}),
        ("/api/v1/klines", {"symbol": SYMBOL, "interval": "1m"}),
        ("/api/v1/klines", {"symbol": SYMBOL, "interval": "7m", "startTime": "1"}),
        ("/api/v1/klines", {"symbol": SYMBOL, "interval": "1m", "startTime": "yesterday"}),
        ("/api/v1/ticker", {"symbol": SYMBOL, "interval": "1y"}),
        ("/api/v1/fundingRates", {"symbol": SYMBOL, "offset": "x"}),
    ],
)
async def test_wrong_query_is_a_backpack_400(
    sim: SimServer, http: aiohttp.ClientSession, path: str, params: dict[str, str]
) -> None:
    status, ctype, body = await _get(http, sim, path, **params)
    assert (status, ctype) == (400, JSON)
    assert isinstance(body, dict) and body["code"] == "INVALID_CLIENT_REQUEST" and body["message"]


async def test_unknown_symbol_is_an_error_body_not_a_crash(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    for path in ("/api/v1/depth", "/api/v1/ticker", "/api/v1/market", "/api/v1/trades"):
        status, ctype, body = await _get(http, sim, path, symbol="NOPE_USDC")
        assert 400 <= status < 500 and ctype == JSON
        assert isinstance(body, dict) and set(body) == {"code", "message"}


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing", "/wapi/v1/nothing", "/api/v2/markets", "/favicon.ico"]
)
async def test_unknown_paths_are_json_404(
    sim: SimServer, http: aiohttp.ClientSession, path: str
) -> None:
    assert await _get(http, sim, path) == (
        404,
        JSON,
        {"code": "RESOURCE_NOT_FOUND", "message": "Not found"},
    )


async def test_wrong_method_is_a_json_error(sim: SimServer, http: aiohttp.ClientSession) -> None:
    async with http.post(sim.rest_url + "/api/v1/markets") as resp:
        assert resp.status == 405 and (await resp.json())["code"]


# ---------------------------------------------------------------------- private


async def _prices(api: Api) -> tuple[float, float]:
    depth = await api.ok("GET", "/api/v1/depth", params={"symbol": SYMBOL})
    return float(depth["bids"][-1][0]), float(depth["asks"][0][0])


async def _passive_bid(api: Api, client_id: int) -> dict[str, object]:
    bid, _ = await _prices(api)
    body = {
        "symbol": SYMBOL,
        "side": "Bid",
        "orderType": "Limit",
        "price": f"{round(bid * 0.97, 1)}",
        "quantity": "0.001",
        "clientId": client_id,
        "postOnly": True,
    }
    order: dict[str, object] = await api.ok("POST", "/api/v1/order", body=body)
    return order


async def test_private_routes_require_signature_and_known_key(
    sim: SimServer, http: aiohttp.ClientSession, api: Api
) -> None:
    status, body, _ = await api.call("GET", "/api/v1/capital", signed=False)
    assert status == 401 and body["code"] == "UNAUTHORIZED"
    stranger = Api(http, sim, secret=generate_secret())
    status, body, _ = await stranger.call("GET", "/api/v1/capital")
    assert status == 401 and body["code"] == "UNAUTHORIZED"
    headers = api.signer.headers("balanceQuery", {})
    headers["x-signature"] = (
        headers.pop("X-Signature")[:-4] + "AAA="
    )  # lower-case header name, bad sig
    async with http.get(sim.rest_url + "/api/v1/capital", headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["message"] in ("Invalid signature", "Invalid X-Signature header")


async def test_expired_request_over_http(
    sim: SimServer, http: aiohttp.ClientSession, api: Api
) -> None:
    sim.clock.freeze()
    headers = api.signer.headers("balanceQuery", {})
    sim.clock.advance(6)
    async with http.get(sim.rest_url + "/api/v1/capital", headers=headers) as resp:
        assert resp.status == 400
        assert await resp.json() == {
            "code": "INVALID_CLIENT_REQUEST",
            "message": "Request has expired",
        }


async def test_order_lifecycle(sim: SimServer, api: Api) -> None:
    order = await _passive_bid(api, 501)
    assert order["status"] == "New" and order["clientId"] == 501 and isinstance(order["id"], str)
    assert isinstance(order["createdAt"], int)
    by_id = await api.ok("GET", "/api/v1/order", params={"symbol": SYMBOL, "orderId": order["id"]})
    by_client = await api.ok("GET", "/api/v1/order", params={"symbol": SYMBOL, "clientId": 501})
    assert by_id["id"] == by_client["id"] == order["id"]
    open_orders = await api.ok("GET", "/api/v1/orders", params={"symbol": SYMBOL})
    assert [o["id"] for o in open_orders] == [order["id"]]
    assert await api.ok("GET", "/api/v1/orders") == open_orders
    cancelled = await api.ok(
        "DELETE", "/api/v1/order", body={"symbol": SYMBOL, "orderId": order["id"]}
    )
    assert cancelled["status"] == "Cancelled"
    status, body, _ = await api.call(
        "GET", "/api/v1/order", params={"symbol": SYMBOL, "orderId": order["id"]}
    )
    assert status == 404 and body["code"] == "RESOURCE_NOT_FOUND"
    status, body, _ = await api.call(
        "DELETE", "/api/v1/order", body={"symbol": SYMBOL, "orderId": order["id"]}
    )
    assert status == 400 and body["message"] == "Order not found"


@pytest.mark.parametrize(
    "body",
    [
        {"symbol": SYMBOL},
        {"symbol": SYMBOL, "orderId": "1", "clientId": 1},
        {"symbol": SYMBOL, "clientId": "abc"},
        {"orderId": "1"},
    ],
)
async def test_cancel_with_bad_reference_is_400(api: Api, body: dict[str, object]) -> None:
    status, resp, _ = await api.call("DELETE", "/api/v1/order", body=body)
    assert status == 400 and resp["code"] == "INVALID_CLIENT_REQUEST"


async def test_order_body_must_be_an_object_and_json(
    sim: SimServer, http: aiohttp.ClientSession, api: Api
) -> None:
    headers = api.signer.headers("orderExecute", {})
    for payload in (b'["x"]', b'"text"', b"[]"):
        async with http.post(sim.rest_url + "/api/v1/order", data=payload, headers=headers) as resp:
            assert resp.status == 400
            assert (await resp.json())["code"] == "INVALID_CLIENT_REQUEST"
    headers = api.signer.headers("orderExecute", {})
    async with http.post(sim.rest_url + "/api/v1/order", data=b"{oops", headers=headers) as resp:
        assert resp.status == 400 and (await resp.json())["message"] == "Invalid JSON body"


async def test_batch_orders_mix_ok_and_err(sim: SimServer, api: Api) -> None:
    bid, ask = await _prices(api)
    batch = [
        {
            "symbol": SYMBOL,
            "side": "Bid",
            "orderType": "Limit",
            "price": f"{round(bid * 0.97, 1)}",
            "quantity": "0.001",
            "clientId": 1,
        },
        {"symbol": "NOPE_USDC", "side": "Bid", "orderType": "Limit", "price": "1", "quantity": "1"},
        {
            "symbol": SYMBOL,
            "side": "Ask",
            "orderType": "Limit",
            "price": f"{round(ask * 1.03, 1)}",
            "quantity": "0.001",
            "reduceOnly": False,
        },
    ]
    result = await api.ok("POST", "/api/v1/orders", body=batch)
    assert [r["operation"] for r in result] == ["Ok", "Err", "Ok"]
    assert result[0]["clientId"] == 1 and result[1]["code"] and result[1]["message"]
    cancelled = await api.ok("DELETE", "/api/v1/orders", body={"symbol": SYMBOL})
    assert sorted(o["id"] for o in cancelled) == sorted([result[0]["id"], result[2]["id"]])
    assert await api.ok("GET", "/api/v1/orders", params={"symbol": SYMBOL}) == []


async def test_account_capital_collateral_limits(api: Api) -> None:
    capital = await api.ok("GET", "/api/v1/capital")
    assert isinstance(capital, dict) and {"available", "locked", "staked"} <= set(capital["USDC"])
    collateral = await api.ok("GET", "/api/v1/capital/collateral")
    assert {"netEquity", "netEquityAvailable", "collateral"} <= set(collateral)
    account = await api.ok("GET", "/api/v1/account")
    assert isinstance(account["leverageLimit"], str) and isinstance(account["limitOrders"], int)
    bid, _ = await _prices(api)
    limits = await api.ok(
        "GET",
        "/api/v1/account/limits/order",
        params={"symbol": SYMBOL, "side": "Bid", "price": f"{round(bid, 1)}"},
    )
    assert float(limits["maxOrderQuantity"]) > 0


async def test_positions_and_histories(api: Api) -> None:
    assert await api.ok("GET", "/api/v1/position") == []
    status, body, _ = await api.call("GET", "/api/v1/position", params={"symbol": SYMBOL})
    assert status == 404 and body["code"] == "RESOURCE_NOT_FOUND"
    filled = await api.ok(
        "POST",
        "/api/v1/order",
        body={
            "symbol": SYMBOL,
            "side": "Bid",
            "orderType": "Market",
            "quantity": "0.01",
            "clientId": 7,
        },
    )
    assert filled["status"] == "Filled"
    (position,) = await api.ok("GET", "/api/v1/position", params={"symbol": SYMBOL})
    assert position["symbol"] == SYMBOL and float(position["netQuantity"]) == 0.01
    status, fills, headers = await api.call(
        "GET", "/wapi/v1/history/fills", params={"symbol": SYMBOL, "limit": 1}
    )
    assert status == 200 and len(fills) == 1 and fills[0]["side"] == "Bid"
    assert headers["X-PAGE-SIZE"] == "1" and headers["X-CURRENT-PAGE"] == "1"
    status, orders, headers = await api.call(
        "GET", "/wapi/v1/history/orders", params={"symbol": SYMBOL}
    )
    assert status == 200 and filled["id"] in {o["id"] for o in orders}
    assert {"X-PAGE-COUNT", "X-TOTAL"} <= set(headers)
    status, funding, _ = await api.call("GET", "/wapi/v1/history/funding")
    assert status == 200 and isinstance(funding, list)
    status, body, _ = await api.call("GET", "/wapi/v1/history/fills", params={"limit": "many"})
    assert status == 400 and body["code"] == "INVALID_CLIENT_REQUEST"


async def test_engine_errors_keep_backpack_shape(api: Api) -> None:
    status, body, _ = await api.call(
        "POST",
        "/api/v1/order",
        body={
            "symbol": SYMBOL,
            "side": "Bid",
            "orderType": "Limit",
            "price": "1.23456789",
            "quantity": "0.001",
        },
    )
    assert status == 400 and set(body) == {"code", "message"}


async def test_market_type_filter_accepts_repeated_values(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(
        sim.rest_url + "/api/v1/markets", params=[("marketType", "PERP"), ("marketType", "SPOT")]
    ) as resp:
        types = {m["marketType"] for m in await resp.json()}
    assert types == {"PERP", "SPOT"}


async def test_capital_movements_are_empty_but_signed(api: Api) -> None:
    assert await api.ok("GET", "/wapi/v1/capital/deposits") == []
    assert await api.ok("GET", "/wapi/v1/capital/withdrawals") == []
    status, _, _ = await api.call("GET", "/wapi/v1/capital/deposits", signed=False)
    assert status == 401


async def test_signature_headers_are_case_insensitive(
    sim: SimServer, http: aiohttp.ClientSession, api: Api
) -> None:
    headers = {k.lower(): v for k, v in api.signer.headers("balanceQuery", {}).items()}
    async with http.get(sim.rest_url + "/api/v1/capital", headers=headers) as resp:
        assert resp.status == 200 and "USDC" in await resp.json()
    headers = {k.upper(): v for k, v in api.signer.headers("balanceQuery", {}).items()}
    async with http.get(sim.rest_url + "/api/v1/capital", headers=headers) as resp:
        assert resp.status == 200
