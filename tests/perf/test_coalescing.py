"""Depth callbacks are one per applied message, over a real socket, nothing dropped or doubled.

The other half of coalescing (ladder paints capped at the pump rate however many
messages arrive) is tests/ui/test_feed_health.py::test_ladder_paints_are_capped_while_depth_floods_in.
"""

from __future__ import annotations

import asyncio

from bpx_tui.benchmarks.book_synth import check_book
from bpx_tui.benchmarks.common import SYMBOL, Data, Plan
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.events import BookChanged
from bpx_tui.sim.synthetic.blast import BlastServer, encode_feed
from bpx_tui.ui.feed import Feed

MESSAGES = 3_000


async def test_one_depth_callback_per_message_through_client_and_book() -> None:
    data = Data(Plan(messages=MESSAGES, reps=1))
    server = BlastServer(encode_feed(data.stream, data.market), total=MESSAGES)
    await server.start()
    info = server.info
    client = BackpackClient(info.rest_url, info.ws_url)
    feed = Feed(active=SYMBOL)
    feed.attach(client)
    done = asyncio.get_running_loop().create_future()
    calls = 0
    at_sync: int | None = None

    def on_depth(event: BookChanged) -> None:
        nonlocal calls, at_sync
        book = client.books[event.symbol]
        calls += 1
        if at_sync is None:
            at_sync = book.messages  # deltas taken in by the snapshot sync (one callback)
        if book.last_update_id == info.last_update_id and not done.done():
            done.set_result(None)

    client.subscribe(BookChanged, on_depth)
    try:
        await client.start([SYMBOL])
        await asyncio.wait_for(done, 60)
        book = client.books[SYMBOL]
        assert at_sync is not None
        live = book.messages - at_sync
        assert live > 0
        assert calls == 1 + live  # one for the sync, then exactly one per live message
        assert feed.depth_messages == calls  # the console's callback saw the same
        assert book.resyncs == 0 and book.malformed == 0
        check_book(book, data.stream)  # and every message landed in the book
    finally:
        await client.close()
        await server.stop()
