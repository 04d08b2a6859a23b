"""A dedicated blast path for ``bpx-tui bench``: pre-encoded depth frames, as fast as asked.

The full local exchange (:class:`~bpx_tui.sim.server.SimServer`) builds every frame from
its engine and goes through the hub's per-connection queues; that is right for the demo
and far too slow to saturate a client. Here the frames are encoded once, before any
clock starts, and written to the socket as finished WebSocket frames in large chunks,
so the server costs well under a microsecond per message and the client is what gets
measured.

It speaks just enough of Backpack's protocol for :class:`BackpackClient` to sync a book:
``/api/v1/markets`` (one market), ``/api/v1/depth`` (the stream's snapshot), empty lists
for the list endpoints the console polls, and ``SUBSCRIBE`` on the WebSocket. With
``side`` (:mod:`~bpx_tui.sim.synthetic.side_markets`) it also lists the rest of the
universe and streams each subscribed mark and ticker once a second; their books are
empty and still.

Sync handshake: the first frame is sent (and repeated every 50 ms, stale repeats are
ignored by the book) until the client fetches the snapshot; only then does the blast
start, so the client's pre-snapshot buffer never overflows.

Streams longer than the encoded feed are replayed in cycles with the update ids shifted
by the feed's span, so a million messages need only a few hundred thousand encoded ones:
depth levels are absolute, so a replay is still a valid, bounded book.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from bpx_tui.benchmarks.book_synth import SynthStream
from bpx_tui.sim.synthetic.side_markets import SideMarkets

__all__ = [
    "BlastFeed",
    "BlastInfo",
    "BlastServer",
    "encode_feed",
    "serve_in_subprocess",
    "ws_frame",
]

# Pause writing while this much is waiting in the transport: enough to keep the socket
# full between two checks, small enough that a paced stream is not delayed.
_HIGH_WATER = 1 << 20
_CHUNK = 128  # frames per transport.write when blasting flat out
_PACE_TICK_S = 0.002
_RESEND_FIRST_S = 0.05
_SIDE_EVERY_S = 1.0
_STILL_BOOK = b'{"asks":[],"bids":[],"lastUpdateId":"1","timestamp":0}'
_EMPTY_LISTS = ("tickers", "markPrices", "openInterest", "klines", "trades", "fundingRates")


def ws_frame(payload: bytes) -> bytes:
    """A finished, unmasked server-to-client text frame (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload


@dataclass(frozen=True)
class BlastFeed:
    """A synthetic depth stream, encoded except for its update ids (shifted per cycle)."""

    symbol: str
    market: dict[str, Any]
    snapshot: dict[str, Any]
    heads: list[bytes]  # b'{"stream":...,"data":{...' without U/u and the closing braces
    ids: list[tuple[int, int]]  # (U, u) of each message

    @property
    def span(self) -> int:
        """How far the ids move per replay of the whole feed."""
        return self.ids[-1][1] - self.ids[0][0] + 1

    def last_update_id(self, total: int) -> int:
        """The ``u`` of message number ``total - 1`` of an endless replay."""
        cycle, index = divmod(total - 1, len(self.ids))
        return self.ids[index][1] + cycle * self.span

    def frame(self, number: int) -> bytes:
        """Message ``number`` of the endless replay, as finished wire bytes."""
        cycle, index = divmod(number, len(self.ids))
        first, last = self.ids[index]
        shift = cycle * self.span
        payload = b'%s,"U":%d,"u":%d}}' % (self.heads[index], first + shift, last + shift)
        return ws_frame(payload)


def encode_feed(stream: SynthStream, market: dict[str, Any]) -> BlastFeed:
    """Encode every message once; only the ids are formatted at send time."""
    if not stream.messages:
        raise ValueError("an empty stream cannot be blasted")
    prefix = b'{"stream":"depth.' + stream.symbol.encode() + b'","data":'
    heads: list[bytes] = []
    ids: list[tuple[int, int]] = []
    for message in stream.messages:
        body = {key: value for key, value in message.items() if key not in ("U", "u")}
        heads.append(prefix + orjson.dumps(body)[:-1])
        ids.append((int(message["U"]), int(message["u"])))
    return BlastFeed(stream.symbol, market, stream.snapshot, heads, ids)


@dataclass(frozen=True)
class BlastInfo:
    """Where a running blast server listens and what the last update id will be."""

    rest_url: str
    ws_url: str
    last_update_id: int
    total: int


class BlastServer:
    """Serves one :class:`BlastFeed` to each client that subscribes to its depth stream.

    ``rate`` is messages per second (``None``: as fast as the socket takes them) and
    ``total`` how many each connection gets. Connections are served one after another
    in the bench; each gets the stream from its start (the snapshot lines up with it).
    """

    def __init__(
        self,
        feed: BlastFeed,
        *,
        total: int,
        rate: float | None = None,
        side: SideMarkets | None = None,
    ) -> None:
        if total < 1:
            raise ValueError("total must be at least 1")
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for flat out)")
        self.feed = feed
        self.side = side
        self.total = total
        self.rate = rate
        self.sent = 0
        self.snapshots = 0
        self.side_sent = 0
        self._snapshot_served = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._blasts: set[asyncio.Task[None]] = set()

    @property
    def info(self) -> BlastInfo:
        base = f"{self._host}:{self._port}"
        return BlastInfo(
            f"http://{base}", f"ws://{base}/", self.feed.last_update_id(self.total), self.total
        )

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        app = web.Application()
        app.router.add_get("/", self._ws)
        app.router.add_get("/api/v1/markets", self._markets)
        app.router.add_get("/api/v1/depth", self._depth)
        for name in _EMPTY_LISTS:
            app.router.add_get(f"/api/v1/{name}", self._empty)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._host = host
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1] if sockets else port
        return self._port

    async def stop(self) -> None:
        for task in list(self._blasts):
            task.cancel()
        await asyncio.gather(*self._blasts, return_exceptions=True)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _markets(self, request: web.Request) -> web.Response:
        listing = [self.feed.market, *(self.side.listing if self.side else ())]
        return web.Response(body=orjson.dumps(listing), content_type="application/json")

    async def _depth(self, request: web.Request) -> web.Response:
        if request.query.get("symbol", self.feed.symbol) != self.feed.symbol:
            return web.Response(body=_STILL_BOOK, content_type="application/json")
        self.snapshots += 1
        body = orjson.dumps(self.feed.snapshot)
        self._snapshot_served.set()
        return web.Response(body=body, content_type="application/json")

    async def _empty(self, request: web.Request) -> web.Response:
        return web.Response(body=b"[]", content_type="application/json")

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=404, text="not found")
        ws = web.WebSocketResponse(compress=False, autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        transport = request.transport
        wanted = f"depth.{self.feed.symbol}"
        blast: asyncio.Task[None] | None = None
        side_streams: dict[str, None] = {}  # this connection's, in subscription order
        tasks: list[asyncio.Task[None]] = []
        assert transport is not None
        if self.side is not None:
            tasks.append(asyncio.create_task(self._side(transport, side_streams)))
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError):
                    frame = orjson.loads(message.data)
                    if frame.get("method") != "SUBSCRIBE":
                        continue
                    params = frame.get("params", ())
                    if self.side is not None:
                        side_streams.update((s, None) for s in params if s in self.side.streams)
                    if blast is None and wanted in params:
                        self._snapshot_served.clear()
                        blast = asyncio.create_task(self._blast(transport))
                        self._blasts.add(blast)
                        blast.add_done_callback(self._blasts.discard)
                        tasks.append(blast)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return ws

    async def _side(self, transport: asyncio.Transport, streams: dict[str, None]) -> None:
        """Once a second, one frame of each subscribed side stream, written whole between
        two of the blast's writes (both write finished frames, so they never interleave)."""
        assert self.side is not None
        tick = 0
        while not transport.is_closing():
            frames = self.side.frames(list(streams), tick)
            if frames:
                transport.write(b"".join(ws_frame(payload) for payload in frames))
                self.side_sent += len(frames)
            tick += 1
            await asyncio.sleep(_SIDE_EVERY_S)

    async def _blast(self, transport: asyncio.Transport) -> None:
        feed = self.feed
        first = feed.frame(0)
        while not self._snapshot_served.is_set():
            if transport.is_closing():
                return
            transport.write(first)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._snapshot_served.wait(), _RESEND_FIRST_S)
        self.sent = 1
        if self.rate is None:
            await self._flat_out(transport)
        else:
            await self._paced(transport, self.rate)

    async def _flat_out(self, transport: asyncio.Transport) -> None:
        frame = self.feed.frame
        total = self.total
        number = 1
        while number < total and not transport.is_closing():
            end = min(total, number + _CHUNK)
            transport.write(b"".join([frame(i) for i in range(number, end)]))
            number = end
            self.sent = number
            # Polling, not an Event: pause/resume_writing go to aiohttp's protocol, not us.
            full = transport.get_write_buffer_size
            while full() > _HIGH_WATER and not transport.is_closing():  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            await asyncio.sleep(0)  # let pings, pongs and a close through

    async def _paced(self, transport: asyncio.Transport, rate: float) -> None:
        frame = self.feed.frame
        total = self.total
        number = 1
        start = time.perf_counter()
        while number < total and not transport.is_closing():
            due = min(total, 1 + int((time.perf_counter() - start) * rate))
            if due > number and transport.get_write_buffer_size() <= _HIGH_WATER:
                transport.write(b"".join([frame(i) for i in range(number, due)]))
                number = due
                self.sent = number
            await asyncio.sleep(_PACE_TICK_S)


