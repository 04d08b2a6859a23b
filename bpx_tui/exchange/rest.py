"""Async REST client for Backpack (docs/PROTOCOL.md "Signing" and "REST behaviour").

Why it is built this way:

* The exchange verifies a signature against the request it parsed, so the JSON body we
  send is serialised from exactly the dict we signed (``None`` dropped, decimals as
  strings, ``clientId`` as a number, booleans as JSON booleans) and GET queries carry
  the same decoded text we signed (booleans lowercase).
* GETs are idempotent and retried with capped, fully-jittered backoff. Mutations are
  never retried blindly: a lost answer to ``POST /order`` says nothing about whether
  the order exists, so :meth:`RestClient.execute_order` raises
  :class:`UnknownOrderOutcome` and the trading layer looks the order up by ``clientId``
  (:mod:`bpx_tui.trading.outcome`) instead of anything being re-sent.
* "Request has expired" is the one refusal that proves a request was not executed, so
  it is retried once, re-signed with a fresh timestamp after re-syncing the clock.
* Every failure is a typed :mod:`~bpx_tui.exchange.errors` exception whose text never
  contains a key, a signature or a header.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp
import orjson

from bpx_tui.exchange.errors import (
    ApiError,
    AuthError,
    BackpackError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    UnknownOrderOutcome,
    api_error,
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
from bpx_tui.exchange.numbers import parse_int, wire
from bpx_tui.exchange.signing import Signer, instruction_for, normalise_path
from bpx_tui.exchange.vocab import check_client_id

__all__ = [
    "BAD_RESPONSE",
    "CANCEL_PENDING",
    "RestClient",
    "backoff_delay",
    "body_payload",
    "query_params",
]

Json = dict[str, Any]
Body = Mapping[str, Any] | Sequence[Mapping[str, Any]]
T = TypeVar("T")

BAD_RESPONSE = "BAD_RESPONSE"
# Status given to the Order returned for a cancel the exchange accepted (HTTP 202 with no
# body) but has not executed yet: the order stream reports the final state.
CANCEL_PENDING = "CancelPending"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
MAX_RETRY_AFTER_S = 60.0
_ERROR_TEXT_LIMIT = 200
# A kline time above this is certainly milliseconds (it would be the year 5138 in seconds).
_SECONDS_CEILING = 10**11
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError)


# ---------------------------------------------------------------------------------------
# Wire encoding: what is signed is what is sent.


def _wire_value(key: str, value: Any) -> bool | int | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return wire(value)
    if isinstance(value, float):
        raise TypeError(f"{key}: floats are never sent to Backpack; round to a Decimal first")
    if isinstance(value, int | str):
        return value
    raise TypeError(f"{key}: cannot send a value of type {type(value).__name__}")


def body_payload(payload: Mapping[str, Any]) -> Json:
    """The JSON object to sign and send: ``None`` dropped, decimals as exponent-free text."""
    out: Json = {}
    for key, value in payload.items():
        if not isinstance(key, str):
            raise TypeError(f"payload keys must be strings, got {key!r}")
        if value is not None:
            out[key] = _wire_value(key, value)
    return out


def query_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Decoded query text to sign and send; ``str(True)`` would break the signature."""
    out: dict[str, str] = {}
    for key, value in body_payload(params).items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def _camel(name: str) -> str:
    """``order_id`` -> ``orderId``; ``from_`` -> ``from`` (a Python keyword otherwise)."""
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _filters(filters: Mapping[str, Any]) -> Json:
    return {_camel(key): value for key, value in filters.items()}


def _order_ref(order_id: str | int | None, client_id: int | None) -> Json:
    """Backpack takes exactly one of ``orderId`` (a string) or ``clientId`` (a number)."""
    if (order_id is None) == (client_id is None):
        raise ValueError("give exactly one of order_id or client_id")
    if order_id is not None:
        return {"orderId": str(order_id)}
    return {"clientId": check_client_id(client_id)}


def _seconds(value: int) -> int:
    return value // 1000 if value > _SECONDS_CEILING else value


# ---------------------------------------------------------------------------------------
# Responses.


