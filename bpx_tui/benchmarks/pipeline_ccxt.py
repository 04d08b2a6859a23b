"""Section ``pipeline-vs-ccxt``: the whole pipeline beside ccxt.pro and beside a bare floor.

Three consumers of the same blast server (its own forked process, the same pre-encoded
frames for every connection), interleaved round by round so a load spike on the shared
VM hits all three alike:

* **ours**: :class:`BackpackClient` on the default transport, the console's
  :class:`Feed` attached, and a top-20 read of both sides in every depth callback;
* **ccxt**: ccxt.pro's ``backpack.watch_order_book`` in the loop its documentation
  shows, every URL pointed at the server, reading the top 20 of both sides every time
  it returns (it wakes once per batch of frames, not per frame: that is its design);
* **floor**: no client at all: an aiohttp WebSocket reader, ``orjson.loads`` and our
  :class:`OrderBook` with the same top-20 read: what the client's own layers
  (transport wrapper, stream, dispatch, events) are measured against.

Each run is msg/s from the first message applied after the book synced to the last;
the ratios are medians of the per-round ratios (the two figures of one round shared
its load). Every book is checked at the end: a fast wrong book fails the section.
docs/PERFORMANCE.md "Pipeline against ccxt.pro and the floor" has the figures.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from bpx_tui.benchmarks.book_synth import SynthStream, check_book
from bpx_tui.benchmarks.common import SYMBOL, Data, Plan, Row, calibration_us, median
from bpx_tui.exchange.book import DeltaResult, OrderBook
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.events import BookChanged
from bpx_tui.exchange.transport import MAX_MESSAGE
from bpx_tui.sim.synthetic.blast import BlastFeed, BlastInfo, serve_in_subprocess
from bpx_tui.ui.feed import Feed

SECTION = "pipeline-vs-ccxt"
TARGET_VS_CCXT = 3.0
TARGET_OF_FLOOR = 85.0  # percent
TOP = 20
CONSUMERS = ("ours", "ccxt", "floor")
_NOTES = {
    "ours": "BackpackClient, default transport, Feed attached",
    "ccxt": "ccxt.pro backpack watch_order_book loop",
    "floor": "aiohttp reader + orjson + OrderBook, no client",
}


_Stamp = tuple[float, float]  # (perf_counter, process_time)


def _stamp() -> _Stamp:
    return time.perf_counter(), time.process_time()


@dataclass(frozen=True)
class _Run:
    """One consumer's run: messages applied between two stamps."""

    messages: int
    start: _Stamp
    end: _Stamp

    @property
    def rate(self) -> float:
        """Messages a wall-clock second: what a user would see on an idle machine."""
        return self.messages / (self.end[0] - self.start[0])

    @property
    def cpu_rate(self) -> float:
        """Messages a second of this process's CPU: what the consumer costs, whatever
        else the shared VM runs meanwhile (the server is another process)."""
        return self.messages / max(self.end[1] - self.start[1], 1e-9)


def _timeout(info: BlastInfo) -> float:
    return 60.0 + info.total / 2_000  # ccxt is the slow one; even it does 2k msgs/s


async def _ours(info: BlastInfo, data: Data) -> _Run:
    """The product's client; the consumer does what the floor's loop does, no more."""
    client = BackpackClient(info.rest_url, info.ws_url)
    Feed(active=SYMBOL).attach(client)
    done: asyncio.Future[_Stamp] = asyncio.get_running_loop().create_future()
    last = info.last_update_id
    start: list[tuple[_Stamp, int]] = []
    try:
        await client.start([SYMBOL])
        # Safe to subscribe now: the book syncs in a task that has not run yet, and
        # the server holds the blast until the snapshot is served.
        book = client.books[SYMBOL]
        bids, asks = book.bids, book.asks

        def on_depth(_event: BookChanged) -> None:
            bids(TOP)
            asks(TOP)
            if not start:
                start.append((_stamp(), book.messages))
            elif book.last_update_id >= last and not done.done():
                done.set_result(_stamp())

        client.subscribe(BookChanged, on_depth)
        end = await done
    finally:
        await client.close()
    check_book(book, data.stream)
    began, first = start[0]
    return _Run(book.messages - first, began, end)


async def _floor(info: BlastInfo, data: Data) -> _Run:
    """The least a Python consumer of this stream can do: read, decode, apply, read top."""
    applied = DeltaResult.APPLIED
    book = OrderBook(SYMBOL)
    on_delta, bids, asks = book.on_delta, book.bids, book.asks
    loads = orjson.loads
    last = info.last_update_id
    subscribe = orjson.dumps({"method": "SUBSCRIBE", "params": [f"depth.{SYMBOL}"]}).decode()
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            info.ws_url, compress=0, max_msg_size=MAX_MESSAGE, decode_text=False
        ) as ws,
    ):
        await ws.send_str(subscribe)
        receive = ws.receive
        # Sync as the client does: buffer the first delta, then line the snapshot up.
        on_delta(loads((await receive()).data)["data"])
        depth = f"{info.rest_url}/api/v1/depth"
        async with session.get(depth, params={"symbol": SYMBOL}) as response:
            if not book.on_snapshot(loads(await response.read())):
                raise AssertionError("the floor's snapshot did not sync")
        start: _Stamp | None = None
        first = 0
        while book.last_update_id < last:
            message = await receive()
            if on_delta(loads(message.data)["data"]) is applied:
                bids(TOP)
                asks(TOP)
                if start is None:
                    start = _stamp()
                    first = book.messages
        end = _stamp()
    check_book(book, data.stream)
    assert start is not None
    return _Run(book.messages - first, start, end)


