"""Sections ``pipeline`` and ``memory``: the real client fed by a blast server.

The server runs in a forked process (:func:`bpx_tui.sim.synthetic.blast.serve_in_subprocess`)
so the two event loops do not share a core; all timing is on the client side, from
the first depth callback after the book synced to the callback of the last message.
The client is the product's :class:`BackpackClient` with its books and the console's
own :class:`Feed` callbacks attached, so a message costs here what it costs the app.
The pipeline row is measured once per WebSocket transport (config ``ws_transport``),
side by side on the same server and frames, because that choice is most of the
difference (docs/PERFORMANCE.md "WebSocket transport"); the default comes first.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass

from bpx_tui.benchmarks.book_synth import check_book
from bpx_tui.benchmarks.common import SYMBOL, Data, Plan, Row, median, rss_bytes
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.events import BookChanged
from bpx_tui.exchange.transport import DEFAULT_TRANSPORT, TRANSPORTS, TransportName
from bpx_tui.sim.synthetic.blast import BlastInfo, serve_in_subprocess
from bpx_tui.ui.feed import Feed

TARGET_MSGS = 60_000
TARGET_MB = 20.0


@dataclass
class Drive:
    """What one connection measured."""

    applied: int
    seconds: float
    rss_start: int
    rss_end: int
    rss_peak: int
    client: BackpackClient

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds > 0 else 0.0


async def drive(
    info: BlastInfo, *, sample_rss_every: int = 0, transport: TransportName = DEFAULT_TRANSPORT
) -> Drive:
    """Connect a fresh client, let the server blast ``info.total`` messages, measure."""
    timeout = 60.0 + info.total / 5_000  # even a slow, loaded VM does 5k msgs/s
    client = BackpackClient(info.rest_url, info.ws_url, ws_transport=transport)
    feed = Feed(active=SYMBOL)
    feed.attach(client)
    done = asyncio.get_running_loop().create_future()
    start = 0.0
    first_count = 0
    rss_start = rss_peak = 0
    count = 0

    def on_depth(event: BookChanged) -> None:
        nonlocal start, first_count, rss_start, rss_peak, count
        book = client.books[event.symbol]
        if not start:
            start = time.perf_counter()
            first_count = book.messages
            rss_start = rss_peak = rss_bytes()
        count += 1
        if sample_rss_every and count % sample_rss_every == 0:
            rss_peak = max(rss_peak, rss_bytes())
        if book.last_update_id >= info.last_update_id and not done.done():
            done.set_result(time.perf_counter())

    client.subscribe(BookChanged, on_depth)
    try:
        await client.start([SYMBOL])
        end = await asyncio.wait_for(done, timeout)
        book = client.books[SYMBOL]
        applied = book.messages - first_count
        rss_end = rss_bytes()
    finally:
        await client.close()
    return Drive(applied, end - start, rss_start, rss_end, max(rss_peak, rss_end), client)


def _pipeline(plan: Plan, data: Data) -> list[Row]:
    stream = data.stream
    total = len(stream.messages)
    order = [DEFAULT_TRANSPORT, *(t for t in TRANSPORTS if t != DEFAULT_TRANSPORT)]
    rates: dict[TransportName, list[float]] = {t: [] for t in order}
    with serve_in_subprocess(data.feed, total=total) as info:
        for rep in range(plan.reps + 1):  # the first is the warm-up
            # Interleaved, so a load spike on the shared VM hits both transports alike.
            for transport in order:
                gc.collect()
                result = asyncio.run(drive(info, transport=transport))
                check_book(result.client.books[SYMBOL], stream)
                if rep:
                    rates[transport].append(result.rate)
    rows = []
    for transport in order:
        value = median(rates[transport])
        detail = {
            "transport": transport,
            "default": transport == DEFAULT_TRANSPORT,
            "runs": [round(r) for r in rates[transport]],
            "messages": total,
            "us_per_message": round(1e6 / value, 2) if value else None,
        }
        metric = f"loopback WS ({transport}) -> client -> book -> callback"
        rows.append(
            Row.against(
                "pipeline",
                metric,
                value,
                "msg/s",
                TARGET_MSGS,
                floor=True,
                digits=None,
                detail=detail,
                note="the default ws_transport" if transport == DEFAULT_TRANSPORT else "",
            )
        )
    return rows


def _memory(plan: Plan, data: Data) -> Row:
    total = plan.memory_messages
    reps = 1 if plan.quick else min(plan.reps, 3)  # a count of bytes, not a timing
    growths: list[float] = []
    peaks: list[float] = []
    with serve_in_subprocess(data.feed, total=total) as info:
        for _ in range(reps):
            gc.collect()
            result = asyncio.run(drive(info, sample_rss_every=10_000))
            growths.append((result.rss_end - result.rss_start) / 1e6)
            peaks.append((result.rss_peak - result.rss_start) / 1e6)
            book = result.client.books[SYMBOL]
            if result.applied < total - 1 or book.last_update_id != info.last_update_id:
                raise AssertionError("the memory run did not apply every message")
    value = median(growths)
    detail = {
        "runs_mb": [round(g, 2) for g in growths],
        "peak_growth_mb": round(median(peaks), 2),
        "messages": total,
    }
    return Row.against(
        "memory",
        f"RSS growth over {total:,} depth messages",
        value,
        "MB",
        TARGET_MB,
        digits=2,
        detail=detail,
        note="RSS after the book synced -> after the last message, same process",
    )


def run_pipeline(plan: Plan, data: Data) -> list[Row]:
    return _pipeline(plan, data)


def run_memory(plan: Plan, data: Data) -> list[Row]:
    return [_memory(plan, data)]