def backoff_delay(
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Full-jitter exponential backoff, unless the server said when to come back."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER_S)
    return (rng or random).uniform(0.0, min(cap, base * 2**attempt))


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # the HTTP-date form: fall back to our own backoff
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_TEXT_LIMIT else text[: _ERROR_TEXT_LIMIT - 1] + "…"


def _error_from(
    status: int, data: bytes, reason: str | None, retry_after: float | None
) -> ApiError:
    """An error body that is not ``{"code", "message"}`` still yields a readable error."""
    code: str | None = None
    message: str | None = None
    try:
        parsed = orjson.loads(data) if data else None
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        raw_code, raw_message = parsed.get("code"), parsed.get("message")
        code = raw_code if isinstance(raw_code, str) and raw_code else None
        message = _shorten(str(raw_message)) if raw_message is not None else None
    if message is None:
        message = _shorten(data.decode("utf-8", "replace")) or reason or f"HTTP {status}"
    return api_error(status, code, message, retry_after)


def _bad(what: str, detail: str) -> ApiError:
    return ApiError(200, BAD_RESPONSE, f"unexpected {what} answer from the exchange: {detail}")


def _shape(what: str, build: Callable[[], T]) -> T:
    """Run a model constructor; a payload of the wrong shape becomes an ApiError."""
    try:
        return build()
    except _SHAPE_ERRORS as exc:
        raise _bad(what, f"{type(exc).__name__}: {_shorten(str(exc))}") from None


def _dict(data: Any, what: str) -> Json:
    if not isinstance(data, dict):
        raise _bad(what, f"expected an object, got {type(data).__name__}")
    return data


def _rows(data: Any, what: str, single_ok: bool = False) -> list[Json]:
    if single_ok and isinstance(data, dict):
        return [data]
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise _bad(what, f"expected a list of objects, got {type(data).__name__}")
    return data


def _list_of(data: Any, what: str, build: Callable[[Json], T], single_ok: bool = False) -> list[T]:
    rows = _rows(data, what, single_ok)
    return _shape(what, lambda: [build(row) for row in rows])


def _batch_item(row: Json) -> Order | ApiError:
    if row.get("operation") == "Err" or ("code" in row and "id" not in row):
        code, message = row.get("code"), row.get("message")
        return api_error(
            400,
            code if isinstance(code, str) else None,
            None if message is None else str(message),
        )
    return Order.from_api(row)


def _local_ms() -> int:
    return int(time.time() * 1000)


def _is_expired(error: AuthError) -> bool:
    return "expired" in error.message.lower()


# ---------------------------------------------------------------------------------------


class RestClient:
    """One aiohttp session, typed endpoints, and the order-placement safety rules."""

    def __init__(
        self,
        base_url: str,
        signer: Signer | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        max_retries: int = 4,
        logger: logging.Logger | None = None,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.clock_offset_ms: int | None = None
        self.log = logger or logging.getLogger(__name__)
        self._session = session
        self._owns_session = session is None
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"RestClient({self.base_url!r}, signed={self.signer is not None})"

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session only if we created it: a shared one belongs to its owner."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created lazily because a ClientSession must be made inside the running loop.
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession(timeout=self._client_timeout)
            self._owns_session = True
        elif self._session.closed:
            raise TransportError("the shared HTTP session was closed by its owner")
        return self._session

    def _url(self, path: str) -> str:
        return self.base_url + normalise_path("/" + path)

    # -- transport --------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Body | None = None,
        signed: bool = False,
    ) -> Any:
        """Send one request and return the decoded JSON (or text for ``text/*`` answers).

        Raises :class:`ApiError` subclasses for refusals, :class:`TransportError` when no
        answer arrived. GETs are retried; other methods are sent once (plus one re-signed
        retry after "Request has expired").
        """
        method = method.upper()
        path = normalise_path("/" + path)
        query = query_params(params) if params else {}
        payload: Json | list[Json] | None = None
        if body is not None:
            if isinstance(body, Mapping):
                payload = body_payload(body)
            else:
                payload = [body_payload(item) for item in body]
        instruction: str | None = None
        if signed:
            if self.signer is None:
                raise AuthError(0, "NO_CREDENTIALS", f"{path} needs an API key and secret")
            instruction = instruction_for(method, path)
            if instruction is None:
                raise ValueError(f"no signing instruction is known for {method} {path}")
            if query and payload is not None:
                raise ValueError("signing a query and a body together is not supported")
        sign_params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = (
            payload if payload is not None else query
        )
        try:
            data = orjson.dumps(payload) if payload is not None else None
        except TypeError as exc:  # e.g. an integer beyond 64 bits: nothing was sent
            raise ValueError(f"{method} {path}: the body cannot be sent as JSON: {exc}") from None

        attempt = 0
        resigned = False
        while True:
            try:
                return await self._send(method, path, query, data, instruction, sign_params)
            except AuthError as exc:
                if instruction is None or resigned or not _is_expired(exc):
                    raise
                resigned = True
                self.log.info(
                    "%s %s: request expired; re-syncing the clock and re-signing", method, path
                )
                await self._resync_quietly()
            except (RateLimitError, ServerError, TransportError) as exc:
                if method != "GET" or attempt >= self.max_retries:
                    raise
                retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
                delay = backoff_delay(attempt, self.backoff_base, self.backoff_cap, retry_after)
                attempt += 1
                self.log.info(
                    "%s %s: %s; retry %d/%d in %.3f s",
                    method,
                    path,
                    exc,
                    attempt,
                    self.max_retries,
                    delay,
                )
                await self._sleep(delay)

    async def _resync_quietly(self) -> None:
        try:
            await self.sync_clock()
        except BackpackError as exc:
            # Still retry: a fresh timestamp alone fixes a request that merely sat too long.
            self.log.warning("clock re-sync failed (%s); retrying with local time", exc)

    async def _send(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        data: bytes | None,
        instruction: str | None,
        sign_params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    ) -> Any:
        headers: dict[str, str] = {}
        if data is not None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        if instruction is not None and self.signer is not None:
            # Built per attempt: a retry always carries a fresh timestamp and signature.
            headers.update(self.signer.headers(instruction, sign_params))
        session = self._get_session()
        try:
            async with session.request(
                method,
                self._url(path),
                params=query or None,
                data=data,
                headers=headers,
                timeout=self._client_timeout,
            ) as response:
                raw = await response.read()
                status = response.status
                content_type = response.content_type
                reason = response.reason
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            raise TransportError(f"{method} {path}: no answer within {self.timeout:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            # The connection was never made: not one byte of the request left.
            raise TransportError(
                f"{method} {path}: {_shorten(str(exc)) or type(exc).__name__}", request_sent=False
            ) from None
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"{method} {path}: {_shorten(str(exc)) or type(exc).__name__}"
            ) from None
        except OSError as exc:
            raise TransportError(f"{method} {path}: {exc.strerror or exc}") from None
        self.log.debug("%s %s -> %d (%d bytes)", method, path, status, len(raw))
        if not 200 <= status < 300:
            raise _error_from(status, raw, reason, retry_after)
        if not raw.strip():
            return None
        if content_type.startswith("text/"):
            return raw.decode("utf-8", "replace").strip()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _bad(f"{method} {path}", "the body is not JSON") from None

    # -- clock --------------------------------------------------------------------------

    async def server_time(self) -> int:
        """The exchange's clock in ms (``/api/v1/time`` answers a bare integer)."""
        raw = await self.request("GET", "/api/v1/time")
        value = parse_int(raw)
        if value is None:
            raise _bad("time", f"not an integer: {_shorten(str(raw))!r}")
        return value

    async def sync_clock(self) -> int:
        """Measure the exchange's clock offset and make the signer use it.

        The offset is taken against the midpoint of the round trip, which halves the
        error a slow answer would add. Returns the offset in ms.
        """
        before = _local_ms()
        server = await self.server_time()
        after = _local_ms()
        offset = server - (before + after) // 2
        self.clock_offset_ms = offset
        if self.signer is not None:
            self.signer.clock = lambda: _local_ms() + offset
        self.log.info(
            "clock offset to the exchange: %+d ms (round trip %d ms)", offset, after - before
        )
        return offset

    # -- public market data -------------------------------------------------------------

    async def markets(self) -> list[Market]:
        return _list_of(await self.request("GET", "/api/v1/markets"), "markets", Market.from_api)

    async def market(self, symbol: str) -> Market:
        data = _dict(
            await self.request("GET", "/api/v1/market", params={"symbol": symbol}), "market"
        )
        return _shape("market", lambda: Market.from_api(data))

    async def ticker(self, symbol: str) -> Ticker:
        raw = await self.request("GET", "/api/v1/ticker", params={"symbol": symbol})
        if raw is None:  # the spec answers 204 for an unknown symbol
            raise NotFoundError(204, "RESOURCE_NOT_FOUND", f"no ticker for {symbol}")
        data = _dict(raw, "ticker")
        return _shape("ticker", lambda: Ticker.from_api(data))

    async def tickers(self) -> list[Ticker]:
        return _list_of(await self.request("GET", "/api/v1/tickers"), "tickers", Ticker.from_api)

    async def depth(self, symbol: str, limit: int | None = None) -> Json:
        """The raw ``/depth`` body, for :meth:`OrderBook.on_snapshot`."""
        params = {"symbol": symbol, "limit": None if limit is None else str(limit)}
        return _dict(await self.request("GET", "/api/v1/depth", params=params), "depth")

    async def depth_snapshot(self, symbol: str) -> DepthSnapshot:
        data = await self.depth(symbol)
        return _shape("depth", lambda: DepthSnapshot.from_api(data, symbol))

    async def trades(self, symbol: str, limit: int | None = None) -> list[Trade]:
        raw = await self.request("GET", "/api/v1/trades", params={"symbol": symbol, "limit": limit})
        return _list_of(raw, "trades", lambda row: Trade.from_api(row, symbol))

    async def klines(
        self,
        symbol: str,
        interval: str,
        start_time: int,
        end_time: int | None = None,
        price_type: str | None = None,
    ) -> list[Kline]:
        """Candles; ``start_time``/``end_time`` are in **seconds** (ms are converted)."""
        params = {
            "symbol": symbol,
            "interval": interval,
            "startTime": _seconds(start_time),
            "endTime": None if end_time is None else _seconds(end_time),
            "priceType": price_type,
        }
        return _list_of(
            await self.request("GET", "/api/v1/klines", params=params), "klines", Kline.from_api
        )

    async def mark_prices(self, symbol: str | None = None) -> list[MarkPrice]:
        raw = await self.request("GET", "/api/v1/markPrices", params={"symbol": symbol})
        return _list_of(raw, "markPrices", MarkPrice.from_api, single_ok=True)

    async def funding_rates(
        self, symbol: str, limit: int | None = None, offset: int | None = None
    ) -> list[FundingRate]:
        params = {"symbol": symbol, "limit": limit, "offset": offset}
        raw = await self.request("GET", "/api/v1/fundingRates", params=params)
        return _list_of(raw, "fundingRates", FundingRate.from_api)

    async def open_interest(self, symbol: str | None = None) -> list[OpenInterest]:
        raw = await self.request("GET", "/api/v1/openInterest", params={"symbol": symbol})
        return _list_of(raw, "openInterest", OpenInterest.from_api, single_ok=True)

    async def status(self) -> Json:
        return _dict(await self.request("GET", "/api/v1/status"), "status")

    async def ping(self) -> str:
        raw = await self.request("GET", "/api/v1/ping")
        if not isinstance(raw, str):
            raise _bad("ping", f"expected text, got {type(raw).__name__}")
        return raw

    async def assets(self) -> list[Json]:
        return _rows(await self.request("GET", "/api/v1/assets"), "assets")

    # -- orders ---------------------------------------------------------------------------

    async def execute_order(self, payload: Mapping[str, Any]) -> Order:
        """Place one order, sent once and never re-sent.

        A lost answer (timeout, reset, 5xx, an unreadable 2xx) raises
        :class:`UnknownOrderOutcome`: the order may exist, and only a lookup by its
        ``clientId`` can tell. That lookup belongs to the trading layer, which records
        what it finds; this layer does not guess.
        """
        symbol = payload.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise ValueError("an order needs a symbol")
        raw_id = payload.get("clientId")
        client_id = None if raw_id is None else check_client_id(raw_id)
        try:
            raw = await self.request("POST", "/api/v1/order", body=payload, signed=True)
            data = _dict(raw, "order")
            return _shape("order", lambda: Order.from_api(data))
        except TransportError as exc:
            if not exc.request_sent:
                raise  # never connected: provably not placed
            raise self._unknown(symbol, client_id, exc) from exc
        except ServerError as exc:
            raise self._unknown(symbol, client_id, exc) from exc
        except ApiError as exc:
            if exc.code != BAD_RESPONSE:
                raise
            # A 2xx means it was accepted, but the answer cannot be read.
            raise self._unknown(symbol, client_id, exc) from exc

    def _unknown(self, symbol: str, client_id: int | None, cause: BackpackError) -> Exception:
        window = self.signer.window if self.signer is not None else 0
        self.log.warning(
            "order %s on %s: the answer was lost (%s); its outcome is unknown",
            client_id,
            symbol,
            cause,
        )
        return UnknownOrderOutcome(symbol, client_id, str(cause), _local_ms() + window)

    async def execute_orders(self, payloads: Sequence[dict[str, Any]]) -> list[Order | ApiError]:
        """Batch placement; each item is the placed order or that item's refusal."""
        if not payloads:
            raise ValueError("a batch needs at least one order")
        for payload in payloads:
            if payload.get("clientId") is not None:
                check_client_id(payload["clientId"])
        raw = await self.request("POST", "/api/v1/orders", body=list(payloads), signed=True)
        rows = _rows(raw, "batch order")
        if len(rows) != len(payloads):
            raise _bad("batch order", f"{len(rows)} results for {len(payloads)} orders")
        return _shape("batch order", lambda: [_batch_item(row) for row in rows])

    async def cancel_order(
        self, symbol: str, order_id: str | int | None = None, client_id: int | None = None
    ) -> Order:
        body = {"symbol": symbol, **_order_ref(order_id, client_id)}
        raw = await self.request("DELETE", "/api/v1/order", body=body, signed=True)
        if raw is None:  # 202: accepted, not yet executed; the stream reports the outcome
            pending = {"id": body.get("orderId"), "clientId": client_id, "symbol": symbol}
            return Order.from_api({**pending, "status": CANCEL_PENDING})
        data = _dict(raw, "cancel")
        return _shape("cancel", lambda: Order.from_api(data))

    async def cancel_all(self, symbol: str, order_type: str | None = None) -> list[Order] | None:
        """The cancelled orders; None when the exchange answered ``202``: accepted, not
        yet done, so no order may be taken for gone until the stream or a re-read says so."""
        body = {"symbol": symbol, "orderType": order_type}
        raw = await self.request("DELETE", "/api/v1/orders", body=body, signed=True)
        if raw is None:
            return None
        return _list_of(raw, "cancel all", Order.from_api)

    async def get_order(
        self, symbol: str, order_id: str | int | None = None, client_id: int | None = None
    ) -> Order:
        """A resting order; :class:`NotFoundError` once it is filled, cancelled or expired."""
        params = {"symbol": symbol, **_order_ref(order_id, client_id)}
        data = _dict(
            await self.request("GET", "/api/v1/order", params=params, signed=True), "order"
        )
        return _shape("order", lambda: Order.from_api(data))

    async def open_orders(
        self, symbol: str | None = None, market_type: str | None = None
    ) -> list[Order]:
        params = {"symbol": symbol, "marketType": market_type}
        raw = await self.request("GET", "/api/v1/orders", params=params, signed=True)
        return _list_of(raw, "open orders", Order.from_api)

    # -- history (filters: limit, offset, symbol, order_id, fill_type, sort_direction,
    #    from_, to, market_type, ...; snake_case or the exchange's camelCase) -------------

    async def _history(self, name: str, filters: Mapping[str, Any]) -> Any:
        return await self.request(
            "GET", f"/wapi/v1/history/{name}", params=_filters(filters), signed=True
        )

    async def order_history(self, **filters: Any) -> list[Order]:
        return _list_of(await self._history("orders", filters), "order history", Order.from_api)

    async def fill_history(self, **filters: Any) -> list[Fill]:
        return _list_of(await self._history("fills", filters), "fill history", Fill.from_api)

    async def funding_history(self, **filters: Any) -> list[FundingPayment]:
        return _list_of(
            await self._history("funding", filters), "funding history", FundingPayment.from_api
        )

    # -- account ------------------------------------------------------------------------

    async def positions(self, symbol: str | None = None) -> list[Position]:
        try:
            raw = await self.request(
                "GET", "/api/v1/position", params={"symbol": symbol}, signed=True
            )
        except NotFoundError as exc:
            # "Position not found" for a flat symbol; a 404 from a wrong URL has no such code.
            if exc.code == "RESOURCE_NOT_FOUND":
                return []
            raise
        return _list_of(raw, "positions", Position.from_api, single_ok=True)

    async def balances(self) -> dict[str, Balance]:
        data = _dict(await self.request("GET", "/api/v1/capital", signed=True), "balances")
        for asset, row in data.items():
            if not isinstance(row, dict):
                raise _bad("balances", f"{asset} is a {type(row).__name__}, not an object")
        return _shape("balances", lambda: {a: Balance.from_api(a, row) for a, row in data.items()})

    async def collateral(self) -> Collateral:
        data = _dict(
            await self.request("GET", "/api/v1/capital/collateral", signed=True), "collateral"
        )
        return _shape("collateral", lambda: Collateral.from_api(data))

    async def account(self) -> Json:
        return _dict(await self.request("GET", "/api/v1/account", signed=True), "account")

    async def update_account(self, **settings: Any) -> None:
        """``PATCH /api/v1/account`` with ``leverageLimit`` and/or the auto-* switches.

        Keyword names are the exchange's (``leverageLimit="20"``). The answer is not
        relied on (live's body is not documented): read ``account()`` for the result.
        """
        if not settings:
            raise ValueError("update_account needs at least one setting")
        await self.request("PATCH", "/api/v1/account", body=settings, signed=True)

    async def max_order_quantity(self, **params: Any) -> Json:
        """``symbol``, ``side`` and optional ``price``, ``reduce_only``, ``auto_borrow``..."""
        raw = await self.request(
            "GET", "/api/v1/account/limits/order", params=_filters(params), signed=True
        )
        return _dict(raw, "order limit")
