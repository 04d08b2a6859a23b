"""REST side of the local exchange: Backpack's paths, parameters, statuses and bodies.

Handlers are thin: parse and type-check the request the way Backpack's front end does
(a wrong type is a 400 with a Backpack-style body, never a traceback), verify the
signature for private routes, call the engine, and encode its JSON-ready answer with
orjson. Everything that decides *what* the answer is lives in the engine.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from bpx_tui.exchange.numbers import wire
from bpx_tui.exchange.signing import instruction_for
from bpx_tui.sim.errors import SimError, bad_request, shown
from bpx_tui.sim.numbers import parse_integer
from bpx_tui.sim.venue.payload import decode_order
from bpx_tui.sim.wire.auth import AuthPolicy, unauthorized, verify_request
from bpx_tui.sim.wire.faults import Faults, OrderFault
from bpx_tui.sim.wire.websocket import KLINE_INTERVALS

if TYPE_CHECKING:
    from bpx_tui.sim.venue.engine import Engine

log = logging.getLogger("bpx_tui.sim.rest")

DEPTH_LIMITS = frozenset({5, 10, 20, 50, 100, 500, 1000})
PRICE_TYPES = frozenset({"Last", "Index", "Mark"})
HISTORY_LIMIT_MAX = 1000
PAST_PAUSE_S = 0.005
"""Pause between two markets' pasts made for a first ``/tickers``: a real wait, not only
a turn of the loop, so what else is running (in the demo, the console's start) goes
first; the universe's first ``/tickers`` takes ~0.5 s instead of ~0.3 s."""
JSON = "application/json"
INTERNAL_ERROR = SimError(500, "SERVER_ERROR", "Internal server error")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return wire(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body, default=_json_default),
        status=status,
        content_type=JSON,
        charset="utf-8",
        headers=headers,
    )


def error_response(error: SimError, headers: Mapping[str, str] | None = None) -> web.Response:
    return json_response(error.body(), error.status, headers)


