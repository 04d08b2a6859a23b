"""The local order book: Backpack's sync rules (docs/PROTOCOL.md "Order book sync"), reads, money maths, grouping.

The property tests drive ``OrderBook`` and a naive exact reference (``Decimal`` dicts,
sorted on read) with the same random streams and compare them after every message.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpx_tui.benchmarks.book_synth import ZERO_SPELLINGS, check_book, synth_stream
from bpx_tui.exchange.book import DeltaResult, FillEstimate, Level, OrderBook
from tests.conftest import load_fixture

SYMBOL = "BTC_USDC_PERP"
D = Decimal


def rest_depth() -> dict[str, Any]:
    return copy.deepcopy(load_fixture("rest_depth.json"))


def ws_depth(name: str = "ws_depth.json") -> dict[str, Any]:
    return copy.deepcopy(load_fixture(name)["data"])


Levels = Sequence[Sequence[Any]]


def delta(
    first: int | str, last: int | str, bids: Levels = (), asks: Levels = ()
) -> dict[str, Any]:
    return {
        "e": "depth",
        "s": SYMBOL,
        "U": first,
        "u": last,
        "b": [list(level) for level in bids],
        "a": [list(level) for level in asks],
    }


def texts(levels: list[Level]) -> list[tuple[str, str]]:
    return [(level.price_text, level.size_text) for level in levels]


def synced_book(bids: Levels = (), asks: Levels = (), last_id: int = 100) -> OrderBook:
    book = OrderBook(SYMBOL)
    snapshot = {
        "bids": [list(level) for level in bids],
        "asks": [list(level) for level in asks],
        "lastUpdateId": str(last_id),
    }
    assert book.on_snapshot(snapshot)
    return book


# ---------------------------------------------------------------- fixtures / sync


def test_fixtures_sync_and_give_the_documented_top_of_book() -> None:
    book = OrderBook(SYMBOL)
    assert not book.needs_snapshot
    assert book.on_delta(ws_depth()) is DeltaResult.BUFFERED
    assert book.needs_snapshot and not book.synced

    assert book.on_snapshot(rest_depth())

    assert book.synced and book.last_update_id == 2204871166
    # REST sends bids ascending: the best bid is the last element, 97012.4, resized by WS.
    assert texts(book.bids(3)) == [
        ("97012.4", "0.25410"),
        ("97011.7", "0.90000"),
        ("97010.1", "0.12345"),
    ]
    # WS deleted 97012.5 ("0.00000") and added 97012.7.
    assert texts(book.asks(2)) == [("97012.7", "0.33000"), ("97012.9", "0.08000")]
    assert book.best_bid_price() == D("97012.4")
    assert book.best_ask_price() == D("97012.7")
    assert book.mid_price() == D("97012.55")  # exact, from the exchange's text
    assert book.mid() == pytest.approx(97012.55)
    assert [level.cumulative for level in book.bids(2)] == pytest.approx([0.2541, 1.1541])
    assert book.depth() == (5, 5)


def test_aggregated_fixture_straddling_the_snapshot_is_applied() -> None:
    book = OrderBook(SYMBOL)
    book.on_delta(ws_depth("ws_depth_200ms.json"))  # U=...164 .. u=...173, L=...163
    assert book.on_snapshot(rest_depth())
    assert book.last_update_id == 2204871173
    assert texts(book.bids(2)) == [("97012.6", "0.05000"), ("97011.7", "0.90000")]
    assert texts(book.asks(2)) == [("97012.5", "0.41200"), ("97012.9", "0.18000")]


def test_buffered_deltas_the_snapshot_already_contains_are_dropped() -> None:
    book = OrderBook(SYMBOL)
    assert book.on_delta(delta(90, 95, bids=[("10", "9")])) is DeltaResult.BUFFERED
    assert book.on_delta(delta(96, 100, bids=[("11", "9")])) is DeltaResult.BUFFERED
    assert book.on_delta(delta(101, 102, bids=[("12", "1")])) is DeltaResult.BUFFERED
    assert book.buffered == 3
    assert book.on_snapshot({"bids": [["9", "1"]], "asks": [], "lastUpdateId": "100"})
    # 10 and 11 came from deltas at or before the snapshot: only 12 is replayed.
    assert texts(book.bids(5)) == [("12", "1"), ("9", "1")]
    assert book.last_update_id == 102 and book.buffered == 0


def test_stale_delta_after_sync_is_ignored() -> None:
    book = synced_book(bids=[("10", "1")], last_id=100)
    assert book.on_delta(delta(101, 103, bids=[("10", "2")])) is DeltaResult.APPLIED
    assert book.on_delta(delta(99, 103, bids=[("10", "5")])) is DeltaResult.STALE
    assert texts(book.bids()) == [("10", "2")]
    assert book.synced and book.resyncs == 0


def test_snapshot_older_than_the_buffer_is_refused_then_a_newer_one_syncs() -> None:
    book = OrderBook(SYMBOL)
    book.on_delta(delta(200, 205, asks=[("50", "1")]))
    assert not book.on_snapshot({"bids": [], "asks": [["51", "1"]], "lastUpdateId": "150"})
    assert not book.synced and book.buffered == 1 and book.needs_snapshot
    assert book.asks() == []  # nothing was loaded from the refused snapshot
    assert book.on_snapshot({"bids": [], "asks": [["51", "1"]], "lastUpdateId": "199"})
    assert texts(book.asks()) == [("50", "1"), ("51", "1")]
    assert book.last_update_id == 205


def test_snapshot_newer_than_the_buffer_is_kept_and_later_deltas_continue_from_it() -> None:
    book = OrderBook(SYMBOL)
    book.on_delta(delta(101, 105, bids=[("1", "1")]))
    assert book.on_snapshot({"bids": [["2", "2"]], "asks": [], "lastUpdateId": "110"})
    assert book.synced and book.last_update_id == 110 and book.buffered == 0
    assert texts(book.bids()) == [("2", "2")]
    # The stream catches up: older deltas are stale, one straddling 111 is applied.
    assert book.on_delta(delta(106, 108, bids=[("3", "3")])) is DeltaResult.STALE
    assert book.on_delta(delta(109, 112, bids=[("4", "4")])) is DeltaResult.APPLIED
    assert book.on_delta(delta(113, 113, bids=[("5", "5")])) is DeltaResult.APPLIED
    assert texts(book.bids()) == [("5", "5"), ("4", "4"), ("2", "2")]
    # Straddling is only allowed for the first delta after a snapshot.
    assert book.on_delta(delta(112, 115)) is DeltaResult.GAP


def test_a_gap_drops_sync_counts_logs_and_buffers_from_the_offender(
    caplog: pytest.LogCaptureFixture,
) -> None:
    book = synced_book(bids=[("10", "1")], last_id=100)
    book.on_delta(delta(101, 101))
    with caplog.at_level(logging.WARNING, logger="bpx_tui.exchange.book"):
        assert book.on_delta(delta(105, 107, bids=[("11", "1")])) is DeltaResult.GAP
    assert not book.synced and book.resyncs == 1
    assert book.buffered == 1 and book.needs_snapshot
    message = caplog.records[-1].getMessage()
    assert SYMBOL in message and "102" in message and "105" in message and "107" in message
    # While unsynced, deltas are buffered, not applied.
    assert book.on_delta(delta(108, 108, bids=[("12", "1")])) is DeltaResult.BUFFERED
    assert texts(book.bids()) == [("10", "1")]
    # A snapshot lining up with the offender resyncs and replays the buffer.
    assert book.on_snapshot({"bids": [["10", "1"]], "asks": [], "lastUpdateId": "104"})
    assert texts(book.bids()) == [("12", "1"), ("11", "1"), ("10", "1")]
    assert book.synced and book.resyncs == 1


def test_a_hole_inside_the_buffer_restarts_it() -> None:
    book = OrderBook(SYMBOL)
    book.on_delta(delta(10, 11))
    book.on_delta(delta(15, 16, bids=[("1", "1")]))
    assert book.buffered == 1
    # A snapshot between the hole's sides cannot line up with anything kept.
    assert not book.on_snapshot({"bids": [], "asks": [], "lastUpdateId": "11"})
    assert book.on_snapshot({"bids": [], "asks": [], "lastUpdateId": "14"})
    assert texts(book.bids()) == [("1", "1")]


def test_ids_may_be_strings() -> None:
    book = OrderBook(SYMBOL)
    assert book.on_delta(delta("101", "102", bids=[("5", "1")])) is DeltaResult.BUFFERED
    assert book.on_snapshot({"bids": [], "asks": [], "lastUpdateId": 100})  # int also fine
    assert book.on_delta(delta("103", "103", bids=[("6", "1")])) is DeltaResult.APPLIED
    assert book.on_delta(delta(" 104 ", 104)) is DeltaResult.APPLIED
    assert book.last_update_id == 104
    assert texts(book.bids()) == [("6", "1"), ("5", "1")]


@pytest.mark.parametrize(
    "bad",
    [
        {"u": 101},
        {"U": "x", "u": 101},
        {"U": 102, "u": 101},
        {"U": None, "u": None},
        {"U": True, "u": 101},
    ],
)
def test_unusable_ids_resync_instead_of_guessing(bad: dict[str, Any]) -> None:
    book = synced_book(last_id=100)
    assert book.on_delta({**bad, "b": [], "a": []}) is DeltaResult.GAP
    assert not book.synced and book.resyncs == 1 and book.malformed == 1
    unsynced = OrderBook(SYMBOL)
    assert unsynced.on_delta(bad) is DeltaResult.STALE
    assert unsynced.buffered == 0


def test_a_delta_that_is_not_a_dict_does_not_crash() -> None:
    book = synced_book(last_id=1)
    assert book.on_delta([1, 2]) is DeltaResult.GAP  # type: ignore[arg-type]
    assert book.malformed == 1


def test_unparsable_snapshot_is_refused() -> None:
    book = OrderBook(SYMBOL)
    assert not book.on_snapshot({"bids": [], "asks": []})
    assert not book.on_snapshot({"bids": [], "asks": [], "lastUpdateId": "abc"})
    assert not book.on_snapshot("nope")  # type: ignore[arg-type]
    assert not book.synced


def test_snapshot_older_than_a_live_book_is_ignored() -> None:
    book = synced_book(bids=[("1", "1")], last_id=100)
    book.on_delta(delta(101, 120, bids=[("2", "1")]))
    assert not book.on_snapshot({"bids": [], "asks": [], "lastUpdateId": "110"})
    assert book.synced and texts(book.bids()) == [("2", "1"), ("1", "1")]


def test_snapshot_is_sorted_defensively_and_zero_or_bad_levels_are_skipped() -> None:
    book = synced_book(
        bids=[("3", "1"), ("1", "1"), ("2", "0.0"), ("5", "x"), ("4", "2")],
        asks=[("9", "1"), ("7", "1"), ("8", "1"), ("-1", "1")],
    )
    assert texts(book.bids()) == [("4", "2"), ("3", "1"), ("1", "1")]
    assert texts(book.asks()) == [("7", "1"), ("8", "1"), ("9", "1")]
    assert book.malformed == 2


def test_reset_forgets_book_and_buffer_but_keeps_counters() -> None:
    book = synced_book(bids=[("1", "1")], last_id=5)
    book.on_delta(delta(9, 9))
    book.on_delta(delta(10, 10))
    book.reset()
    assert not book.synced and book.buffered == 0 and book.bids() == []
    assert book.resyncs == 1 and book.messages == 2 and book.last_update_id == 0
    assert book.best_bid() is None and book.mid() is None and book.best_ask_price() is None


# ---------------------------------------------------------------- levels


@pytest.mark.parametrize("zero", [*ZERO_SPELLINGS, "0.000", "00.00", "-0"])
def test_every_spelling_of_zero_deletes(zero: str) -> None:
    book = synced_book(bids=[("10.5", "1"), ("10.4", "2")], last_id=1)
    book.on_delta(delta(2, 2, bids=[("10.5", zero)]))
    assert texts(book.bids()) == [("10.4", "2")]


def test_two_spellings_of_one_price_are_one_level() -> None:
    book = synced_book(asks=[("100.1", "1")], last_id=1)
    book.on_delta(delta(2, 2, asks=[("100.10", "3")]))
    assert len(book.asks()) == 1 and book.asks()[0].size_text == "3"
    book.on_delta(delta(3, 3, asks=[("100.100", "0")]))
    assert book.asks() == []
    book.on_delta(delta(4, 4, asks=[("100.10", "2"), ("100.1", "4")]))
    assert [(D(p), D(s)) for p, s in texts(book.asks())] == [(D("100.1"), D("4"))]


def test_malformed_levels_are_skipped_counted_and_the_rest_applied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    book = synced_book(bids=[("10", "1")], asks=[("20", "1")], last_id=1)
    junk: list[Any] = [
        ["abc", "1"],
        ["11", "x"],
        ["11", "-1"],
        ["nan", "1"],
        ["inf", "1"],
        ["12", "inf"],
        ["0", "1"],
        ["13"],
        ["14", "1", "extra"],
        None,
        ["15", None],
        ["16", True],
    ]
    with caplog.at_level(logging.WARNING, logger="bpx_tui.exchange.book"):
        result = book.on_delta(
            {"U": 2, "u": 2, "b": [["9", "1"], *junk, ["8", 2], [7, "1"]], "a": "garbage"}
        )
    assert result is DeltaResult.APPLIED and book.synced
    # JSON numbers are accepted (payloads drift) and kept as text.
    assert texts(book.bids()) == [("10", "1"), ("9", "1"), ("8", "2"), ("7", "1")]
    assert texts(book.asks()) == [("20", "1")]
    assert book.malformed == len(junk) + 1
    assert any("malformed" in record.getMessage() for record in caplog.records)


def test_buffer_is_bounded_and_drops_the_oldest() -> None:
    book = OrderBook(SYMBOL, buffer_limit=5)
    for n in range(1, 9):
        book.on_delta(delta(n, n, bids=[(str(n), "1")]))
    assert book.buffered == 5 and book.overflowed == 3 and not book.synced
    # Deltas 1-3 are gone, so a snapshot at 0 cannot line up any more.
    assert not book.on_snapshot({"bids": [], "asks": [], "lastUpdateId": "0"})
    assert book.on_snapshot({"bids": [], "asks": [], "lastUpdateId": "3"})
    assert [level.price_text for level in book.bids()] == ["8", "7", "6", "5", "4"]


def test_needs_snapshot_waits_for_min_buffered() -> None:
    book = OrderBook(SYMBOL, min_buffered=3)
    book.on_delta(delta(1, 1))
    book.on_delta(delta(2, 2))
    assert not book.needs_snapshot
    book.on_delta(delta(3, 3))
    assert book.needs_snapshot


def test_reads_are_cached_until_a_change_and_cumulative_follows_changes() -> None:
    book = synced_book(bids=[("1", "1"), ("2", "2"), ("3", "3")], last_id=1)
    first = book.bids(2)
    assert book.bids(2) is first
    assert [level.cumulative for level in first] == [3.0, 5.0]
    book.on_delta(delta(2, 2, bids=[("3", "0.5")]))
    again = book.bids(2)
    assert [level.cumulative for level in again] == [0.5, 2.5]
    assert [level.cumulative for level in book.bids(5)] == [0.5, 2.5, 3.5]
    assert book.bids(0) == [] and book.bids(-1) == []
    best = book.best_bid()
    assert best is not None and best.cumulative == 0.5


def test_level_copy_is_detached_and_levels_print_their_text() -> None:
    book = synced_book(asks=[("5", "1.5")], last_id=1)
    kept = book.asks(1)[0].copy()
    book.on_delta(delta(2, 2, asks=[("5", "2")]))
    assert (kept.size_text, kept.cumulative) == ("1.5", 1.5)
    assert book.asks(1)[0].size_text == "2"
    assert kept == Level(5.0, 1.5, "5", "1.5", 1.5)
    assert "'5'" in repr(kept)


# ---------------------------------------------------------------- money


def fill_book() -> OrderBook:
    return synced_book(
        bids=[("99.5", "1"), ("99", "2")],
        asks=[("100", "1"), ("100.5", "2"), ("101", "3")],
        last_id=1,
    )


def test_estimate_fill_partial_level() -> None:
    estimate = fill_book().estimate_fill("Bid", D("2"))
    assert estimate == FillEstimate(D("2"), D("100.25"), D("100.5"), 2)


def test_estimate_fill_exact_levels() -> None:
    estimate = fill_book().estimate_fill("Bid", D("3"))
    assert estimate.filled == D("3")
    assert estimate.average_price == (D("100") + 2 * D("100.5")) / 3
    assert estimate.worst_price == D("100.5") and estimate.levels == 2


def test_estimate_fill_too_thin() -> None:
    estimate = fill_book().estimate_fill("Ask", D("5"))  # a sell takes the bids
    assert estimate.filled == D("3") < D("5")
    assert estimate.average_price == (D("99.5") + 2 * D("99")) / 3
    assert estimate.worst_price == D("99") and estimate.levels == 2


def test_estimate_fill_empty_book_and_bad_input() -> None:
    assert OrderBook(SYMBOL).estimate_fill("Bid", D("1")) == FillEstimate(D(0), None, None, 0)
    assert fill_book().estimate_fill("Bid", D(0)) == FillEstimate(D(0), None, None, 0)
    with pytest.raises(ValueError, match="side"):
        fill_book().estimate_fill("Buy", D("1"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        fill_book().estimate_fill("Bid", D("-1"))
    with pytest.raises(ValueError, match="quantity"):
        fill_book().estimate_fill("Bid", "lots")  # type: ignore[arg-type]


def test_best_prices_are_exact_decimals_from_the_text() -> None:
    book = synced_book(bids=[("0.10000", "1")], asks=[("0.3", "1")], last_id=1)
    assert book.best_bid_price() == D("0.1") and str(book.best_bid_price()) == "0.10000"
    assert book.best_ask_price() == D("0.3")


# ---------------------------------------------------------------- grouping


def test_grouping_floors_bids_and_ceils_asks() -> None:
    book = synced_book(
        bids=[("100.3", "1"), ("100.0", "2"), ("99.9", "0.5"), ("99.1", "1.25"), ("98.7", "1")],
        asks=[("100.4", "1"), ("101.0", "2"), ("101.1", "0.5"), ("102.9", "1")],
        last_id=1,
    )
    bids = book.grouped("Bid", 10, D("1"))
    assert [(b.price_text, b.size_text) for b in bids] == [
        ("100", "3"),
        ("99", "1.75"),
        ("98", "1"),
    ]
    assert [b.cumulative for b in bids] == [3.0, 4.75, 5.75]
    asks = book.grouped("Ask", 2, D("1"))
    assert [(a.price_text, a.size_text) for a in asks] == [("101", "3"), ("102", "0.5")]
    assert asks[1].price == 102.0 and asks[1].cumulative == 3.5
    # x10 grouping over 0.1 ticks and a group finer than needed are both exact.
    assert [b.price_text for b in book.grouped("Bid", 5, D("10"))] == ["100", "90"]
    assert [a.price_text for a in book.grouped("Ask", 5, D("0.1"))] == [
        "100.4",
        "101.0",
        "101.1",
        "102.9",
    ]


def test_grouping_needs_a_positive_group_and_a_known_side() -> None:
    book = fill_book()
    assert book.grouped("Bid", 0, D("1")) == []
    with pytest.raises(ValueError, match="group"):
        book.grouped("Bid", 5, D("0"))
    with pytest.raises(ValueError, match="side"):
        book.grouped("bids", 5, D("1"))  # type: ignore[arg-type]


# ---------------------------------------------------------------- synthetic stream


def test_synthetic_stream_replays_to_its_own_reference() -> None:
    stream = synth_stream(3_000, seed=5)
    book = OrderBook(stream.symbol)
    for message in stream.messages[:10]:
        book.on_delta(message)
    assert book.on_snapshot(stream.snapshot)
    for message in stream.messages[10:]:
        assert book.on_delta(message) is DeltaResult.APPLIED
    check_book(book, stream, n=50)
    assert book.resyncs == 0 and book.malformed == 0
    assert synth_stream(50, seed=5).messages == stream.messages[:50]  # deterministic


# ---------------------------------------------------------------- property tests


class ReferenceBook:
    """The obviously-right book: exact decimals, sorted when read."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[Decimal, Decimal]] = {"b": {}, "a": {}}

    def apply(self, side: str, levels: list[tuple[str, str]]) -> None:
        book = self.sides[side]
        for price, size in levels:
            if D(size) == 0:
                book.pop(D(price), None)
            else:
                book[D(price)] = D(size)

    def top(self, side: str, n: int) -> list[tuple[Decimal, Decimal, Decimal]]:
        book = self.sides[side]
        prices = sorted(book, reverse=side == "b")[:n]
        out, total = [], D(0)
        for price in prices:
            total += book[price]
            out.append((price, book[price], total))
        return out


