"""WebSocket side of the local exchange: subscriptions, fan-out, keepalive.

What a client may rely on is docs/PROTOCOL.md "WebSocket connection".

The engine emits synchronously from inside its matching loop, so :meth:`Hub.publish`
must never block: each event is encoded once and appended to every subscriber's own
bounded queue; one writer task per connection drains it. A subscriber that cannot keep
up is disconnected instead of slowing the exchange down for everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
import time
from collections import deque
from collections.abc import Callable, Collection
from typing import Any, Protocol

import orjson
from aiohttp import WSMsgType, web

from bpx_tui.sim.errors import SimError
from bpx_tui.sim.wire.auth import AuthPolicy, verify_ws_signature
from bpx_tui.sim.wire.faults import Faults

log = logging.getLogger("bpx_tui.sim.wire.websocket")

# Error frame codes. Only 4006 "Invalid stream" has been observed on Backpack;
# the others are our own, in the same shape, so clients can tell the cases apart.
INVALID_STREAM = 4006
INVALID_REQUEST = 4000
INVALID_SIGNATURE = 4001
# What an armed ``refuse_private`` fault answers a private SUBSCRIBE with.
PRIVATE_REFUSED_MESSAGE = "Subscription refused"

KLINE_INTERVALS = frozenset(
    [
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1h",
        "2h",
        "4h",
        "6h",
        "8h",
        "12h",
        "1d",
        "3d",
        "1w",
        "1month",
    ]
)
_SYMBOL_STREAMS = (
    "bookTicker.",
    "depth.200ms.",
    "depth.600ms.",
    "depth.1000ms.",
    "depth.",
    "markPrice.",
    "ticker.",
    "openInterest.",
    "trade.",
)
PRIVATE_STREAMS = ("account.orderUpdate", "account.positionUpdate", "account.rfqUpdate")
AGGREGATED_DEPTH_MS = (200, 600, 1000)
WRITE_BATCH_BYTES = 256 * 1024
WRITE_HIGH_WATER = 1024 * 1024
JSON_TYPE = "application/json"


class HubEngine(Protocol):
    """The part of the engine the hub needs (a subset of CONTRACTS.md "Engine API")."""

    symbols: list[str]

    def account_for_key(self, api_key: str) -> int | None: ...

    def position_snapshot(self, account_id: int, symbol: str | None) -> list[dict[str, Any]]: ...


def stream_kind(name: str, symbols: Collection[str]) -> str | None:
    """``"public"``, ``"private"`` or ``None`` for a name Backpack would refuse.

    Symbols may contain dots (``SPCX.US_USDC``), so names are matched by known
    prefixes rather than split on ``.``.
    """
    if name == "liquidation":
        return "public"
    for prefix in _SYMBOL_STREAMS:
        if name.startswith(prefix):
            return "public" if name[len(prefix) :] in symbols else None
    if name.startswith("kline."):
        interval, _, symbol = name[6:].partition(".")
        return "public" if interval in KLINE_INTERVALS and symbol in symbols else None
    for base in PRIVATE_STREAMS:
        if name == base or (name.startswith(base + ".") and name[len(base) + 1 :] in symbols):
            return "private"
    return None


def text_frame(payload: bytes) -> bytes:
    """A complete unmasked WebSocket text frame (RFC 6455 §5.2) around ``payload``.

    Frames are built once per event and shared by every subscriber; the writer then
    hands whole batches of them to the transport in one write, which is what lets one
    process serve tens of thousands of messages a second (a syscall per frame would
    cost more than everything else together).
    """
    size = len(payload)
    if size < 126:
        return _HEADER_SHORT(0x81, size) + payload
    if size < 65536:
        return _HEADER_MEDIUM(0x81, 126, size) + payload
    return _HEADER_LONG(0x81, 127, size) + payload


_HEADER_SHORT = struct.Struct("!BB").pack
_HEADER_MEDIUM = struct.Struct("!BBH").pack
_HEADER_LONG = struct.Struct("!BBQ").pack


def error_frame(request_id: Any, code: int, message: str) -> bytes:
    return text_frame(orjson.dumps({"id": request_id, "error": {"code": code, "message": message}}))


def data_frame(stream: str, data: Any) -> bytes:
    return text_frame(orjson.dumps({"stream": stream, "data": data}, default=_json_default))


def _json_default(value: Any) -> Any:
    # Decimals should already be strings; if one slips through, send Backpack's text.
    from decimal import Decimal

    from bpx_tui.exchange.numbers import wire

    if isinstance(value, Decimal):
        return wire(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


class DepthAggregator:
    """Builds the ``depth.<N>ms.<symbol>`` streams from the real-time depth events.

    Levels carry absolute quantities, so merging is "last value per price wins"; the
    merged message spans ``U`` of the first event to ``u`` of the last, which keeps
    consecutive aggregated messages gap-free exactly like the real-time stream.
    """

    def __init__(self) -> None:
        self.pending: dict[str, dict[str, Any]] = {}

    def add(self, name: str, data: dict[str, Any]) -> None:
        merged = self.pending.get(name)
        if merged is None:
            merged = self.pending[name] = {
                "e": "depth",
                "E": data.get("E"),
                "s": data.get("s"),
                "a": {},
                "b": {},
                "U": data.get("U"),
                "u": data.get("u"),
                "T": data.get("T"),
            }
        for side in ("a", "b"):
            levels = merged[side]
            for level in data.get(side) or ():
                levels[level[0]] = level[1]
        merged["E"], merged["u"], merged["T"] = data.get("E"), data.get("u"), data.get("T")

    def drain(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for name in [n for n in self.pending if n.startswith(prefix)]:
            merged = self.pending.pop(name)
            for side in ("a", "b"):
                levels = merged[side]
                merged[side] = [[p, levels[p]] for p in sorted(levels, key=_price_key)]
            out.append((name, merged))
        return out


def _is_aggregated(name: str) -> bool:
    return name.startswith(("depth.200ms.", "depth.600ms.", "depth.1000ms."))


def _price_key(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


class Connection:
    """One client socket: its subscriptions and its outgoing queue."""

    __slots__ = (
        "awaiting_pong_since",
        "closed",
        "id",
        "last_ping",
        "private",
        "public",
        "queue",
        "request",
        "wake",
        "ws",
    )

    def __init__(self, conn_id: int, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.id = conn_id
        self.ws = ws
        self.request = request
        self.public: set[str] = set()
        self.private: set[tuple[str, int]] = set()
        self.queue: deque[tuple[float, bytes]] = deque()
        self.wake = asyncio.Event()
        self.closed = False
        self.last_ping = time.monotonic()
        self.awaiting_pong_since: float | None = None

    def abort(self) -> None:
        """Cut the TCP connection without a close handshake (a dropped link)."""
        self.closed = True
        self.wake.set()
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class Hub:
    """Routes engine events to WebSocket subscribers and serves the control frames."""

    def __init__(
        self,
        *,
        faults: Faults,
        now_ms: Callable[[], int],
        auth_policy: AuthPolicy | None = None,
        ping_interval: float = 60.0,
        pong_timeout: float = 120.0,
        max_queue: int = 100_000,
    ) -> None:
        self.engine: HubEngine | None = None
        self.faults = faults
        self.now_ms = now_ms
        self.auth_policy = auth_policy or AuthPolicy()
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.max_queue = max_queue
        self.connections: set[Connection] = set()
        self.dropped_slow = 0
        self.published = 0  # events received from the engine (the market loop paces on it)
        self._public: dict[str, set[Connection]] = {}
        self._private: dict[tuple[str, int], set[Connection]] = {}
        self._ids = itertools.count(1)
        self._keepalive: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._aggregator = DepthAggregator()
        self._aggregated = 0  # live subscriptions to depth.<N>ms streams
        self._engine_aggregates = False
        self._depth_watched: frozenset[str] = frozenset()

    def depth_watched(self) -> frozenset[str]:
        """Markets whose book somebody streams (any depth stream): what clients watch.

        The same object until a depth subscription comes or goes, so a caller polling it
        every step can tell "unchanged" by identity.
        """
        return self._depth_watched

    def subscribed(self, stream: str) -> bool:
        """Whether any connection subscribed to the public ``stream``."""
        return bool(self._public.get(stream))

    def _depth_interest_changed(self, name: str) -> None:
        if name.startswith("depth."):
            self._depth_watched = frozenset(
                stream.rsplit(".", 1)[1] for stream in self._public if stream.startswith("depth.")
            )

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._keepalive = asyncio.create_task(self._keepalive_loop(), name="sim-ws-keepalive")
        for ms in AGGREGATED_DEPTH_MS:
            task = asyncio.create_task(self._flush_aggregates(ms), name=f"sim-depth-{ms}ms")
            self._background.add(task)

    async def stop(self) -> None:
        tasks = [t for t in (self._keepalive, *self._background) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._keepalive = None
        self._background.clear()
        await self.close_all(abrupt=False)

    async def close_all(self, *, abrupt: bool = False, code: int = 1001) -> int:
        """Disconnect every client; returns how many were connected.

        ``abrupt`` drops TCP without a Close frame (a network failure); otherwise the
        server closes with ``code`` like Backpack does when a node goes down.
        """
        conns = list(self.connections)
        for conn in conns:
            if abrupt:
                conn.abort()
            else:
                conn.closed = True
                conn.wake.set()
        if not abrupt and conns:
            await asyncio.gather(
                *(self._close(conn, code) for conn in conns), return_exceptions=True
            )
        return len(conns)

    async def _close(self, conn: Connection, code: int) -> None:
        try:
            await asyncio.wait_for(conn.ws.close(code=code, message=b"going away"), 2.0)
        except (TimeoutError, ConnectionError, RuntimeError):
            conn.abort()

    # ---------------------------------------------------------------- fan-out

    def publish(self, stream: str, data: dict[str, Any], account_id: int | None) -> None:
        """Engine ``emit`` target: deliver one event to everyone subscribed to it.

        Never raises: an exception here would surface inside the engine's matching
        loop and could leave it half-way through an order.
        """
        self.published += 1
        try:
            if account_id is None:
                self._publish_public(stream, data)
            elif not self.faults.silent():
                self._publish_private(stream, data, account_id)
        except Exception:
            log.exception("cannot publish %s event; dropped", stream)

    def _publish_public(self, stream: str, data: dict[str, Any]) -> None:
        if self._aggregated and stream.startswith("depth."):
            self._aggregate(stream, data)
        subs = self._public.get(stream)
        if not subs or self.faults.silent() or not self.faults.deliver_public(stream, data):
            return
        frame = data_frame(stream, data)
        for conn in tuple(subs):
            self._enqueue(conn, frame)

    def _publish_private(self, stream: str, data: dict[str, Any], account_id: int) -> None:
        symbol = data.get("s")
        names = (stream, f"{stream}.{symbol}") if isinstance(symbol, str) else (stream,)
        for name in names:
            subs = self._private.get((name, account_id))
            if subs:
                frame = data_frame(name, data)
                for conn in tuple(subs):
                    self._enqueue(conn, frame)

    def _aggregate(self, stream: str, data: dict[str, Any]) -> None:
        if stream.endswith("ms." + str(data.get("s"))):  # the engine aggregates itself
            self._engine_aggregates = True
            return
        if self._engine_aggregates:
            return
        symbol = stream[len("depth.") :]
        for ms in AGGREGATED_DEPTH_MS:
            name = f"depth.{ms}ms.{symbol}"
            if name in self._public:
                self._aggregator.add(name, data)

    async def _flush_aggregates(self, ms: int) -> None:
        prefix = f"depth.{ms}ms."
        while True:
            await asyncio.sleep(ms / 1000)
            if not self._aggregator.pending:
                continue
            for name, merged in self._aggregator.drain(prefix):
                subs = self._public.get(name)
                if subs and not self.faults.silent():
                    frame = data_frame(name, merged)
                    for conn in tuple(subs):
                        self._enqueue(conn, frame)

    def _enqueue(self, conn: Connection, frame: bytes) -> None:
        if conn.closed:
            return
        if len(conn.queue) >= self.max_queue:
            self.dropped_slow += 1
            log.warning("ws#%d: send queue overflow (%d); dropping", conn.id, self.max_queue)
            self._forget(conn)
            conn.abort()
            return
        conn.queue.append((time.monotonic(), frame))
        conn.wake.set()

    def subscribers(self, stream: str, account_id: int | None = None) -> int:
        """How many connections receive ``stream`` (for tests and logs)."""
        if account_id is None:
            return len(self._public.get(stream, ()))
        return len(self._private.get((stream, account_id), ()))

    # ---------------------------------------------------------------- per connection

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for the WebSocket route."""
        ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=1 << 20)
        try:
            await ws.prepare(request)
        except ConnectionError as exc:
            # The client gave up mid-handshake: its problem, worth one line, no traceback.
            log.warning("ws: upgrade from %s aborted by the client (%s)", request.remote, exc)
            body = SimError(400, "INVALID_CLIENT_REQUEST", "WebSocket upgrade aborted").body()
            return web.Response(body=orjson.dumps(body), status=400, content_type=JSON_TYPE)
        conn = Connection(next(self._ids), ws, request)
        self.connections.add(conn)
        log.info("ws#%d: connected from %s", conn.id, request.remote)
        writer = asyncio.create_task(self._writer(conn), name=f"sim-ws-writer-{conn.id}")
        try:
            await self._reader(conn)
        finally:
            self._forget(conn)
            conn.closed = True
            conn.wake.set()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 1.0)
            log.info("ws#%d: disconnected", conn.id)
        return ws

    async def _reader(self, conn: Connection) -> None:
        ws = conn.ws
        while not conn.closed:
            try:
                msg = await ws.receive()
            except (ConnectionError, RuntimeError):
                return
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                try:
                    self.on_text(conn, msg.data)
                except Exception:
                    log.exception("ws#%d: failed to handle a frame", conn.id)
                    self._send_now(conn, error_frame(None, INVALID_REQUEST, "Internal error"))
            elif msg.type == WSMsgType.PING:
                if not self.faults.silent():
                    with contextlib.suppress(Exception):
                        await ws.pong(msg.data)
            elif msg.type == WSMsgType.PONG:
                conn.awaiting_pong_since = None
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _writer(self, conn: Connection) -> None:
        """Drain the queue in batches straight into the transport.

        aiohttp's own writer would issue one ``send()`` per frame. Control frames
        (ping, pong, close) still go through aiohttp; they are written whole, so they
        can only ever land between two of our frames.
        """
        queue = conn.queue
        faults = self.faults
        transport = conn.request.transport
        while not conn.closed:
            if not queue:
                conn.wake.clear()
                await conn.wake.wait()
                continue
            if transport is None or transport.is_closing():
                conn.abort()
                return
            latency = faults.ws_latency
            batch: list[bytes] = []
            size = 0
            now = time.monotonic()
            while queue and size < WRITE_BATCH_BYTES:
                queued_at, frame = queue[0]
                if latency > 0 and now - queued_at < latency:
                    break
                queue.popleft()
                batch.append(frame)
                size += len(frame)
            if not batch:
                await asyncio.sleep(latency - (now - queue[0][0]))
                continue
            transport.write(b"".join(batch))
            # Flow control: let a slow reader's backlog pile up in our bounded queue
            # (where it is counted and can get the connection dropped), not in the
            # transport's unbounded buffer. A transport offers no public awaitable for
            # "buffer below N" (only aiohttp's private drain helper), hence the poll.
            while transport.get_write_buffer_size() > WRITE_HIGH_WATER and not conn.closed:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
            await asyncio.sleep(0)

    def _send_now(self, conn: Connection, frame: bytes) -> None:
        """Queue a control answer behind any data already queued (keeps ordering).

        A silent (stalled) feed answers nothing at all, like a dead link.
        """
        if not self.faults.silent():
            self._enqueue(conn, frame)

    # ---------------------------------------------------------------- control frames

    def on_text(self, conn: Connection, text: str | bytes) -> None:
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._send_now(conn, error_frame(None, INVALID_REQUEST, "Invalid request"))
            return
        if not isinstance(frame, dict):
            self._send_now(conn, error_frame(None, INVALID_REQUEST, "Invalid request"))
            return
        request_id = frame.get("id")
        method = frame.get("method")
        params = frame.get("params")
        method = method.upper() if isinstance(method, str) else None
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not (
            isinstance(params, list) and all(isinstance(p, str) for p in params)
        ):
            self._send_now(conn, error_frame(request_id, INVALID_REQUEST, "Invalid request"))
            return
        if method == "SUBSCRIBE":
            self._subscribe(conn, request_id, params, frame.get("signature"))
        else:
            self._unsubscribe(conn, params)

    def _subscribe(
        self, conn: Connection, request_id: Any, streams: list[str], signature: Any
    ) -> None:
        engine = self.engine
        symbols: Collection[str] = engine.symbols if engine is not None else ()
        kinds = {name: stream_kind(name, symbols) for name in streams}
        if any(kind is None for kind in kinds.values()):
            self._send_now(conn, error_frame(request_id, INVALID_STREAM, "Invalid stream"))
        private = [name for name, kind in kinds.items() if kind == "private"]
        account_id: int | None = None
        if private and self.faults.take_private_refusal():
            # Same shape as every Backpack error frame; the id is echoed, null if absent.
            self._send_now(
                conn, error_frame(request_id, INVALID_SIGNATURE, PRIVATE_REFUSED_MESSAGE)
            )
            log.info("ws#%d: fault: private subscription refused", conn.id)
        elif private:
            account_id = self._authenticate(conn, request_id, signature)
        for name, kind in kinds.items():
            if kind == "public":
                conn.public.add(name)
                subs = self._public.get(name)
                if subs is None:
                    subs = self._public[name] = set()
                    self._aggregated += _is_aggregated(name)
                    self._depth_interest_changed(name)
                subs.add(conn)
        if account_id is None:
            return
        for name in private:
            key = (name, account_id)
            if key in conn.private:
                continue
            conn.private.add(key)
            self._private.setdefault(key, set()).add(conn)
            if name.startswith("account.positionUpdate") and engine is not None:
                symbol = name[len("account.positionUpdate.") :] or None
                for snapshot in engine.position_snapshot(account_id, symbol):
                    self._send_now(conn, data_frame(name, snapshot))

    def _authenticate(self, conn: Connection, request_id: Any, signature: Any) -> int | None:
        if signature is None:
            self._send_now(conn, error_frame(request_id, INVALID_SIGNATURE, "Missing signature"))
            return None
        try:
            api_key = verify_ws_signature(signature, self.now_ms(), self.auth_policy)
        except SimError as exc:
            self._send_now(conn, error_frame(request_id, INVALID_SIGNATURE, exc.message))
            return None
        account_id = self.engine.account_for_key(api_key) if self.engine is not None else None
        if account_id is None:
            self._send_now(conn, error_frame(request_id, INVALID_SIGNATURE, "Unknown API key"))
        return account_id

    def _unsubscribe(self, conn: Connection, streams: list[str]) -> None:
        for name in streams:
            if name in conn.public:
                conn.public.discard(name)
                self._discard(self._public, name, conn)
            for key in [key for key in conn.private if key[0] == name]:
                conn.private.discard(key)
                self._discard(self._private, key, conn)

    def _discard(self, index: dict[Any, set[Connection]], key: Any, conn: Connection) -> None:
        subs = index.get(key)
        if subs is not None:
            subs.discard(conn)
            if not subs:
                del index[key]
                if index is self._public:
                    self._aggregated -= _is_aggregated(key)
                    self._depth_interest_changed(key)

    def _forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        for name in conn.public:
            self._discard(self._public, name, conn)
        for key in conn.private:
            self._discard(self._private, key, conn)
        conn.public.clear()
        conn.private.clear()

    # ---------------------------------------------------------------- keepalive

    async def _keepalive_loop(self) -> None:
        """Server pings: every ``ping_interval``; no pong in ``pong_timeout`` -> close."""
        tick = max(0.01, min(self.ping_interval, self.pong_timeout) / 4)
        while True:
            await asyncio.sleep(tick)
            if self.faults.silent():
                continue
            now = time.monotonic()
            for conn in list(self.connections):
                if conn.closed:
                    continue
                since = conn.awaiting_pong_since
                if since is not None and now - since > self.pong_timeout:
                    log.info("ws#%d: no pong in %.1fs; closing", conn.id, self.pong_timeout)
                    self._forget(conn)
                    conn.closed = True
                    conn.wake.set()
                    task = asyncio.create_task(self._close(conn, 1000))
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
                    continue
                if now - conn.last_ping >= self.ping_interval:
                    conn.last_ping = now
                    if since is None:
                        conn.awaiting_pong_since = now
                    with contextlib.suppress(Exception):
                        await conn.ws.ping()
