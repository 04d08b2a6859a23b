"""Memory stays bounded by counts, whatever the message count (target: <= 20 MB / 1M msgs).

Counts rather than RSS: a count is exact and machine-independent; ``bpx-tui bench``
measures the RSS itself.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bpx_tui.benchmarks.book_synth import check_book, synth_stream
from bpx_tui.exchange.book import DeltaResult, OrderBook
from bpx_tui.exchange.client import CANDLES_KEPT, BackpackClient
from bpx_tui.exchange.models import Market
from bpx_tui.sim.venue.universe import MARKETS
from bpx_tui.ui.feed import ERRORS_KEPT, TRADES_KEPT, Feed
from tests.conftest import load_fixture

SYMBOL = "BTC_USDC_PERP"
LEVELS = 200


@pytest.fixture(scope="module")
def stream() -> Any:
    return synth_stream(12_000, seed=3, levels=LEVELS)


def test_book_size_stays_bounded_over_a_long_stream(stream: Any) -> None:
    book = OrderBook(SYMBOL)
    assert book.on_snapshot(stream.snapshot)
    prices: set[str] = set()
    largest = (0, 0)
    for number, message in enumerate(stream.messages):
        assert book.on_delta(message) is DeltaResult.APPLIED
        prices.update(level[0] for level in message["a"] + message["b"])
        if number % 500 == 0:
            bids, asks = book.depth()
            largest = (max(largest[0], bids), max(largest[1], asks))
            book.bids(20), book.asks(20)
    check_book(book, stream)
    assert book.buffered == 0
    bids, asks = book.depth()
    # The book holds what the exchange holds: the generator's own book, nothing left over.
    assert (bids, asks) == (len(stream.bids), len(stream.asks))
    # ... and never more levels than the stream has distinct prices plus the snapshot's.
    assert max(largest) <= len(prices) + LEVELS
    assert max(largest) < 3 * LEVELS


def test_unsynced_book_buffers_at_most_its_limit(stream: Any) -> None:
    book = OrderBook(SYMBOL, buffer_limit=500)
    for message in stream.messages:  # no snapshot ever arrives
        assert book.on_delta(message) is DeltaResult.BUFFERED
    assert book.buffered == 500
    assert book.overflowed == len(stream.messages) - 500
    assert book.depth() == (0, 0)
    # A snapshot can still line up with the newest buffered deltas and replay them.
    late = copy.deepcopy(stream.snapshot)
    assert not book.on_snapshot(late)  # too old for what is left in the buffer


def test_gaps_while_synced_never_grow_the_buffer(stream: Any) -> None:
    book = OrderBook(SYMBOL, buffer_limit=1_000)
    assert book.on_snapshot(stream.snapshot)
    for number, message in enumerate(stream.messages):
        if number % 97 == 0:
            continue  # lose a message: a gap, then unsynced until a snapshot
        book.on_delta(message)
        assert book.buffered <= 1_000
    assert book.resyncs >= 1 and not book.synced


def _client() -> BackpackClient:
    client = BackpackClient("http://127.0.0.1:9", "ws://127.0.0.1:9/")
    spec = next(spec for spec in MARKETS if spec.symbol == SYMBOL)
    client.markets = {SYMBOL: Market.from_api(spec.to_json())}
    client.watch(SYMBOL)
    return client


def test_client_and_console_caches_are_bounded() -> None:
    client = _client()
    feed = Feed(active=SYMBOL)
    feed.attach(client)
    kline = load_fixture("ws_kline.json")
    trade = load_fixture("ws_trade.json")
    messages = 5 * max(CANDLES_KEPT, TRADES_KEPT)
    for number in range(messages):
        candle = dict(
            kline["data"],
            t=f"2025-11-{1 + number // 1440:02d}T{number // 60 % 24:02d}:{number % 60:02d}:00",
        )
        client._on_message(kline["stream"], candle)
        client._on_message(trade["stream"], dict(trade["data"], t=number))
    assert len(client.candles[SYMBOL]) == CANDLES_KEPT
    starts = [k.start_ms for k in client.candles[SYMBOL]]
    assert starts == sorted(set(starts))  # the newest CANDLES_KEPT distinct minutes
    assert len(feed.trades) == TRADES_KEPT
    assert feed.trades[-1].id in (str(messages - 1), messages - 1)
    assert list(client.last_trades) == [SYMBOL]
    for number in range(2 * ERRORS_KEPT):
        feed.report(f"problem {number}")
    assert len(feed.errors) == ERRORS_KEPT