def assert_same(book: OrderBook, reference: ReferenceBook, n: int) -> None:
    for side, levels in (("b", book.bids(n)), ("a", book.asks(n))):
        expected = reference.top(side, n)
        assert [(D(lv.price_text), D(lv.size_text)) for lv in levels] == [
            (price, size) for price, size, _ in expected
        ]
        for level, (_, _, total) in zip(levels, expected, strict=True):
            assert math.isclose(level.cumulative, float(total), rel_tol=1e-9)


def _price(tick: int, form: int) -> str:
    """Price 100 + tick/10 in one of several spellings of the same number."""
    whole, tenth = divmod(tick, 10)
    base = f"{100 + whole}.{tenth}"
    if form == 3 and tenth == 0:
        return str(100 + whole)
    return base + "0" * (form % 3)


_SIZE_FORMS = [*ZERO_SPELLINGS, "0.000", "00", "0.0000000000"]


def _size(units: int, form: int) -> str:
    """A size of ``units`` thousandths in some spelling; a few forms spell zero."""
    if form < len(_SIZE_FORMS):
        return _SIZE_FORMS[form]
    return f"{units / 1000:.3f}" if form % 2 else f"{units / 1000}0"


def _level(code: int) -> tuple[str, str]:
    # One integer per level keeps generation cheap (hypothesis draws dominate run time).
    code, tick = divmod(code, 41)
    code, price_form = divmod(code, 4)
    code, size_form = divmod(code, 3 * len(_SIZE_FORMS) + 1)
    return _price(tick, price_form), _size(code + 1, size_form)


