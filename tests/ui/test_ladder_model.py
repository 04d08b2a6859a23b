"""The price ladder's rows without a terminal: one row per price, a window that holds
still, a cursor that is a price (bpx_tui/ui/ladder_model.py)."""

from __future__ import annotations

import random
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

from bpx_tui.exchange import book as book_module
from bpx_tui.exchange.book import OrderBook
from bpx_tui.ui.ladder_model import (
    MARGIN,
    LadderView,
    Marker,
    build_view,
    move_cursor,
    next_group,
    orders_in_row,
    scroll_window,
    spread_note,
)

TICK = Decimal("0.1")
HEIGHT = 12  # a header and eleven prices


def book_of(asks: list[str], bids: list[str], size: str = "1") -> OrderBook:
    book = OrderBook("BTC_USDC_PERP")
    book.on_delta({"U": 1, "u": 1, "a": [], "b": []})
    book.on_snapshot(
        {
            "lastUpdateId": "1",
            "asks": [[price, size] for price in asks],
            "bids": [[price, size] for price in bids],
        }
    )
    assert book.synced
    return book


def tight_book() -> OrderBook:
    """Best bid 99.9, best ask 100.2: two empty ticks between, gaps on both sides."""
    return book_of(["100.2", "100.3", "100.5"], ["99.9", "99.8", "99.5"])


class Frames:
    """The widget's loop in miniature: each frame keeps the last frame's window and cursor."""

    def __init__(self, book: OrderBook, **options: Any) -> None:
        self.book = book
        self.options = options
        self.view = build_view(book, HEIGHT, step=TICK, **options)
        self.update_id = 1

    def frame(self, cursor: Decimal | str | None = "keep") -> LadderView:
        kept = self.view.cursor_price if cursor == "keep" else cursor
        assert kept is None or isinstance(kept, Decimal)
        self.view = build_view(
            self.book, HEIGHT, step=TICK, top=self.view.top, cursor=kept, **self.options
        )
        return self.view

    def delta(self, asks: list[list[str]] = [], bids: list[list[str]] = []) -> LadderView:  # noqa: B006
        self.update_id += 1
        u = self.update_id
        self.book.on_delta({"U": u, "u": u, "a": asks, "b": bids})
        return self.frame()


def prices(view: LadderView) -> list[Decimal]:
    return [Decimal(row.price) for row in view.rows]


def test_one_row_per_tick_with_the_spread_as_empty_rows() -> None:
    view = build_view(tight_book(), HEIGHT, step=TICK, bar_cells=10)
    got = prices(view)
    assert len(got) == HEIGHT - 1
    assert all(a - b == TICK for a, b in pairwise(got))  # consecutive
    by_price = {row.price: row for row in view.rows}
    assert [row.kind for row in view.rows] == ["ask"] * 4 + ["spread"] * 2 + ["bid"] * 5
    assert [by_price[p].ask for p in ("100.5", "100.4", "100.3", "100.2")] == ["1", "", "1", "1"]
    spread = [row for row in view.rows if row.kind == "spread"]
    assert [r.price for r in spread] == ["100.1", "100.0"]
    assert all(not (r.bid or r.ask or r.depth) for r in spread)
    assert [r.price for r in view.rows if r.best] == ["100.2", "99.9"]
    # Bars only where there is size; the deepest visible row is a full bar.
    assert by_price["100.4"].depth == 0 and by_price["100.5"].depth == 10 * 8
    assert by_price["99.5"].depth == 10 * 8 and by_price["99.9"].depth == 10 * 8 // 3
    assert view.note == "spread 0.3 (29.99 bps)" and view.cursor_price is None


def test_the_cursor_stays_on_its_price_while_the_book_changes() -> None:
    frames = Frames(tight_book())
    view = frames.frame(cursor=Decimal("99.7"))  # an empty price below the touch
    row_of = [row.price for row in view.rows].index("99.7")
    top = view.top
    for asks, bids in (
        ([["100.2", "0"]], [["99.7", "3"]]),  # best ask leaves, size arrives at the cursor
        ([["100.1", "2"]], [["99.9", "0"], ["99.8", "5"]]),  # touch moves by a tick
        ([], [["99.7", "0"], ["99.6", "1"]]),
    ):
        view = frames.delta(asks, bids)
        assert view.top == top and view.cursor_price == Decimal("99.7")
        assert [row.cursor for row in view.rows].index(True) == row_of
    assert view.rows[row_of].price == "99.7" and view.cursor_side == "Bid"