def _child(
    feed: BlastFeed, total: int, rate: float | None, side: SideMarkets | None, pipe: Connection
) -> None:
    async def serve() -> None:
        server = BlastServer(feed, total=total, rate=rate, side=side)
        await server.start()
        pipe.send(server.info)
        loop = asyncio.get_running_loop()
        try:
            while not await loop.run_in_executor(None, pipe.poll, 0.2):
                pass
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt, EOFError, BrokenPipeError):
        asyncio.run(serve())


@contextlib.contextmanager
def serve_in_subprocess(
    feed: BlastFeed,
    *,
    total: int,
    rate: float | None = None,
    side: SideMarkets | None = None,
    timeout: float = 30.0,
) -> Iterator[BlastInfo]:
    """Run a :class:`BlastServer` in a forked process (its own core and event loop).

    Forking hands the already-encoded feed to the child for free; the parent must not
    have a running event loop at that moment (the bench runs sections one by one).
    """
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    process = context.Process(target=_child, args=(feed, total, rate, side, theirs), daemon=True)
    process.start()
    try:
        if not ours.poll(timeout):
            raise RuntimeError("the blast server did not start")
        info: BlastInfo = ours.recv()
        yield info
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        process.join(5.0)
        if process.is_alive():
            process.terminate()
            process.join(2.0)
        ours.close()
        theirs.close()