LEVEL = st.integers(0, 41 * 4 * (3 * len(_SIZE_FORMS) + 1) * 5000 - 1).map(_level)
LEVELS = st.lists(LEVEL, max_size=5)
MESSAGES = st.lists(st.tuples(LEVELS, LEVELS), min_size=1, max_size=15)


@settings(max_examples=200, deadline=None)
@given(snapshot=st.tuples(LEVELS, LEVELS), messages=MESSAGES, n=st.sampled_from([1, 3, 20]))
def test_book_matches_the_decimal_reference_after_every_message(
    snapshot: tuple[list[tuple[str, str]], list[tuple[str, str]]],
    messages: list[tuple[list[tuple[str, str]], list[tuple[str, str]]]],
    n: int,
) -> None:
    bids, asks = snapshot
    book = synced_book(bids=bids, asks=asks, last_id=1000)
    reference = ReferenceBook()
    reference.apply("b", bids)
    reference.apply("a", asks)
    assert_same(book, reference, n)
    for number, (b, a) in enumerate(messages, start=1001):
        assert book.on_delta(delta(number, number, bids=b, asks=a)) is DeltaResult.APPLIED
        reference.apply("b", b)
        reference.apply("a", a)
        if number % 4 == 1:
            continue  # some messages go unread: the cache must notice changes anyway
        assert_same(book, reference, n)
        if number % 3 == 0:  # other read sizes in between must not disturb the cache
            assert_same(book, reference, 40)
    assert_same(book, reference, n)
    best = book.best_bid()
    expected = reference.top("b", 1)
    assert (best is None) == (not expected)
    if best is not None:
        assert D(best.price_text) == expected[0][0] == book.best_bid_price()