def test_the_window_recentres_only_when_the_touch_nears_its_edge() -> None:
    frames = Frames(tight_book())
    top = frames.view.top
    assert top == Decimal("100.5")
    # The ask walks up a tick at a time: the window holds until the ask is MARGIN rows
    # from the top, then centres the new touch.
    frames.frame(cursor=Decimal("100.0"))
    frames.delta(asks=[["100.2", "0"]])  # best ask 100.3: 2 rows from the top
    assert frames.view.top == top and MARGIN == 2
    view = frames.delta(asks=[["100.3", "0"]])  # best ask 100.5: row 0, inside the margin
    assert view.top != top
    kinds = [row.kind for row in view.rows]
    assert kinds.count("ask") >= 3 and kinds.count("bid") >= 3
    ask_row, bid_row = kinds.index("spread") - 1, len(kinds) - kinds[::-1].index("spread")
    assert abs((len(kinds) - 1 - bid_row) - ask_row) <= 1  # the touch is in the middle
    # The cursor keeps its price while it is still in the window...
    assert view.cursor_price == Decimal("100.0")
    # ...and snaps to the nearest price in view when the window leaves it behind.
    view = frames.delta(asks=[["101.5", "1"], ["100.5", "0"]], bids=[["101.2", "1"]])
    assert view.cursor_price == prices(view)[-1] and view.rows[-1].cursor


def test_moving_the_cursor_goes_one_tick_and_starts_at_the_touch() -> None:
    view = build_view(tight_book(), HEIGHT, step=TICK)
    top = view.top
    assert move_cursor(view, 1) == (Decimal("99.9"), top)  # first step down: the best bid
    assert move_cursor(view, -1) == (Decimal("100.2"), top)  # first step up: the best ask
    view = build_view(tight_book(), HEIGHT, step=TICK, cursor=Decimal("100.0"))
    assert move_cursor(view, 1)[0] == Decimal("99.9")
    assert move_cursor(view, -2)[0] == Decimal("100.2")


def test_the_window_scrolls_with_the_cursor_as_far_as_the_touch_allows() -> None:
    frames = Frames(tight_book())
    # 11 rows, margin 2: the best ask may go down to row 2, leaving rows 3..10 below it.
    cursor, top = move_cursor(frames.view, 13)
    assert top == Decimal("100.4") and cursor == Decimal("99.4")  # stopped at the edge
    view = build_view(frames.book, HEIGHT, step=TICK, top=top, cursor=cursor)
    assert view.top == top and view.rows[-1].cursor  # the next frame keeps the scroll
    assert [row.price for row in view.rows].index("100.2") == MARGIN
    cursor, top = move_cursor(view, -100)
    assert top == Decimal("100.7") and cursor == top  # up as far as the best bid allows
    view = build_view(frames.book, HEIGHT, step=TICK, top=top, cursor=cursor)
    assert [row.price for row in view.rows].index("99.9") == HEIGHT - 2 - MARGIN


def test_own_orders_sit_on_their_price_with_a_count_and_markers_by_the_price() -> None:
    markers = (
        Marker(Decimal("99.8"), "B0.001", "Bid", Decimal("0.001")),
        Marker(Decimal("99.8"), "B0.002", "Bid", Decimal("0.002")),
        Marker(Decimal("100.3"), "S0.5", "Ask", Decimal("0.5")),
        Marker(Decimal("100.0"), "◆entry"),
        Marker(Decimal("80"), "✖liq"),  # below the window: at its bottom, with an arrow
    )
    view = build_view(tight_book(), HEIGHT, step=TICK, markers=markers)
    by_price = {row.price: row for row in view.rows}
    assert (by_price["99.8"].own_bid, by_price["99.8"].own_bids) == ("0.003", 2)
    assert (by_price["100.3"].own_ask, by_price["100.3"].own_asks) == ("0.5", 1)
    assert by_price["100.0"].marks == "◆" and view.rows[-1].marks == "↓✖"
    assert sum(1 for row in view.rows if row.own_bid or row.own_ask) == 2


def test_a_row_names_exactly_the_orders_drawn_on_it() -> None:
    markers = (
        Marker(Decimal("99.8"), "B", "Bid", Decimal("1"), "a"),
        Marker(Decimal("99.8"), "B", "Bid", Decimal("1"), "b"),
        Marker(Decimal("99.7"), "B", "Bid", Decimal("1"), "c"),
        Marker(Decimal("100.3"), "S", "Ask", Decimal("1"), "d"),
        Marker(Decimal("99.8"), "◆entry"),  # not an order: never moved or cancelled
    )
    assert orders_in_row(markers, TICK, Decimal("99.8")) == ("a", "b")
    assert orders_in_row(markers, TICK, Decimal("100.0")) == ()
    # grouped by 1.0: bids floor to 99, the ask at 100.3 ceils to 101, as they are drawn
    assert orders_in_row(markers, Decimal(1), Decimal(99)) == ("a", "b", "c")
    assert orders_in_row(markers, Decimal(1), Decimal(101)) == ("d",)


def test_the_wheel_scrolls_the_window_no_further_than_the_touch_margin() -> None:
    view = build_view(tight_book(), HEIGHT, step=TICK)
    top = view.top
    assert top is not None
    assert scroll_window(view, 1) == top + TICK
    highest = scroll_window(view, 100)  # up until the best bid is MARGIN rows from the bottom
    shown = build_view(tight_book(), HEIGHT, step=TICK, top=highest)
    assert shown.top == highest
    assert [row.price for row in shown.rows].index("99.9") == HEIGHT - 2 - MARGIN
    lowest = scroll_window(view, -100)
    shown = build_view(tight_book(), HEIGHT, step=TICK, top=lowest)
    assert [row.price for row in shown.rows].index("100.2") == MARGIN


