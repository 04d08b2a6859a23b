"""The WebSocket under :class:`~bpx_tui.exchange.stream.StreamClient`, behind one small interface.

Why there are two: the reader is the stream's hot path, and per frame the ``websockets``
client cost about three times aiohttp's reader (docs/PERFORMANCE.md "Decoding and the
WebSocket reader"); aiohttp is a dependency anyway (REST). ``websockets`` stays as the
fallback the stream was first written and tested against (config ``ws_transport``).

Both implementations behave the same as the stream sees them:

* no compression offered (depth frames are ~200 bytes: deflate saves little and costs an
  inflate per frame), messages over :data:`MAX_MESSAGE` end the connection;
* server Pings are answered (the exchange closes a connection that leaves them
  unanswered); our own keepalive pings every ``ping_interval`` and closes with 1011
  "keepalive ping timeout" when a pong takes longer than ``ping_timeout``;
* :meth:`WsConnection.ping` returns a future that resolves on the matching pong, so the
  stream's watchdog can count a pong as proof of life;
* every way a connection ends surfaces as :class:`ConnectionLost` (from ``read``,
  ``send`` and ``ping``) and every refused opening as :class:`HandshakeFailed`,
  :class:`OSError` or :class:`TimeoutError`, so the reconnect logic sees one vocabulary.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Final, Literal, NoReturn, Protocol

import aiohttp
from aiohttp.http import WSMessageTextBytes
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websockets_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

__all__ = [
    "DEFAULT_TRANSPORT",
    "MAX_MESSAGE",
    "TRANSPORTS",
    "ConnectionLost",
    "HandshakeFailed",
    "OnFrame",
    "TransportName",
    "WsConnection",
    "connect",
]

TransportName = Literal["aiohttp", "websockets"]
TRANSPORTS: Final[tuple[TransportName, ...]] = ("aiohttp", "websockets")
DEFAULT_TRANSPORT: Final[TransportName] = "aiohttp"
"""The faster reader on the pipeline bench (docs/PERFORMANCE.md "WebSocket transport")."""

MAX_MESSAGE: Final = 2**20
"""Largest message accepted (websockets' default, which the stream always ran with)."""

KEEPALIVE_TIMEOUT: Final = 1011  # "internal error", the code websockets closes with

OnFrame = Callable[[bytes], None]
"""Called with every data frame's payload, synchronously, from inside the read loop."""


class ConnectionLost(Exception):
    """The connection ended: closed by either side, or broken (``code`` None)."""

    def __init__(self, code: int | None = None, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        if code is None:
            text = "connection lost"
        else:
            text = f"connection closed ({code}{f' {reason}' if reason else ''})"
        super().__init__(text)


class HandshakeFailed(Exception):
    """The server answered the opening handshake but did not upgrade (HTTP status, bad headers)."""


class WsConnection(Protocol):
    """One open WebSocket, as :class:`StreamClient` uses it."""

    @property
    def close_code(self) -> int | None:
        """The Close code once the connection ended (None while open or if none came)."""

    async def send(self, frame: bytes) -> None:
        """Send UTF-8 ``frame`` as one text frame; raises :class:`ConnectionLost`."""

    async def read(self, on_frame: OnFrame) -> NoReturn:
        """Hand every data frame (text or binary, as bytes) to ``on_frame`` until the
        connection ends, then raise :class:`ConnectionLost`.

        A loop here rather than a ``recv()`` per frame: awaiting one more coroutine per
        frame was a measurable part of the stream's hot path (docs/PERFORMANCE.md
        "Pipeline against ccxt.pro and the floor"). ``on_frame`` must not raise.
        """

    async def ping(self) -> asyncio.Future[float]:
        """Send a Ping; the future resolves with the latency when its pong arrives."""

    async def close(self, code: int = 1000) -> None:
        """A Close handshake, bounded by the ``close_timeout`` given to :func:`connect`."""

    def abort(self) -> None:
        """Drop the socket at once, no handshake (a silent peer could not finish one)."""


async def connect(
    url: str,
    *,
    transport: TransportName,
    open_timeout: float,
    ping_interval: float | None,
    ping_timeout: float | None,
    close_timeout: float,
    use_proxy: bool,
) -> WsConnection:
    """Open ``url`` with the named library; ``use_proxy`` honours the environment's proxy."""
    if transport == "aiohttp":
        return await _AiohttpConnection.open(
            url, open_timeout, ping_interval, ping_timeout, close_timeout, use_proxy
        )
    if transport == "websockets":
        return await _WebsocketsConnection.open(
            url, open_timeout, ping_interval, ping_timeout, close_timeout, use_proxy
        )
    raise ValueError(f"unknown WebSocket transport {transport!r}; choose from {TRANSPORTS}")


# --------------------------------------------------------------------------- websockets


def _lost(exc: ConnectionClosed) -> ConnectionLost:
    frame = exc.rcvd or exc.sent
    return ConnectionLost() if frame is None else ConnectionLost(frame.code, frame.reason)


class _WebsocketsConnection:
    """``websockets`` does keepalive, pong matching and close codes itself."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    @classmethod
    async def open(
        cls,
        url: str,
        open_timeout: float,
        ping_interval: float | None,
        ping_timeout: float | None,
        close_timeout: float,
        use_proxy: bool,
    ) -> _WebsocketsConnection:
        try:
            ws = await websockets_connect(
                url,
                compression=None,
                max_size=MAX_MESSAGE,
                open_timeout=open_timeout,
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
                close_timeout=close_timeout,
                proxy=True if use_proxy else None,
            )
        except InvalidStatus as exc:
            raise HandshakeFailed(f"handshake refused: HTTP {exc.response.status_code}") from exc
        except InvalidHandshake as exc:
            raise HandshakeFailed(str(exc) or type(exc).__name__) from exc
        return cls(ws)

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    async def send(self, frame: bytes) -> None:
        try:
            await self._ws.send(frame, text=True)
        except ConnectionClosed as exc:
            raise _lost(exc) from exc

    async def read(self, on_frame: OnFrame) -> NoReturn:
        recv = self._ws.recv
        try:
            while True:
                on_frame(await recv(decode=False))
        except ConnectionClosed as exc:
            raise _lost(exc) from exc

    async def ping(self) -> asyncio.Future[float]:
        try:
            return asyncio.ensure_future(await self._ws.ping())
        except ConnectionClosed as exc:
            raise _lost(exc) from exc

    async def close(self, code: int = 1000) -> None:
        await self._ws.close(code)

    def abort(self) -> None:
        self._ws.transport.abort()


# ------------------------------------------------------------------------------ aiohttp

_TEXT = aiohttp.WSMsgType.TEXT
_BINARY = aiohttp.WSMsgType.BINARY
_PING = aiohttp.WSMsgType.PING
_PONG = aiohttp.WSMsgType.PONG
_ERROR = aiohttp.WSMsgType.ERROR
_CLOSE = aiohttp.WSMsgType.CLOSE


class _AiohttpConnection:
    """aiohttp's reader, with pings handled here so they behave as in ``websockets``.

    aiohttp's own ``heartbeat`` counts any received data as liveness and hides pongs;
    the stream needs a pong to be observable (its watchdog) and a keepalive that demands
    pongs, so ``autoping`` is off and this class answers Pings, matches Pongs (in order:
    RFC 6455 lets a pong answer the latest ping, which settles every older one too) and
    runs the keepalive task.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        ws: aiohttp.ClientWebSocketResponse[Literal[False]],
        ping_interval: float | None,
        ping_timeout: float | None,
    ) -> None:
        self._session = session
        self._ws = ws
        self._pings: deque[tuple[float, asyncio.Future[float]]] = deque()
        self._lost: ConnectionLost | None = None
        self._keepalive: asyncio.Task[None] | None = None
        if ping_interval is not None:
            self._keepalive = asyncio.get_running_loop().create_task(
                self._keep_alive(ping_interval, ping_timeout)
            )

    @classmethod
    async def open(
        cls,
        url: str,
        open_timeout: float,
        ping_interval: float | None,
        ping_timeout: float | None,
        close_timeout: float,
        use_proxy: bool,
    ) -> _AiohttpConnection:
        session = aiohttp.ClientSession(trust_env=use_proxy)
        try:
            async with asyncio.timeout(open_timeout):
                ws = await session.ws_connect(
                    url,
                    autoping=False,
                    autoclose=False,  # recv() echoes the peer's code, as websockets does
                    compress=0,
                    max_msg_size=MAX_MESSAGE,
                    decode_text=False,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=close_timeout),
                )
        except BaseException as exc:
            await session.close()
            if isinstance(exc, aiohttp.WSServerHandshakeError):
                raise HandshakeFailed(f"handshake refused: HTTP {exc.status}") from exc
            if isinstance(exc, aiohttp.ClientError) and not isinstance(exc, OSError):
                raise HandshakeFailed(str(exc) or type(exc).__name__) from exc
            raise
        return cls(session, ws, ping_interval, ping_timeout)

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    async def send(self, frame: bytes) -> None:
        if self._lost is not None:
            raise self._lost
        try:
            await self._ws.send_frame(frame, _TEXT)
        except (aiohttp.ClientError, OSError) as exc:
            raise self._ended(None, "") from exc

    async def read(self, on_frame: OnFrame) -> NoReturn:
        receive = self._ws.receive
        text, binary = _TEXT, _BINARY  # locals: this loop runs for every frame
        while True:
            msg = await receive()
            kind = msg.type
            if kind is text or kind is binary:
                on_frame(msg.data)  # bytes: decode_text=False
            else:
                await self._control(msg)

    async def _control(self, msg: aiohttp.WSMessage | WSMessageTextBytes) -> None:
        """Answer a Ping, settle Pongs; raise :class:`ConnectionLost` when it ended."""
        kind = msg.type
        if kind is _PING:
            try:
                await self._ws.pong(msg.data)
            except (aiohttp.ClientError, OSError):
                pass  # the next receive reports how the connection ended
        elif kind is _PONG:
            self._pong()
        elif kind is _ERROR:
            raise self._ended(self._ws.close_code, str(msg.data or ""))
        elif kind is _CLOSE:
            lost = self._ended(msg.data, msg.extra or "")
            try:
                await self._ws.close(code=msg.data)  # the reply: the peer's own code
            except (aiohttp.ClientError, OSError):
                pass
            raise lost
        else:  # CLOSING (our close() runs), CLOSED (the socket broke)
            raise self._ended(None, "")

    async def ping(self) -> asyncio.Future[float]:
        if self._lost is not None:
            raise self._lost
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pings.append((time.monotonic(), waiter))
        try:
            await self._ws.ping()
        except (aiohttp.ClientError, OSError) as exc:
            raise self._ended(None, "") from exc
        return waiter

    async def close(self, code: int = 1000) -> None:
        self._stop_keepalive()
        try:
            await self._ws.close(code=code)
        finally:
            self._ended(self._ws.close_code, "")
            await self._session.close()
            keepalive = self._keepalive
            if keepalive is not None and keepalive is not asyncio.current_task():
                # Awaited, so no task outlives the connection (and the loop's shutdown).
                await asyncio.gather(keepalive, return_exceptions=True)

    def abort(self) -> None:
        self._stop_keepalive()
        # aiohttp has no public abort; the raw transport drops the socket even when the
        # peer stopped reading (a plain close() would wait to flush what it cannot take).
        connection = self._ws._response.connection
        if connection is not None and connection.transport is not None:
            connection.transport.abort()
        self._ws._response.close()

    # -------------------------------------------------------------------- internals

    def _pong(self) -> None:
        now = time.monotonic()
        while self._pings:
            sent, waiter = self._pings.popleft()
            if not waiter.done():
                waiter.set_result(now - sent)

    def _ended(self, code: int | None, reason: str) -> ConnectionLost:
        """Remember how the connection ended (the first report wins) and fail waiters."""
        if self._lost is None:
            self._lost = ConnectionLost(code, reason)
            self._stop_keepalive()
            while self._pings:
                _, waiter = self._pings.popleft()
                if not waiter.done():
                    waiter.set_exception(ConnectionLost(code, reason))
                    waiter.exception()  # retrieved: nobody may be waiting for it
        return self._lost

    def _stop_keepalive(self) -> None:
        # The reference is kept: a task still finishing its 1011 close must not be
        # garbage-collected half way.
        task = self._keepalive
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    async def _keep_alive(self, interval: float, timeout: float | None) -> None:
        """Ping every ``interval``; close with 1011 when a pong is ``timeout`` late."""
        while True:
            await asyncio.sleep(interval)
            try:
                waiter = await self.ping()
            except ConnectionLost:
                return
            if timeout is None:
                continue
            try:
                await asyncio.wait_for(asyncio.shield(waiter), timeout)
            except TimeoutError:
                reason = "keepalive ping timeout"
                self._ended(KEEPALIVE_TIMEOUT, reason)
                await self._ws.close(code=KEEPALIVE_TIMEOUT, message=reason.encode())
                return
            except ConnectionLost:
                return