class Params:
    """Typed access to query (or body) fields with Backpack-style 400s on bad input."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def text(
        self, name: str, *, required: bool = False, choices: frozenset[str] | None = None
    ) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"Missing required parameter `{name}`")
            return None
        if not isinstance(value, str):
            raise bad_request(f"Invalid `{name}`: expected a string")
        if choices is not None and value not in choices:
            raise bad_request(
                f"failed to parse parameter `{name}`: {shown(value)} "
                "Expect a valid enumeration value."
            )
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise bad_request(f"Missing required parameter `{name}`")
            return None
        return parse_integer(value, name, minimum=minimum, maximum=maximum)


@dataclass
class Call:
    """One parsed request as a handler sees it."""

    request: web.Request
    query: Params
    body: Any
    account_id: int

    @property
    def fields(self) -> Params:
        """Body fields, or the query when a DELETE arrived without a body."""
        if isinstance(self.body, Mapping) and self.body:
            return Params(self.body)
        return self.query


Handler = Callable[[Call], Any]


async def read_json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request("Invalid JSON body") from None


class RestApi:
    """Backpack's REST surface over one engine."""

    def __init__(
        self,
        engine: Engine,
        faults: Faults,
        now_ms: Callable[[], int],
        auth_policy: AuthPolicy,
        stopping: asyncio.Event,
    ) -> None:
        self.engine = engine
        self.faults = faults
        self.now_ms = now_ms
        self.auth_policy = auth_policy
        self.stopping = stopping
        self.requests = 0

    # ------------------------------------------------------------------ wiring

    def install(self, app: web.Application) -> None:
        e = self.engine
        public: dict[str, Handler] = {
            "/api/v1/assets": lambda c: e.assets(),
            "/api/v1/markets": self.markets,
            "/api/v1/market": lambda c: e.market(self._symbol(c.query)),
            "/api/v1/ticker": self.ticker,
            "/api/v1/tickers": self.tickers,
            "/api/v1/depth": self.depth,
            "/api/v1/trades": self.trades,
            "/api/v1/trades/history": self.trades_history,
            "/api/v1/klines": self.klines,
            "/api/v1/markPrices": lambda c: e.mark_prices(c.query.text("symbol")),
            "/api/v1/fundingRates": self.funding_rates,
            "/api/v1/openInterest": lambda c: e.open_interest(c.query.text("symbol")),
            "/api/v1/status": lambda c: {"status": "Ok", "message": None},
            "/api/v1/ping": lambda c: web.Response(text="pong", content_type="text/plain"),
            "/api/v1/time": lambda c: web.Response(
                text=str(self.now_ms()), content_type="text/plain"
            ),
            "/api/v1/wallets": lambda c: [
                {"blockchain": "Solana", "address": "SimWa11et1111111111111111111111111111111111"}
            ],
            "/api/v1/securities": lambda c: [],
            "/api/v1/collateral": self.collateral_params,
            "/api/v1/borrowLend/markets": lambda c: [],
        }
        for path, handler in public.items():
            app.router.add_get(path, self._route(handler, None))
        private: dict[tuple[str, str], Handler] = {
            ("POST", "/api/v1/order"): self.execute_order,
            ("DELETE", "/api/v1/order"): self.cancel_order,
            ("GET", "/api/v1/order"): self.get_order,
            ("POST", "/api/v1/orders"): self.execute_orders,
            ("DELETE", "/api/v1/orders"): self.cancel_all,
            ("GET", "/api/v1/orders"): self.open_orders,
            ("GET", "/api/v1/position"): lambda c: e.positions(
                c.account_id, c.query.text("symbol")
            ),
            ("GET", "/api/v1/capital"): lambda c: e.capital(c.account_id),
            ("GET", "/api/v1/capital/collateral"): lambda c: e.collateral(c.account_id),
            ("GET", "/api/v1/account"): lambda c: e.account(c.account_id),
            ("PATCH", "/api/v1/account"): lambda c: e.update_account(c.account_id, c.body),
            ("GET", "/api/v1/account/limits/order"): lambda c: e.max_order_quantity(
                c.account_id, dict(c.query.values)
            ),
            ("GET", "/wapi/v1/history/orders"): self.history(e.order_history),
            ("GET", "/wapi/v1/history/fills"): self.history(e.fill_history),
            ("GET", "/wapi/v1/history/funding"): self.history(e.funding_history),
            # The local exchange has no chain: demo accounts are funded at creation, so
            # the truthful answer to "which deposits/withdrawals" is none.
            ("GET", "/wapi/v1/capital/deposits"): lambda c: [],
            ("GET", "/wapi/v1/capital/withdrawals"): lambda c: [],
        }
        for (method, path), handler in private.items():
            instruction = instruction_for(method, path)
            assert instruction is not None, path
            app.router.add_route(method, path, self._route(handler, instruction))

    def _route(
        self, handler: Handler, instruction: str | None
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            self.requests += 1
            query = {key: value for key, value in request.query.items()}
            body = None if request.method == "GET" else await read_json_body(request)
            account_id = -1
            if instruction is not None:
                api_key = verify_request(
                    instruction, request.headers, query, body, self.now_ms(), self.auth_policy
                )
                found = self.engine.account_for_key(api_key)
                if found is None:
                    raise unauthorized("Invalid API key")
                account_id = found
            result = handler(Call(request, Params(query), body, account_id))
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, web.StreamResponse):
                return result
            return json_response(result)

        return endpoint

    # ------------------------------------------------------------------ public

    @staticmethod
    def _symbol(params: Params) -> str:
        symbol = params.text("symbol", required=True)
        assert symbol is not None
        return symbol

    def markets(self, call: Call) -> Any:
        wanted = call.request.query.getall("marketType", [])
        markets = self.engine.markets()
        if not wanted:
            return markets
        types = {part.strip() for value in wanted for part in value.split(",") if part.strip()}
        return [m for m in markets if m.get("marketType") in types]

    def ticker(self, call: Call) -> Any:
        call.query.text("interval", choices=frozenset({"1d", "1w"}))
        return self.engine.ticker(self._symbol(call.query))

    async def tickers(self, call: Call) -> Any:
        call.query.text("interval", choices=frozenset({"1d", "1w"}))
        # The first 24 h ticker of a market makes its day of history (~10 ms each, a
        # third of a second for the universe): made one market at a time, yielding in
        # between, so the first /tickers never holds the loop for all of them -- in the
        # demo the console shares this loop and its first book waits behind it.
        for data in self.engine.data.values():
            if data.past_pending:
                data.load_past()
                await asyncio.sleep(PAST_PAUSE_S)
        return self.engine.tickers()

    def depth(self, call: Call) -> Any:
        limit = call.query.integer("limit")
        if limit is not None and limit not in DEPTH_LIMITS:
            raise bad_request(
                f"Invalid `limit`: must be one of {', '.join(map(str, sorted(DEPTH_LIMITS)))}"
            )
        return self.engine.depth(self._symbol(call.query), limit)

    def trades(self, call: Call) -> Any:
        limit = call.query.integer("limit", minimum=1, maximum=1000)
        return self.engine.trades(self._symbol(call.query), limit)

    def trades_history(self, call: Call) -> Any:
        """Older trades, newest-last like ``/trades``; ``offset`` pages back from the newest."""
        symbol = self._symbol(call.query)
        limit = call.query.integer("limit", minimum=1, maximum=1000) or 100
        offset = call.query.integer("offset", minimum=0) or 0
        rows = self.engine.trades(symbol, 1000)
        end = max(0, len(rows) - offset)
        return rows[max(0, end - limit) : end]

    def klines(self, call: Call) -> Any:
        q = call.query
        interval = q.text("interval", required=True, choices=KLINE_INTERVALS)
        start = q.integer("startTime", required=True, minimum=0)
        end = q.integer("endTime", minimum=0)
        price_type = q.text("priceType", choices=PRICE_TYPES)
        assert interval is not None and start is not None
        return self.engine.klines(self._symbol(q), interval, start, end, price_type)

    def funding_rates(self, call: Call) -> Any:
        q = call.query
        symbol = self._symbol(q)
        limit = q.integer("limit", minimum=1, maximum=10000)
        offset = q.integer("offset", minimum=0)
        rows = self.engine.funding_rates(symbol, limit, offset)
        return json_response(rows, headers=page_headers(len(rows), limit or 100, offset or 0))

    def collateral_params(self, call: Call) -> Any:
        """Per-asset collateral functions (``/api/v1/collateral``), derived from the assets."""
        rows = []
        for asset in self.engine.assets():
            symbol = asset.get("symbol")
            weight = "1" if symbol in ("USDC", "USDT") else "0.9"
            rows.append(
                {
                    "symbol": symbol,
                    "imfFunction": {"type": "sqrt", "base": "0.02", "factor": "0.0000935"},
                    "mmfFunction": {"type": "sqrt", "base": "0.0125", "factor": "0.0000561"},
                    "haircutFunction": {"weight": weight, "kind": {"type": "identity"}},
                }
            )
        return rows

    # ------------------------------------------------------------------ private

    async def execute_order(self, call: Call) -> Any:
        if not isinstance(call.body, Mapping):
            raise bad_request("Invalid request body: expected an order object")
        order = self.engine.execute_order(call.account_id, dict(call.body))
        await self._after_accept()
        return order

    async def execute_orders(self, call: Call) -> Any:
        """``POST /api/v1/orders``: read every item before any runs, then run each.

        An item that cannot even be read refuses the whole batch (nothing placed),
        like Backpack's deserializer; an item the engine refuses is answered in place.
        Nothing after the first placed order may turn the answer into a bare 500,
        because the client could not tell which orders now rest.
        """
        if not isinstance(call.body, list) or not call.body:
            raise bad_request("Invalid request body: expected a non-empty array of orders")
        for index, item in enumerate(call.body):
            try:
                decode_order(item)
            except SimError as exc:
                raise SimError(
                    exc.status, exc.code, f"Invalid order at index {index}: {exc.message}"
                ) from None
        results: list[dict[str, Any]] = []
        accepted = False
        for index, item in enumerate(call.body):
            try:
                order = self.engine.execute_order(call.account_id, dict(item))
            except SimError as exc:
                results.append({"operation": "Err", **exc.body()})
            except Exception:
                log.exception("batch item %d failed unexpectedly", index)
                results.append({"operation": "Err", **INTERNAL_ERROR.body()})
            else:
                accepted = True
                results.append({**order, "operation": "Ok"})
        if accepted:
            await self._after_accept()
        return results

    async def _after_accept(self) -> None:
        """Fire an armed order fault now that the engine has accepted the order."""
        fault = self.faults.take_order_fault()
        if fault is not None:
            await self._order_fault(fault)

    async def _order_fault(self, fault: OrderFault) -> None:
        if fault.mode == "hang":
            log.info("fault: holding an accepted order's response for %.1fs", fault.hang_seconds)
            try:
                await asyncio.wait_for(self.stopping.wait(), fault.hang_seconds)
            except TimeoutError:
                pass
            raise SimError(504, "TIMEOUT", "Request timed out")
        log.info("fault: answering an accepted order with HTTP %d", fault.status)
        if fault.status == 503:
            raise SimError(503, "SERVICE_UNAVAILABLE", "Unknown error, please try again later")
        raise SimError(fault.status, "SERVER_ERROR", "Internal server error")

    def _order_ref(self, params: Params) -> tuple[str, str | None, int | None]:
        symbol = self._symbol(params)
        raw_id = params.values.get("orderId")
        order_id = str(raw_id) if isinstance(raw_id, str | int) and raw_id != "" else None
        if isinstance(raw_id, bool):
            raise bad_request("Invalid `orderId`")
        client_id = params.integer("clientId", minimum=0, maximum=0xFFFFFFFF)
        if order_id is not None and client_id is not None:
            raise bad_request("Specify only one of `orderId` or `clientId`")
        if order_id is None and client_id is None:
            raise bad_request("Missing required parameter `orderId` or `clientId`")
        return symbol, order_id, client_id

    def cancel_order(self, call: Call) -> Any:
        symbol, order_id, client_id = self._order_ref(call.fields)
        return self.engine.cancel_order(call.account_id, symbol, order_id, client_id)

    def get_order(self, call: Call) -> Any:
        symbol, order_id, client_id = self._order_ref(call.query)
        return self.engine.get_order(call.account_id, symbol, order_id, client_id)

    def cancel_all(self, call: Call) -> Any:
        fields = call.fields
        order_type = fields.text(
            "orderType", choices=frozenset({"RestingLimitOrder", "ConditionalOrder"})
        )
        return self.engine.cancel_all(call.account_id, self._symbol(fields), order_type)

    def open_orders(self, call: Call) -> Any:
        q = call.query
        return self.engine.open_orders(call.account_id, q.text("symbol"), q.text("marketType"))

    def history(
        self, fetch: Callable[[int, dict[str, Any]], list[dict[str, Any]]]
    ) -> Callable[[Call], Any]:
        """A paginated ``/wapi/v1/history/*`` handler with Backpack's X-PAGE-* headers."""

        def handler(call: Call) -> Any:
            q = call.query
            limit = q.integer("limit", minimum=1, maximum=HISTORY_LIMIT_MAX) or 100
            offset = q.integer("offset", minimum=0) or 0
            for name in ("from", "to"):
                q.integer(name, minimum=0)
            q.text("sortDirection", choices=frozenset({"Asc", "Desc"}))
            params: dict[str, Any] = dict(q.values)
            params["limit"] = limit
            params["offset"] = offset
            rows = fetch(call.account_id, params)
            return json_response(rows, headers=page_headers(len(rows), limit, offset))

        return handler