def test_a_grouped_ladder_keeps_the_true_best_prices_and_spread() -> None:
    """The issue's case: bid 97,015.2, ask 97,015.4; x10 buckets are 97,015 and 97,016."""
    book = book_of(["97015.4", "97015.9", "97017.3"], ["97015.2", "97014.1", "97013.0"])
    step = Decimal("1.0")
    view = build_view(book, HEIGHT, step=step, grouped=True, note_width=60)
    assert view.note == "bid 97,015.2 · ask 97,015.4 · spread 0.2 (0.02 bps)"
    assert (view.best_bid, view.best_ask) == (Decimal("97015.2"), Decimal("97015.4"))
    got = prices(view)
    assert all(a - b == step for a, b in pairwise(got))
    by_price = {Decimal(row.price): row for row in view.rows}
    assert by_price[Decimal(97016)].ask == "2" and by_price[Decimal(97016)].best  # 2 levels
    assert by_price[Decimal(97018)].ask == "1" and by_price[Decimal(97017)].ask == ""
    assert by_price[Decimal(97015)].bid == "1" and by_price[Decimal(97015)].best
    assert "spread" not in [row.kind for row in view.rows]  # adjacent buckets, no gap
    narrow = build_view(book, HEIGHT, step=step, grouped=True, note_width=25)
    assert narrow.note == "spread 0.2 (0.02 bps)"
    assert spread_note(Decimal("1"), Decimal("1.5"), False, grouped=True, width=12) == "spread 0.5"
    assert spread_note(Decimal("1"), Decimal("1.5"), False, grouped=True, width=4) == "0.5"
    flat = build_view(book, HEIGHT, step=Decimal("0.1"), note_width=60)
    assert flat.note == "spread 0.2 (0.02 bps)"
    assert next_group(1) == 10 and next_group(100) == 1


def test_rows_are_read_from_the_window_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deep book: the ladder bisects to its window instead of walking the levels."""
    book = book_of(
        [f"{100.2 + i / 10:.1f}" for i in range(5000)],
        [f"{99.9 - i / 10:.1f}" for i in range(900)],
    )

    def walked(*_args: object) -> None:
        raise AssertionError("the whole side was walked")

    monkeypatch.setattr(book_module._BookSide, "best_first", walked)
    monkeypatch.setattr(book_module._BookSide, "top", walked)
    read: list[int] = []
    between = book_module._BookSide.between

    def counted(side: Any, low: float, high: float) -> list[Any]:
        levels = between(side, low, high)
        read.append(len(levels))
        return levels

    monkeypatch.setattr(book_module._BookSide, "between", counted)
    for group in (TICK, Decimal(1), Decimal(10)):
        view = build_view(book, 44, step=group, grouped=group != TICK)
        assert len(view.rows) == 43 and view.rows[0].ask
    # Each read is at most the window plus a bucket each side, not the book's 5,900.
    assert len(read) == 6 and max(read) <= (43 + 2) * 100


def test_the_note_says_when_the_book_is_resyncing_or_missing() -> None:
    book = tight_book()
    book.on_delta({"U": 9, "u": 9, "a": [], "b": []})  # a gap
    assert "RESYNCING" in build_view(book, HEIGHT, step=TICK).note
    empty = build_view(None, HEIGHT, step=TICK)
    assert "waiting" in empty.note and {row.kind for row in empty.rows} == {"blank"}
    assert move_cursor(empty, 1) == (None, None)


@pytest.mark.parametrize("group", [Decimal("1"), Decimal("10")])
def test_grouped_rows_sum_what_the_books_own_grouping_sums(group: Decimal) -> None:
    """The ladder's bucketing (bids floor, asks ceil, float noise at the edges) agrees with
    :meth:`OrderBook.grouped` level for level, on prices that sit on bucket edges too."""
    rng = random.Random(7)
    asks = sorted({f"{100.0 + rng.randrange(0, 400) / 10:.1f}" for _ in range(150)})
    bids = sorted({f"{99.9 - rng.randrange(0, 400) / 10:.1f}" for _ in range(150)})
    book = book_of(asks, bids, size="0.3")
    view = build_view(book, 120, step=group, grouped=True)
    for side, column in (("Ask", "ask"), ("Bid", "bid")):
        expected = {
            Decimal(level.price_text): Decimal(level.size_text)
            for level in book.grouped(side, 1000, group)  # type: ignore[arg-type]
        }
        shown = {
            Decimal(r.price): Decimal(getattr(r, column)) for r in view.rows if getattr(r, column)
        }
        assert shown == {price: size for price, size in expected.items() if price in shown}
        assert len(shown) >= len(expected) // 2
