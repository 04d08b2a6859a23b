"""Section ``book``: µs per depth message for ``OrderBook.on_delta`` + a top-20 read.

The top-20 of both sides is read after *every* message (the ladder reads one frame in
many, so this is the worst case), as the reference measurement did (docs/PERFORMANCE.md
"Order book"). The cumulative-size column is computed lazily when a frame first reads
it; ``with_cumulative_us`` is the cost if it were read after every message too.
The final book is checked against the generator's reference before any figure is
reported: a fast wrong book fails.
"""

from __future__ import annotations

import gc
import time

from bpx_tui.benchmarks.book_synth import SynthStream, check_book
from bpx_tui.benchmarks.common import Data, Plan, Row, median, repeat
from bpx_tui.exchange.book import OrderBook

TARGET_US = 4.0


def _run(stream: SynthStream, *, read: bool, cumulative: bool = False) -> float:
    book = OrderBook(stream.symbol)
    if not book.on_snapshot(stream.snapshot):
        raise AssertionError("the synthetic snapshot did not sync")
    on_delta, bids, asks = book.on_delta, book.bids, book.asks
    messages = stream.messages
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        if cumulative:
            for message in messages:
                on_delta(message)
                bids(20)[-1].cumulative  # noqa: B018 - the read is the point
                asks(20)[-1].cumulative  # noqa: B018
        elif read:
            for message in messages:
                on_delta(message)
                bids(20)
                asks(20)
        else:
            for message in messages:
                on_delta(message)
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    check_book(book, stream)
    return elapsed * 1e6 / len(messages)


def run(plan: Plan, data: Data) -> list[Row]:
    return [measure(data.stream, plan.reps)]


def measure(stream: SynthStream, reps: int) -> Row:
    """The section's row for ``stream``; apart from ``run`` so a test can use a tiny stream."""
    read = repeat(lambda: _run(stream, read=True), reps)
    apply_only = repeat(lambda: _run(stream, read=False), reps)
    with_cumulative = repeat(lambda: _run(stream, read=True, cumulative=True), reps)
    value = median(read)
    per_message = stream.level_updates / len(stream.messages)
    detail = {
        "runs_us": [round(v, 3) for v in read],
        "apply_only_us": round(median(apply_only), 3),
        "with_cumulative_us": round(median(with_cumulative), 3),
        "messages": len(stream.messages),
        "level_updates_per_message": round(per_message, 2),
    }
    metric = "apply + top-20 read per message"
    return Row.against("book", metric, value, "µs/msg", TARGET_US, digits=3, detail=detail)
