"""A loopback Backpack REST server built from the fixtures, for client tests.

It is deliberately small and scriptable rather than realistic: it serves every
``tests/fixtures/rest_*.json`` payload, verifies each private request's signature the
way the exchange does (rebuilding the signing string from the *parsed* request,
docs/PROTOCOL.md "Signing"), records everything it received, and can be told to misbehave
(fail, delay, hang, or accept an order and then fail) so that retry and unknown-outcome
paths are exercised over a real socket.

The full local exchange lives in :mod:`bpx_tui.sim`; this fake exists so the client can
be tested without depending on it.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from multidict import CIMultiDict

from bpx_tui.exchange.signing import (
    DEFAULT_WINDOW_MS,
    MAX_WINDOW_MS,
    instruction_for,
    normalise_path,
    signing_string,
    verify,
)
from tests.conftest import load_fixture

Json = dict[str, Any]

TEST_KEY = load_fixture("signing_vectors.json")["key"]
TEST_SECRET: str = TEST_KEY["secretBase64"]
TEST_API_KEY: str = TEST_KEY["apiKeyBase64"]

ASSETS = [
    {
        "symbol": "BTC",
        "displayName": "Bitcoin",
        "coingeckoId": "bitcoin",
        "tokens": [
            {
                "blockchain": "Bitcoin",
                "contractAddress": None,
                "depositEnabled": True,
                "displayName": "Bitcoin",
                "minimumDeposit": "0.0001",
                "withdrawEnabled": True,
                "minimumWithdrawal": "0.0002",
                "maximumWithdrawal": None,
                "withdrawalFee": "0.0001",
            }
        ],
    }
]


@dataclass
class Recorded:
    """One request as it arrived on the socket."""

    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    query_string: str
    body: str
    headers: CIMultiDict[str]
    instruction: str | None = None
    signing_string: str | None = None
    verified: bool = False

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


@dataclass
class Fault:
    """A scripted misbehaviour for the next ``times`` calls of one route (None: forever)."""

    kind: str  # "respond" | "delay" | "hang" | "accept"
    status: int = 503
    body: bytes = b""
    content_type: str = "application/json"
    retry_after: str | None = None
    seconds: float = 0.0
    hang: bool = False
    times: int | None = 1

    def response(self) -> web.Response:
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else None
        return web.Response(
            status=self.status, body=self.body, content_type=self.content_type, headers=headers
        )


def _as_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return orjson.dumps(body)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _json(data: Any) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json", charset="utf-8")


def _text(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/plain")


@dataclass
class _State:
    """Mutable account state seeded from the fixtures."""

    resting: list[Json] = field(default_factory=list)
    history: list[Json] = field(default_factory=list)
    placed: list[Json] = field(default_factory=list)


class FakeRestServer:
    """Serve the fixtures on ``127.0.0.1:<free port>``; see the module docstring."""

    def __init__(
        self,
        api_key: str = TEST_API_KEY,
        *,
        clock_offset_ms: int = 0,
        future_tolerance_ms: int = 5000,
    ) -> None:
        self.api_key = api_key
        self.clock_offset_ms = clock_offset_ms
        self.future_tolerance_ms = future_tolerance_ms
        self.requests: list[Recorded] = []
        self.state = _State(
            resting=copy.deepcopy(load_fixture("rest_orders_open.json")),
            history=copy.deepcopy(load_fixture("rest_history_orders.json")),
        )
        self._faults: dict[tuple[str, str], list[Fault]] = {}
        self._ids = itertools.count(7_000_000_001)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        self._closing.set()  # releases every hanging handler
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeRestServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    # -- scripting ----------------------------------------------------------------------

    def _add(self, method: str, path: str, fault: Fault) -> None:
        self._faults.setdefault((method.upper(), normalise_path(path)), []).append(fault)

    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 503,
        body: Any = None,
        times: int | None = 1,
        retry_after: str | float | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Answer the next ``times`` calls with this status/body without executing them."""
        if body is None and status >= 400:
            body = {"code": "SERVER_ERROR", "message": "Unknown error"}
        self._add(
            method,
            path,
            Fault(
                "respond",
                status=status,
                body=_as_bytes(body),
                content_type=content_type,
                retry_after=None if retry_after is None else str(retry_after),
                times=times,
            ),
        )

    def respond(self, method: str, path: str, body: Any, *, status: int = 200, **kw: Any) -> None:
        """Replace a route's answer (default: forever)."""
        kw.setdefault("times", None)
        self.fail(method, path, status=status, body=body, **kw)

    def delay(self, method: str, path: str, seconds: float, *, times: int | None = 1) -> None:
        self._add(method, path, Fault("delay", seconds=seconds, times=times))

    def hang(self, method: str, path: str, *, times: int | None = 1) -> None:
        """Never answer (until the server closes): the client's timeout must fire."""
        self._add(method, path, Fault("hang", times=times))

    def accept_then_fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 503,
        body: Any = None,
        hang: bool = False,
        times: int | None = 1,
    ) -> None:
        """Execute the request (e.g. place the order), then answer an error or hang."""
        if body is None:
            body = {"code": "SERVICE_UNAVAILABLE", "message": "Unknown error, please try again"}
        fault = Fault("accept", status=status, body=_as_bytes(body), hang=hang, times=times)
        self._add(method, path, fault)

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method.upper() and r.path == path]

    def _take(self, method: str, path: str) -> Fault | None:
        queue = self._faults.get((method, path))
        if not queue:
            return None
        fault = queue[0]
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
        return fault

    async def _wait(self, seconds: float | None) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass

    # -- request handling ---------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        path = normalise_path(request.path)
        record = Recorded(
            method=request.method,
            path=path,
            raw_path=request.raw_path,
            query=dict(request.query),
            query_string=request.query_string,
            body=body,
            headers=CIMultiDict(request.headers),
        )
        self.requests.append(record)
        fault = self._take(request.method, path)
        if fault is not None:
            if fault.kind == "delay":
                await self._wait(fault.seconds)
            elif fault.kind == "hang":
                await self._wait(None)
                return _error(503, "SERVER_ERROR", "shutting down")
            elif fault.kind == "respond":
                return fault.response()
        instruction = instruction_for(request.method, path)
        if instruction is not None:
            refusal = self._authenticate(record, instruction)
            if refusal is not None:
                return refusal
        response = self._route(record)
        if fault is not None and fault.kind == "accept":
            if fault.hang:
                await self._wait(None)
            return fault.response()
        return response

    def _authenticate(self, record: Recorded, instruction: str) -> web.Response | None:
        headers = record.headers
        key, signature = headers.get("X-API-Key"), headers.get("X-Signature")
        timestamp, window = headers.get("X-Timestamp"), headers.get("X-Window")
        if not key or not signature or not timestamp:
            return _error(401, "UNAUTHORIZED", "Missing authentication headers")
        try:
            ts = int(timestamp)
            win = int(window) if window is not None else DEFAULT_WINDOW_MS
        except ValueError:
            return _error(400, "INVALID_CLIENT_REQUEST", "Invalid X-Timestamp header")
        if not 0 < win <= MAX_WINDOW_MS:
            return _error(400, "INVALID_CLIENT_REQUEST", "Invalid X-Window header")
        params: Any
        if record.body:
            if "application/json" not in headers.get("Content-Type", ""):
                return _error(400, "INVALID_CLIENT_REQUEST", "Expected a JSON body")
            try:
                params = orjson.loads(record.body)
            except orjson.JSONDecodeError:
                return _error(400, "INVALID_CLIENT_REQUEST", "Invalid JSON body")
        else:
            params = record.query
        try:
            message = signing_string(instruction, params, ts, win)
        except (TypeError, AttributeError):
            return _error(400, "INVALID_CLIENT_REQUEST", "Invalid request body")
        record.instruction, record.signing_string = instruction, message
        if key != self.api_key:
            return _error(401, "UNAUTHORIZED", "Invalid API key")
        if not verify(key, signature, message):
            return _error(400, "INVALID_CLIENT_REQUEST", "Invalid signature")
        now = self.now_ms()
        if now > ts + win:
            return _error(400, "INVALID_CLIENT_REQUEST", "Request has expired")
        if ts > now + self.future_tolerance_ms:
            return _error(400, "INVALID_CLIENT_REQUEST", "Invalid X-Timestamp header")
        record.verified = True
        return None

    def _route(self, record: Recorded) -> web.Response:
        handler = _ROUTES.get((record.method, record.path))
        if handler is None:
            return web.Response(status=404, text="Not Found", content_type="text/plain")
        return handler(self, record)

    # -- endpoints ----------------------------------------------------------------------

    def _fixture(self, name: str) -> Any:
        return load_fixture(name)

    def _by_symbol(self, rows: list[Json], query: Mapping[str, str]) -> list[Json]:
        symbol = query.get("symbol")
        return [r for r in rows if symbol is None or r.get("symbol") == symbol]

    def _markets(self, record: Recorded) -> web.Response:
        return _json(self._fixture("rest_markets.json"))

    def _market(self, record: Recorded) -> web.Response:
        rows = self._by_symbol(self._fixture("rest_markets.json"), record.query)
        if "symbol" not in record.query or not rows:
            return _error(400, "INVALID_MARKET", "Invalid market")
        return _json(rows[0])

    def _ticker(self, record: Recorded) -> web.Response:
        rows = self._by_symbol(self._fixture("rest_tickers.json"), record.query)
        if not rows:
            return web.Response(status=204)
        return _json(rows[0])

    def _trades(self, record: Recorded) -> web.Response:
        rows = self._fixture("rest_trades.json")
        limit = int(record.query.get("limit", len(rows)))
        return _json(rows[-limit:])

    def _time(self, record: Recorded) -> web.Response:
        return _text(str(self.now_ms()))

    def _ping(self, record: Recorded) -> web.Response:
        return _text("pong")

    def _assets(self, record: Recorded) -> web.Response:
        return _json(ASSETS)

    # private

    def _find(self, rows: list[Json], ref: Mapping[str, Any]) -> Json | None:
        for row in rows:
            if "orderId" in ref and str(row.get("id")) == str(ref["orderId"]):
                return row
            if "clientId" in ref and str(row.get("clientId")) == str(ref["clientId"]):
                return row
        return None

    def _new_order(self, payload: Json) -> Json:
        is_market = payload.get("orderType") == "Market"
        base = self._fixture(
            "rest_order_execute_response_market.json"
            if is_market
            else "rest_order_execute_response_limit.json"
        )
        order = {
            **base,
            **{k: v for k, v in payload.items() if k in base or k == "clientId"},
            "id": str(next(self._ids)),
            "createdAt": self.now_ms(),
            "status": "Filled" if is_market else "New",
            "executedQuantity": payload.get("quantity", "0") if is_market else "0",
        }
        order.setdefault("clientId", None)
        self.state.placed.append(order)
        if is_market:
            self.state.history.insert(0, order)
        else:
            self.state.resting.append(order)
        return order

    def _execute(self, record: Recorded) -> web.Response:
        payload = record.json()
        if not isinstance(payload, dict):
            return _error(400, "INVALID_CLIENT_REQUEST", "Expected an order object")
        return _json(self._new_order(payload))

    def _execute_batch(self, record: Recorded) -> web.Response:
        payload = record.json()
        if not isinstance(payload, list):
            return _error(400, "INVALID_CLIENT_REQUEST", "Expected an array of orders")
        return _json([{"operation": "Ok", **self._new_order(item)} for item in payload])

    def _get_order(self, record: Recorded) -> web.Response:
        found = self._find(self._by_symbol(self.state.resting, record.query), record.query)
        if found is None:
            return _error(404, "RESOURCE_NOT_FOUND", "Order not found")
        return _json(found)

    def _open_orders(self, record: Recorded) -> web.Response:
        return _json(self._by_symbol(self.state.resting, record.query))

    def _cancel(self, record: Recorded) -> web.Response:
        body = record.json()
        found = self._find(self._by_symbol(self.state.resting, body), body)
        if found is None:
            return _error(400, "INVALID_CLIENT_REQUEST", "Order not found")
        self.state.resting.remove(found)
        cancelled = {**found, "status": "Cancelled"}
        self.state.history.insert(0, cancelled)
        return _json(cancelled)

    def _cancel_all(self, record: Recorded) -> web.Response:
        body = record.json()
        kind = body.get("orderType")
        chosen = [
            o
            for o in self._by_symbol(self.state.resting, body)
            if kind is None or (kind == "ConditionalOrder") == (o.get("triggerPrice") is not None)
        ]
        for order in chosen:
            self.state.resting.remove(order)
        return _json([{**o, "status": "Cancelled"} for o in chosen])

    def _order_history(self, record: Recorded) -> web.Response:
        rows = self._by_symbol(self.state.history, record.query)
        if "orderId" in record.query:
            rows = [r for r in rows if r.get("id") == record.query["orderId"]]
        offset = int(record.query.get("offset", 0))
        limit = int(record.query.get("limit", 100))
        return _json(rows[offset : offset + limit])

    def _positions(self, record: Recorded) -> web.Response:
        rows = self._by_symbol(self._fixture("rest_position.json"), record.query)
        if "symbol" in record.query and not rows:
            return _error(404, "RESOURCE_NOT_FOUND", "Position not found")
        return _json(rows)

    def _order_limit(self, record: Recorded) -> web.Response:
        return _json({"maxOrderQuantity": "1.25", **record.query})


