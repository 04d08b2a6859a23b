"""Section ``ccxt``: the same decoded frames through ccxt.pro's Backpack book handling.

Both sides get identical already-decoded ``{"stream", "data"}`` frames, in process, with
no network: ours through the client's stream dispatch (``BackpackClient._on_message``,
exactly what the WebSocket reader calls) into the book and the console's callbacks,
ccxt's through ``backpack.handle_message`` into its ``OrderBook`` (seeded from the same
REST snapshot, as its ``watch_order_book`` would be). Decoding and sockets are left
out on both sides, so the ratio compares only the code that differs.

The second row is the book itself: our ``OrderBook.on_delta`` and a top-20 read of
both sides after every message against ccxt's handler with the same read, the
target of issue #19 (>= 4x). The sockets and decoding are in section
``pipeline-vs-ccxt``.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from bpx_tui.benchmarks.book_synth import check_book
from bpx_tui.benchmarks.common import SYMBOL, Data, Plan, Row, median, repeat
from bpx_tui.exchange.book import OrderBook
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.models import Market
from bpx_tui.ui.feed import Feed

TARGET_RATIO = 1.3
TARGET_BOOK_RATIO = 4.0
TOP = 20
WARMUP_FRAMES = 5_000


class _NoClient:
    """ccxt resolves futures of pending ``watch_*`` calls here; there are none."""

    def resolve(self, result: Any, message_hash: str) -> None:
        return None


def _timed(frames: list[dict[str, Any]], handle: Any) -> float:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for frame in frames:
            handle(frame)
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def _ours(data: Data, frames: list[dict[str, Any]] | None = None) -> float:
    client = BackpackClient("http://127.0.0.1:9", "ws://127.0.0.1:9/")
    client.markets = {SYMBOL: Market.from_api(data.market)}
    client.watch(SYMBOL)
    Feed(active=SYMBOL).attach(client)
    book = client.books[SYMBOL]
    if not book.on_snapshot(data.stream.snapshot):
        raise AssertionError("the synthetic snapshot did not sync")
    on_message = client._on_message
    feed = data.frames if frames is None else frames
    elapsed = _timed(feed, lambda frame: on_message(frame["stream"], frame["data"]))
    if frames is None:
        check_book(book, data.stream)
    return elapsed * 1e6 / len(feed)


def _book(data: Data, frames: list[dict[str, Any]] | None = None) -> float:
    """Our book alone: apply, then read the top 20 of both sides."""
    book = OrderBook(SYMBOL)
    if not book.on_snapshot(data.stream.snapshot):
        raise AssertionError("the synthetic snapshot did not sync")
    on_delta, bids, asks = book.on_delta, book.bids, book.asks

    def handle(frame: dict[str, Any]) -> None:
        on_delta(frame["data"])
        bids(TOP)
        asks(TOP)

    feed = data.frames if frames is None else frames
    elapsed = _timed(feed, handle)
    if frames is None:
        check_book(book, data.stream)
    return elapsed * 1e6 / len(feed)


def _ccxt(data: Data, frames: list[dict[str, Any]] | None = None, *, read: bool = False) -> float:
    import ccxt.pro

    exchange = ccxt.pro.backpack()
    exchange.set_markets(exchange.parse_markets([data.market]))
    symbol = exchange.safe_symbol(SYMBOL)
    snapshot = exchange.parse_order_book(data.stream.snapshot, symbol)
    snapshot["nonce"] = int(data.stream.snapshot["lastUpdateId"])
    exchange.orderbooks[symbol] = exchange.order_book(snapshot)
    client = _NoClient()
    feed = data.frames if frames is None else frames
    handle_message = exchange.handle_message
    stored = exchange.orderbooks[symbol]

    def handle_and_read(frame: dict[str, Any]) -> None:
        handle_message(client, frame)
        stored["bids"][:TOP]  # the read is the point
        stored["asks"][:TOP]

    if read:
        elapsed = _timed(feed, handle_and_read)
    else:
        elapsed = _timed(feed, lambda frame: handle_message(client, frame))
    if frames is not None:
        return elapsed * 1e6 / len(feed)
    book = exchange.orderbooks[symbol]
    top = [[float(p), float(s)] for p, s in data.stream.top("Bid", 20)]
    if [list(level) for level in book["bids"][:20]] != top:
        raise AssertionError("ccxt's book differs from the synthetic reference")
    return elapsed * 1e6 / len(data.frames)


def run(plan: Plan, data: Data) -> list[Row]:
    try:
        import ccxt.pro  # noqa: F401
    except ImportError:
        return [Row("ccxt", "ours vs ccxt.pro backpack", None, "x", note="ccxt not installed")]
    # Warm-ups on a slice: ccxt is slow enough that a full extra pass would dominate.
    head = data.frames[:WARMUP_FRAMES]
    ours = repeat(lambda: _ours(data), plan.reps, warmup=lambda: _ours(data, head))
    theirs = repeat(lambda: _ccxt(data), plan.reps, warmup=lambda: _ccxt(data, head))
    ratio = median(theirs) / median(ours)
    detail = {
        "ours_us": round(median(ours), 3),
        "ccxt_us": round(median(theirs), 3),
        "messages": len(data.frames),
    }
    metric = "ccxt.pro backpack µs/msg ÷ ours (same decoded frames)"
    book = repeat(lambda: _book(data), plan.reps, warmup=lambda: _book(data, head))
    theirs_read = repeat(
        lambda: _ccxt(data, read=True), plan.reps, warmup=lambda: _ccxt(data, head, read=True)
    )
    book_detail = {
        "ours_us": round(median(book), 3),
        "ccxt_us": round(median(theirs_read), 3),
        "messages": len(data.frames),
    }
    book_metric = f"book apply + top-{TOP}: ccxt.pro handler µs/msg ÷ our OrderBook"
    return [
        Row.against("ccxt", metric, ratio, "x", TARGET_RATIO, floor=True, digits=2, detail=detail),
        Row.against(
            "ccxt",
            book_metric,
            median(theirs_read) / median(book),
            "x",
            TARGET_BOOK_RATIO,
            floor=True,
            digits=2,
            detail=book_detail,
        ),
    ]