def page_headers(rows: int, limit: int, offset: int) -> dict[str, str]:
    """Backpack's pagination headers.

    The total is what this page proves exists: a full page means "at least one more"
    so that a client walking pages keeps going until a short page.
    """
    total = offset + rows + (1 if rows >= limit else 0)
    pages = max(1, -(-total // limit))
    return {
        "X-PAGE-COUNT": str(pages),
        "X-CURRENT-PAGE": str(offset // limit + 1),
        "X-PAGE-SIZE": str(limit),
        "X-TOTAL": str(total),
        "Access-Control-Expose-Headers": "X-PAGE-COUNT, X-CURRENT-PAGE, X-PAGE-SIZE, X-TOTAL",
    }


MAX_HEADER_BYTES = 8190
"""Longest request line or header field served: the usual server default."""

PARSER_LIMIT_BYTES = 65536
"""What the HTTP parser is told to tolerate, so that a line between the two limits is
refused here with a JSON body and one log line instead of aiohttp's plain-text 400."""


def oversized(request: web.Request) -> SimError | None:
    """A 414/431 for a request line or header field longer than :data:`MAX_HEADER_BYTES`."""
    if len(request.raw_path) > MAX_HEADER_BYTES:
        return SimError(414, "INVALID_CLIENT_REQUEST", "Request line too long")
    for name, value in request.raw_headers:
        if len(name) + len(value) > MAX_HEADER_BYTES:
            return SimError(431, "INVALID_CLIENT_REQUEST", "Request header field too large")
    return None


def error_middleware(faults: Faults) -> Middleware:
    """Faults first (latency, 429), then every failure as a Backpack JSON error body.

    Failures the client causes (oversized headers, a vanished connection) are one
    warning line; only a failure of the exchange itself gets a traceback.
    """

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        refusal = oversized(request)
        if refusal is not None:
            log.warning(
                "refused %s %s from %s: %s",
                request.method,
                request.path[:64],
                request.remote,
                refusal.message,
            )
            return error_response(refusal)
        is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
        try:
            if not is_ws:
                if faults.rest_latency > 0:
                    await asyncio.sleep(faults.rest_latency)
                retry_after = faults.take_throttle(request.path)
                if retry_after is not None:
                    return error_response(
                        SimError(429, "TOO_MANY_REQUESTS", "Too many requests"),
                        {"Retry-After": _seconds(retry_after)},
                    )
            return await handler(request)
        except SimError as exc:
            return error_response(exc)
        except web.HTTPException as exc:
            if exc.status == 404:
                return error_response(SimError(404, "RESOURCE_NOT_FOUND", "Not found"))
            if exc.status == 405:
                return error_response(SimError(405, "INVALID_CLIENT_REQUEST", "Method not allowed"))
            if exc.status < 400:
                raise
            return error_response(SimError(exc.status, "INVALID_CLIENT_REQUEST", exc.reason))
        except asyncio.CancelledError:
            raise
        except ConnectionError as exc:
            log.warning("%s %s: client connection lost (%s)", request.method, request.path, exc)
            return error_response(SimError(400, "INVALID_CLIENT_REQUEST", "Connection lost"))
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return error_response(INTERNAL_ERROR)

    return middleware


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
