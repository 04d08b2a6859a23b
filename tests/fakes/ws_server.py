"""A loopback Backpack-style WebSocket server for tests (docs/PROTOCOL.md "WebSocket connection").

It speaks just enough of the protocol to exercise a client for real: it records every
frame it receives, keeps per-connection subscriptions, checks private SUBSCRIBE
signatures with :func:`bpx_tui.exchange.signing.verify` (answering an error frame on a
bad one) and lets a test misbehave on purpose: push frames, drop every connection
without a Close, go silent (stop reading, so pings go unanswered, and stop sending),
close politely, or ping the clients.

Usage::

    async with FakeWsServer() as server:
        client = StreamClient(server.url, ...)
        ...
        await server.wait_until(lambda: len(server.subscribe_frames()) == 2)
        await server.push("depth.BTC_USDC_PERP", {...})
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bpx_tui.exchange.signing import signing_string, verify

PRIVATE_PREFIX = "account."
# Backpack's codes for these cases are undocumented (only 4006 has been seen); these are ours.
CODE_BAD_REQUEST = 4000
CODE_BAD_SIGNATURE = 4001
CODE_INVALID_STREAM = 4006


@dataclass
class Received:
    """One frame as the server got it; ``message`` is None when it was not JSON."""

    connection: int
    raw: str | bytes
    message: Any


@dataclass
class FakeConnection:
    """Server side of one client connection."""

    index: int
    ws: ServerConnection
    streams: set[str] = field(default_factory=set)
    silent: bool = False
    closed: bool = False
    close_code: int | None = None


class FakeWsServer:
    """Loopback WebSocket server; see the module docstring.

    ``api_keys`` (optional) restricts private subscriptions to those public keys;
    ``ping_interval`` is the server's own keepalive (None = only explicit pings).
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
    ) -> None:
        self.api_keys = set(api_keys) if api_keys is not None else None
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.frames: list[Received] = []
        self.connections: list[FakeConnection] = []
        self.bad_signatures = 0
        self._server: Server | None = None
        self._changed: asyncio.Condition | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> FakeWsServer:
        self._changed = asyncio.Condition()
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,  # 0 on the first start; the same port again after stop()
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            close_timeout=1,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def stop(self) -> None:
        """Shut down; silent connections are aborted (they could not finish a Close)."""
        if self._server is None:
            return
        for conn in self.open_connections():
            if conn.silent:
                conn.ws.transport.abort()
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> FakeWsServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -------------------------------------------------------------------- queries

    def open_connections(self) -> list[FakeConnection]:
        return [c for c in self.connections if not c.closed]

    def messages(self, connection: int | None = None) -> list[Any]:
        """Decoded frames (optionally of one connection), in arrival order."""
        return [f.message for f in self.frames if connection is None or f.connection == connection]

    def subscribe_frames(self, connection: int | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages(connection)
            if isinstance(m, dict) and m.get("method") == "SUBSCRIBE"
        ]

    def subscribed(self) -> set[str]:
        """Streams subscribed on any open, non-silent connection."""
        return set().union(*(c.streams for c in self._live()))

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; re-checked on every frame and connect/close."""
        assert self._changed is not None, "server not started"
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    # ---------------------------------------------------------------- misbehaving

    async def push(self, stream: str, data: Any, *, to_all: bool = False) -> int:
        """Send ``{"stream","data"}`` to the stream's subscribers (or everyone)."""
        payload = json.dumps({"stream": stream, "data": data})
        targets = [c for c in self._live() if to_all or stream in c.streams]
        return await self._send_all(targets, payload)

    async def push_raw(self, payload: str | bytes) -> int:
        """Send any text to every live connection (junk, error frames, acks)."""
        return await self._send_all(self._live(), payload)

    async def drop_all(self) -> int:
        """Abort every connection without a Close frame, like a crashed server."""
        conns = self.open_connections()
        for conn in conns:
            conn.ws.transport.abort()
        return len(conns)

    async def close_all(self, code: int = 1001, reason: str = "going away") -> int:
        """Close every connection politely, like a server shutting down."""
        conns = self._live()
        await asyncio.gather(*(c.ws.close(code, reason) for c in conns))
        return len(conns)

    def go_silent(self) -> int:
        """Stop reading (pings go unanswered) and sending on every current connection.

        New connections made afterwards behave normally again.
        """
        conns = self._live()
        for conn in conns:
            conn.silent = True
            conn.ws.transport.pause_reading()
        return len(conns)

    async def ping_all(self, timeout: float = 5.0) -> list[float]:
        """Send a Ping to every live client and return the pong latencies."""
        waiters = [await c.ws.ping() for c in self._live()]
        async with asyncio.timeout(timeout):
            return list(await asyncio.gather(*waiters))

    # ------------------------------------------------------------------ internals

    def _live(self) -> list[FakeConnection]:
        return [c for c in self.open_connections() if not c.silent]

    async def _send_all(self, conns: list[FakeConnection], payload: str | bytes) -> int:
        sent = 0
        for conn in conns:
            try:
                await conn.ws.send(payload)
                sent += 1
            except ConnectionClosed:
                pass
        return sent

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _handle(self, ws: ServerConnection) -> None:
        conn = FakeConnection(index=len(self.connections), ws=ws)
        self.connections.append(conn)
        await self._notify()
        try:
            async for raw in ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = None
                self.frames.append(Received(conn.index, raw, message))
                if not conn.silent:
                    await self._answer(conn, message)
                await self._notify()
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            conn.close_code = ws.close_code
            await self._notify()

    async def _answer(self, conn: FakeConnection, message: Any) -> None:
        if not isinstance(message, dict):
            return await self._error(conn, None, CODE_BAD_REQUEST, "Invalid message")
        frame_id = message.get("id")
        method = message.get("method")
        params = message.get("params")
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            return await self._error(conn, frame_id, CODE_BAD_REQUEST, "Invalid method")
        if not all(isinstance(p, str) and p for p in params):
            return await self._error(conn, frame_id, CODE_INVALID_STREAM, "Invalid stream")
        if method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
            return None
        if any(p.startswith(PRIVATE_PREFIX) for p in params):
            problem = self._check_signature(message.get("signature"))
            if problem:
                self.bad_signatures += 1
                return await self._error(conn, frame_id, CODE_BAD_SIGNATURE, problem)
        conn.streams.update(params)
        return None

    def _check_signature(self, signature: Any) -> str | None:
        """Verify a private SUBSCRIBE's signature array; returns what is wrong, or None."""
        if (
            not isinstance(signature, list)
            or len(signature) != 4
            or not all(isinstance(s, str) for s in signature)
        ):
            return "Missing or malformed signature"
        key, sig, timestamp, window = signature
        if not (timestamp.isdigit() and window.isdigit()):
            return "Invalid timestamp or window"
        if self.api_keys is not None and key not in self.api_keys:
            return "Unknown API key"
        message = signing_string("subscribe", None, int(timestamp), int(window))
        return None if verify(key, sig, message) else "Invalid signature"

    async def _error(self, conn: FakeConnection, frame_id: Any, code: int, text: str) -> None:
        frame = json.dumps({"id": frame_id, "error": {"code": code, "message": text}})
        try:
            await conn.ws.send(frame)
        except ConnectionClosed:
            pass