@settings(max_examples=100, deadline=None)
@given(
    messages=MESSAGES,
    data=st.data(),
)
def test_sync_from_any_snapshot_point_matches_the_reference(
    messages: list[tuple[list[tuple[str, str]], list[tuple[str, str]]]], data: st.DataObject
) -> None:
    # Message k covers ids 10k..10k+9; the snapshot is taken after `taken` messages and
    # the client subscribed before message `joined`.
    states = [ReferenceBook()]
    for b, a in messages:
        state = copy.deepcopy(states[-1])
        state.apply("b", b)
        state.apply("a", a)
        states.append(state)
    taken = data.draw(st.integers(0, len(messages)), label="taken")
    joined = data.draw(st.integers(0, len(messages)), label="joined")
    snapshot_state = states[taken].sides
    snapshot = {
        "bids": [[str(p), str(s)] for p, s in sorted(snapshot_state["b"].items())],
        "asks": [[str(p), str(s)] for p, s in sorted(snapshot_state["a"].items())],
        "lastUpdateId": str(10 * taken + 9),
    }
    book = OrderBook(SYMBOL)
    for k in range(joined, len(messages)):
        b, a = messages[k]
        first = 10 * (k + 1)
        result = book.on_delta(delta(first, first + 9, bids=b, asks=a))
        assert result is DeltaResult.BUFFERED
    synced = book.on_snapshot(snapshot)
    nothing_buffered = joined == len(messages)
    assert synced == (joined <= taken or nothing_buffered)
    if nothing_buffered:
        # Newer than anything seen (vacuously): kept, and live deltas continue from it.
        assert_same(book, states[taken], 20)
        assert book.last_update_id == 10 * taken + 9
    elif synced:
        assert_same(book, states[-1], 20)
        assert book.last_update_id == 10 * len(messages) + 9