@pytest.fixture
async def fake_rest_server() -> AsyncIterator[FakeRestServer]:
    """A started fake; import this name into a test module to use it as a fixture."""
    async with FakeRestServer() as server:
        yield server


def _serve(name: str) -> Any:
    """A route answering one fixture as it is."""

    def handler(server: FakeRestServer, record: Recorded) -> web.Response:
        return _json(server._fixture(name))

    return handler


def _serve_filtered(name: str) -> Any:
    """A route answering a list fixture filtered by the ``symbol`` query parameter."""

    def handler(server: FakeRestServer, record: Recorded) -> web.Response:
        return _json(server._by_symbol(server._fixture(name), record.query))

    return handler


_ROUTES: dict[tuple[str, str], Any] = {
    ("GET", "/api/v1/markets"): FakeRestServer._markets,
    ("GET", "/api/v1/market"): FakeRestServer._market,
    ("GET", "/api/v1/ticker"): FakeRestServer._ticker,
    ("GET", "/api/v1/tickers"): _serve("rest_tickers.json"),
    ("GET", "/api/v1/depth"): _serve("rest_depth.json"),
    ("GET", "/api/v1/trades"): FakeRestServer._trades,
    ("GET", "/api/v1/klines"): _serve("rest_klines.json"),
    ("GET", "/api/v1/markPrices"): _serve_filtered("rest_markPrices.json"),
    ("GET", "/api/v1/fundingRates"): _serve_filtered("rest_fundingRates.json"),
    ("GET", "/api/v1/openInterest"): _serve_filtered("rest_openInterest.json"),
    ("GET", "/api/v1/status"): _serve("rest_status.json"),
    ("GET", "/api/v1/ping"): FakeRestServer._ping,
    ("GET", "/api/v1/time"): FakeRestServer._time,
    ("GET", "/api/v1/assets"): FakeRestServer._assets,
    ("POST", "/api/v1/order"): FakeRestServer._execute,
    ("POST", "/api/v1/orders"): FakeRestServer._execute_batch,
    ("GET", "/api/v1/order"): FakeRestServer._get_order,
    ("GET", "/api/v1/orders"): FakeRestServer._open_orders,
    ("DELETE", "/api/v1/order"): FakeRestServer._cancel,
    ("DELETE", "/api/v1/orders"): FakeRestServer._cancel_all,
    ("GET", "/wapi/v1/history/orders"): FakeRestServer._order_history,
    ("GET", "/wapi/v1/history/fills"): _serve_filtered("rest_history_fills.json"),
    ("GET", "/wapi/v1/history/funding"): _serve_filtered("rest_history_funding.json"),
    ("GET", "/api/v1/position"): FakeRestServer._positions,
    ("GET", "/api/v1/capital"): _serve("rest_capital.json"),
    ("GET", "/api/v1/capital/collateral"): _serve("rest_capital_collateral.json"),
    ("GET", "/api/v1/account"): _serve("rest_account.json"),
    ("GET", "/api/v1/account/limits/order"): FakeRestServer._order_limit,
}