async def _ccxt(info: BlastInfo, data: Data) -> _Run:
    import ccxt.pro

    exchange = ccxt.pro.backpack({"enableRateLimit": False})
    api = exchange.urls["api"]
    for key, value in api.items():
        if isinstance(value, dict):
            for name in value:
                value[name] = info.ws_url
        else:
            api[key] = info.rest_url
    # Markets as the server would list them, without ccxt's extra start-up requests.
    exchange.set_markets(exchange.parse_markets([data.market]))
    # No wait for 10 deltas before the snapshot: the server holds the blast until it.
    exchange.options.setdefault("watchOrderBook", {})["snapshotDelay"] = 0
    symbol = exchange.safe_symbol(SYMBOL)
    position = _positions(data.feed)
    last = info.last_update_id
    start: _Stamp | None = None
    first = 0
    try:
        while True:
            book = await exchange.watch_order_book(symbol)
            book["bids"][:TOP]  # the read is the point
            book["asks"][:TOP]
            nonce = book["nonce"]
            if start is None:
                start = _stamp()
                first = nonce
            elif nonce >= last:
                end = _stamp()
                break
    finally:
        await exchange.close()
    _check_ccxt(exchange.orderbooks[symbol], data.stream)
    return _Run(position[last] - position[first], start, end)


def _positions(feed: BlastFeed) -> dict[int, int]:
    """Message number by its ``u``: ccxt keeps no count, only the last id applied."""
    return {last: number for number, (_, last) in enumerate(feed.ids)}


def _check_ccxt(book: Any, stream: SynthStream) -> None:
    for side, key in (("Bid", "bids"), ("Ask", "asks")):
        want = [[float(price), float(size)] for price, size in stream.top(side, TOP)]
        if [list(level) for level in book[key][:TOP]] != want:
            raise AssertionError("ccxt's book differs from the synthetic reference")


_RUNS: dict[str, Callable[[BlastInfo, Data], Awaitable[_Run]]] = {
    "ours": _ours,
    "ccxt": _ccxt,
    "floor": _floor,
}


def _one(name: str, info: BlastInfo, data: Data) -> _Run:
    gc.collect()

    async def bounded() -> _Run:
        return await asyncio.wait_for(_RUNS[name](info, data), _timeout(info))

    return asyncio.run(bounded())


def run(plan: Plan, data: Data) -> list[Row]:
    try:
        import ccxt.pro  # noqa: F401
    except ImportError:
        return [Row(SECTION, "ours vs ccxt.pro msg/s", None, "x", note="ccxt not installed")]
    total = len(data.stream.messages)
    data.feed  # noqa: B018 - built (and frozen) before any clock starts
    # ccxt's import leaves ~170k objects for the collector to walk in every consumer's
    # full collections; the console never imports it, so they are frozen out as the
    # bench's own data is (see ``Data``).
    gc.collect()
    gc.freeze()
    runs: dict[str, list[_Run]] = {name: [] for name in CONSUMERS}
    calibrations: list[float] = []
    with serve_in_subprocess(data.feed, total=total) as info:
        for number in range(plan.reps + 1):  # the first round is the warm-up
            # Rotated, so no consumer always runs first after the collector or last.
            order = CONSUMERS[number % 3 :] + CONSUMERS[: number % 3]
            measured = {name: _one(name, info, data) for name in order}
            if number:
                calibrations.append(calibration_us())
                for name in CONSUMERS:
                    runs[name].append(measured[name])
    return _rows(runs, calibrations, total)


def _rows(runs: dict[str, list[_Run]], calibrations: list[float], total: int) -> list[Row]:
    ours, ccxt, floor = (runs[name] for name in CONSUMERS)
    common = {"messages": total, "sum_1000_us_per_round": calibrations}
    rows = [
        Row(
            SECTION,
            f"{name}: loopback WS -> book -> top-{TOP} read",
            round(median([run.rate for run in runs[name]])),
            "msg/s",
            detail={
                "runs": [round(run.rate) for run in runs[name]],
                "cpu_msg_s": round(median([run.cpu_rate for run in runs[name]])),
                "cpu_runs": [round(run.cpu_rate) for run in runs[name]],
                "cpu_us_per_message": round(1e6 / median([r.cpu_rate for r in runs[name]]), 3),
                **common,
            },
            note=_NOTES[name],
        )
        for name in CONSUMERS
    ]
    rows.append(
        _ratio("ours ÷ ccxt.pro watch_order_book", ours, ccxt, 1.0, TARGET_VS_CCXT, "x", common)
    )
    rows.append(
        _ratio("ours ÷ the in-process floor", ours, floor, 100.0, TARGET_OF_FLOOR, "%", common)
    )
    return rows


def _ratio(
    metric: str,
    ours: list[_Run],
    other: list[_Run],
    scale: float,
    target: float,
    unit: str,
    common: dict[str, Any],
) -> Row:
    """The median of the per-round ratios of CPU throughput (each round's pair shared
    its load); the wall-clock ratios are in the detail."""
    cpu = [scale * a.cpu_rate / b.cpu_rate for a, b in zip(ours, other, strict=True)]
    wall = [scale * a.rate / b.rate for a, b in zip(ours, other, strict=True)]
    digits = 2 if unit == "x" else 1
    detail = {
        "runs": [round(r, digits) for r in cpu],
        "wall_clock": round(median(wall), digits),
        "wall_clock_runs": [round(r, digits) for r in wall],
        **common,
    }
    return Row.against(
        SECTION,
        f"{metric} (msg per CPU-second, per round)",
        median(cpu),
        unit,
        target,
        floor=True,
        digits=digits,
        detail=detail,
    )
