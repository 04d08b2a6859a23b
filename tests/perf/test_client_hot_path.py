"""The client's per-message path after its optimisation keeps every behaviour it had.

Depth dispatch goes through a route cache and an inlined callback loop; these tests pin
what must not change: unknown streams are ignored (and never grow the cache without
bound), a broken depth callback is counted and reported while the others still run,
and ``last_message_at`` still tells when the last frame arrived.
"""

from __future__ import annotations

import asyncio

import pytest

from bpx_tui.benchmarks.book_synth import check_book
from bpx_tui.benchmarks.common import SYMBOL, Data, Plan
from bpx_tui.exchange.client import ROUTES_KEPT, BackpackClient
from bpx_tui.exchange.events import (
    BookChanged,
    BookStateChanged,
    ErrorReported,
    TickerUpdated,
    TradePrinted,
)
from bpx_tui.exchange.models import Market
from bpx_tui.sim.synthetic.blast import BlastServer, encode_feed


@pytest.fixture(scope="module")
def data() -> Data:
    return Data(Plan(messages=400, reps=1))


def _client(data: Data) -> BackpackClient:
    client = BackpackClient("http://127.0.0.1:9", "ws://127.0.0.1:9/")
    client.markets = {SYMBOL: Market.from_api(data.market)}
    client.watch(SYMBOL)
    assert client.books[SYMBOL].on_snapshot(data.stream.snapshot)
    return client


def test_unknown_streams_are_ignored_and_the_route_cache_is_bounded(data: Data) -> None:
    client = _client(data)
    seen: list[object] = []
    for kind in (BookChanged, TickerUpdated, TradePrinted, ErrorReported):
        client.subscribe(kind, seen.append)
    for number in range(ROUTES_KEPT + 500):
        client._on_message(f"nonsense{number}.{SYMBOL}", {"s": SYMBOL})
        client._on_message(f"nodot{number}", {})
    assert seen == []
    assert len(client._routes) <= ROUTES_KEPT
    frame = data.frames[0]
    client._on_message(frame["stream"], frame["data"])
    assert seen == [BookChanged(SYMBOL)]  # a real stream still routes after the junk


def test_a_broken_depth_callback_is_reported_and_the_others_still_run(data: Data) -> None:
    client = _client(data)
    good: list[str] = []
    errors: list[str] = []

    def broken(event: BookChanged) -> None:
        raise RuntimeError("boom")

    client.subscribe(BookChanged, broken)
    client.subscribe(BookChanged, lambda event: good.append(event.symbol))
    client.subscribe(ErrorReported, lambda event: errors.append(event.message))
    for frame in data.frames[:50]:
        client._on_message(frame["stream"], frame["data"])
    assert good == [SYMBOL] * 50
    assert client.callback_errors == 50
    assert len(errors) == 50 and "BookChanged handler failed: RuntimeError: boom" in errors[0]
    assert client.books[SYMBOL].last_update_id == data.frames[49]["data"]["u"]


async def test_last_message_at_follows_the_stream(data: Data) -> None:
    server = BlastServer(encode_feed(data.stream, data.market), total=len(data.frames))
    await server.start()
    info = server.info
    client = BackpackClient(info.rest_url, info.ws_url)
    assert client.last_message_at is None
    done = asyncio.get_running_loop().create_future()

    def on_depth(event: BookChanged) -> None:
        if client.books[event.symbol].last_update_id == info.last_update_id and not done.done():
            done.set_result(None)

    client.subscribe(BookChanged, on_depth)
    loop = asyncio.get_running_loop()
    try:
        before = loop.time()
        await client.start([SYMBOL])
        await asyncio.wait_for(done, 60)
        stamp = client.last_message_at
        assert stamp is not None and before <= stamp <= loop.time()
        assert stamp == client.stream.last_message_at
    finally:
        await client.close()
        await server.stop()


def test_the_bound_depth_route_and_the_generic_depth_path_keep_one_book(data: Data) -> None:
    """``depth.<symbol>`` of a watched market has a route bound to its book; any other
    depth stream (``depth.200ms.<symbol>``) still finds the book its payload names."""
    client = _client(data)
    events: list[BookChanged] = []
    client.subscribe(BookChanged, events.append)
    half = len(data.frames) // 2
    for frame in data.frames[:half]:
        client._on_message(frame["stream"], frame["data"])
    for frame in data.frames[half:]:
        client._on_message(f"depth.200ms.{SYMBOL}", frame["data"])
    check_book(client.books[SYMBOL], data.stream)
    assert events == [BookChanged(SYMBOL)] * len(data.frames)
    assert client.books[SYMBOL].messages == len(data.frames)


async def test_a_gap_on_the_bound_depth_route_drops_the_book_and_resyncs(data: Data) -> None:
    client = _client(data)
    states: list[BookStateChanged] = []
    client.subscribe(BookStateChanged, states.append)
    first, _, third = data.frames[:3]
    client._on_message(first["stream"], first["data"])
    client._on_message(third["stream"], third["data"])  # the second never came
    book = client.books[SYMBOL]
    assert not book.synced and book.resyncs == 1
    assert states == [BookStateChanged(SYMBOL, False)]
    assert SYMBOL in client._resync_tasks  # a fresh snapshot is on its way
    await client.close()