@settings(max_examples=100, deadline=None)
@given(
    asks=st.lists(LEVEL, max_size=15),
    quantity=st.integers(0, 20000).map(lambda units: D(units) / 1000),
)
def test_estimate_fill_matches_a_decimal_walk(
    asks: list[tuple[str, str]], quantity: Decimal
) -> None:
    book = synced_book(asks=asks, last_id=1)
    reference = ReferenceBook()
    reference.apply("a", asks)
    remaining, cost, worst, used = quantity, D(0), None, 0
    for price, size, _ in reference.top("a", 100):
        if remaining <= 0:
            break
        take = min(size, remaining)
        cost, remaining, worst, used = cost + take * price, remaining - take, price, used + 1
    filled = quantity - remaining
    estimate = book.estimate_fill("Bid", quantity)
    assert estimate.filled == filled and estimate.levels == used
    assert estimate.worst_price == worst
    assert estimate.average_price == (cost / filled if filled else None)


def test_benchmark_reports_every_mode_on_a_small_stream() -> None:
    from bpx_tui.benchmarks.book import measure

    row = measure(synth_stream(2_000, seed=3), reps=1)
    assert row.value is not None and row.value > 0
    assert row.detail["messages"] == 2_000
    assert min(row.detail["apply_only_us"], row.detail["with_cumulative_us"]) > 0
    assert 2.5 < row.detail["level_updates_per_message"] < 3.8
