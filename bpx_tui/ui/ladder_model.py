"""What the depth ladder shows, computed without Textual.

The ladder is a true price ladder: one row per tick (or per grouping bucket), every price
shown whether it has size or not, so the spread is the empty rows between the best bid
and the best ask. The window of prices stays put while the market moves and recentres
only when the touch comes within ``MARGIN`` rows of an edge (or on request); the cursor
is a price, so neither book changes nor recentring move it off the price the trader
chose while that price is on screen.

Deciding *which* rows (prices, sizes, grouping, where the cursor, our orders, the entry
and the liquidation price land) is pure arithmetic on the book and lives here so it is
testable without a terminal and so the widget's paint path stays a dictionary lookup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Literal, NamedTuple

from bpx_tui.exchange.book import Level, OrderBook, Side

RowKind = Literal["ask", "bid", "spread", "blank"]
GROUPS = (1, 10, 100)
# Rows kept between the touch and the window's edge before the window recentres: enough
# to see the next prices out, few enough that a moving market rarely shifts the rows.
MARGIN = 2
_ZERO = Decimal(0)


class Row(NamedTuple):
    """One price of the ladder. Hashable: it is the key of the widget's strip cache.
    A named tuple because one is built per visible price per frame, and a frozen
    dataclass's ``__init__`` costs several times a tuple's.

    ``kind`` is the side the price is on: at or above the best ask, at or below the best
    bid, or strictly between (the spread). Our resting orders are kept per side and
    price (total and count) so order moving can later pick them up from the row.
    """

    kind: RowKind
    price: str = ""  # the row's price (a bucket's edge when grouped); "" for blank
    bid: str = ""  # the book's size at this price, exact text; "" for none
    ask: str = ""
    own_bid: str = ""  # our resting bids here, summed (plain decimal text)
    own_bids: int = 0  # how many of them
    own_ask: str = ""
    own_asks: int = 0
    depth: int = 0  # bar length in eighths of a cell: size from the touch to here
    best: bool = False  # the row holding the book's best bid or best ask
    cursor: bool = False
    last: bool = False
    marks: str = ""  # entry / liquidation glyphs, an arrow when beyond the window
    volume: str = ""  # traded at this price (bucket) this session, from the trade stream


@dataclass(frozen=True, slots=True)
class Marker:
    """Something the trader wants to see at a price: a working order, entry, liquidation.

    ``side`` is set for our resting orders (they go to the own-order columns with their
    ``quantity``); the others are drawn as ``label``'s first character by the price.
    """

    price: Decimal
    label: str
    side: Side | None = None
    quantity: Decimal = _ZERO
    order_id: str = ""  # our resting order's id: what moving and cancelling act on


@dataclass(slots=True)
class LadderView:
    rows: list[Row] = field(default_factory=list)
    step: Decimal = Decimal(1)  # one row's price distance (tick or bucket)
    top: Decimal | None = None  # the first row's price: the window the next frame keeps
    cursor_price: Decimal | None = None  # None: at the touch (b/s take the best price)
    cursor_side: Literal["Bid", "Ask"] | None = None
    best_bid: Decimal | None = None  # the book's, not the best bucket's
    best_ask: Decimal | None = None
    note: str = ""  # the spread (or resync) line


def _index(price: float, step: float, up: bool) -> int:
    """The row a book price lands on: bids floor to their bucket, asks ceil (as
    :meth:`OrderBook.grouped`), so a grouped row never shows a better price than the book."""
    ratio = price / step
    nearest = round(ratio)
    # Prices sit on the tick grid; only float noise keeps ratio off an integer.
    if abs(ratio - nearest) <= 1e-9 * max(1.0, abs(ratio)):
        return nearest
    return math.ceil(ratio) if up else math.floor(ratio)


def _exact_index(price: Decimal, step: Decimal, rounding: str = ROUND_HALF_EVEN) -> int:
    return int((price / step).to_integral_value(rounding=rounding))


def _price(index: int, step: Decimal) -> Decimal:
    return Decimal(index) * step


_NO_OWN = ("", 0)


@lru_cache(maxsize=64)
def _price_texts(top: int, count: int, step: Decimal) -> tuple[str, ...]:
    """The window's price texts, top first: the window rarely moves, so this is a hit."""
    return tuple(format(_price(top - offset, step), "f") for offset in range(count))


def _sizes(levels: Sequence[Level], step: float, up: bool, grouped: bool) -> dict[int, str]:
    if not grouped:  # the exchange's prices are on the tick grid: the nearest row
        return {round(level.price / step): level.size_text for level in levels}
    # Levels come sorted, so a run of them shares a bucket: the bucket is worked out
    # (with _index's float tolerance) only when a price leaves the last one's bounds.
    texts: dict[int, list[str]] = {}
    low = high = math.inf
    bucket: list[str] = []
    for level in levels:
        price = level.price
        if not low <= price < high:
            index = _index(price, step, up)
            # The prices that land on ``index``, as _index decides, widened by nothing
            # and narrowed by its tolerance so a boundary price is always recomputed.
            slack = 2e-9 * max(1.0, abs(price / step)) * step
            edge = index * step
            low, high = (
                (edge - step + slack, edge - slack) if up else (edge + slack, edge + step - slack)
            )
            bucket = texts.setdefault(index, [])
        bucket.append(level.size_text)
    return {index: format(sum(map(Decimal, sizes), _ZERO), "f") for index, sizes in texts.items()}


def _touch(view: LadderView) -> tuple[int, int] | None:
    """Rows of the best ask and best bid buckets; a missing side sits next to the other."""
    step = view.step
    ask = None if view.best_ask is None else _exact_index(view.best_ask, step, ROUND_CEILING)
    bid = None if view.best_bid is None else _exact_index(view.best_bid, step, ROUND_FLOOR)
    if ask is None and bid is None:
        return None
    if ask is None:
        assert bid is not None
        return bid + 1, bid
    return ask, ask - 1 if bid is None else bid


def spread_note(
    best_bid: Decimal | None,
    best_ask: Decimal | None,
    resyncing: bool,
    *,
    grouped: bool = False,
    width: int | None = None,
) -> str:
    """The spread row's text: the real spread from the book's best bid and ask.

    Grouped rows show bucket edges (bids floored, asks ceiled), so the gap between them
    is not the spread and the best prices are in no row: a grouped note names them. The
    longest wording that fits ``width`` is used, dropping the prices, then the bps,
    because a number cut at the panel's edge reads as a different number.
    """
    if resyncing:
        wordings = [
            "RESYNCING: book not live, ladder trading blocked",
            "RESYNCING: trading blocked",
            "RESYNCING",
        ]
    elif best_bid is None or best_ask is None:
        wordings = ["waiting for the book", "waiting"]
    else:
        spread = format(best_ask - best_bid, "f")
        mid = (best_ask + best_bid) / 2
        bps = (best_ask - best_bid) / mid * 10_000 if mid else Decimal(0)
        figure = f"spread {spread} ({bps:.2f} bps)"
        wordings = [figure, f"spread {spread}", spread]
        if grouped:
            prices = f"bid {best_bid:,} · ask {best_ask:,}"
            wordings[:0] = [f"{prices} · {figure}", f"{prices} · spread {spread}"]
    if width is None:
        return wordings[0]
    return next((text for text in wordings if len(text) <= width), wordings[-1])


def build_view(
    book: OrderBook | None,
    height: int,
    *,
    step: Decimal,
    grouped: bool = False,
    top: Decimal | None = None,
    cursor: Decimal | None = None,
    last_price: Decimal | None = None,
    markers: Sequence[Marker] = (),
    bar_cells: int = 0,
    note_width: int | None = None,
    volume: Mapping[Decimal, Decimal] | None = None,
    tick: Decimal | None = None,
) -> LadderView:
    """Rows for a ladder ``height`` lines tall (the first line is the column header),
    one per ``step`` of price, highest first; the note fits ``note_width`` characters.

    ``top`` is the previous frame's window: it is kept unless the touch is within
    ``MARGIN`` rows of its edge (None: centre on the touch). The cursor keeps its price
    while that price is in the window and is clamped to the window's edge otherwise.
    Only the window's levels are read from the book (two bisects per side).
    ``volume`` (``{price: traded}``, on the ``tick`` grid) fills the volume column.
    """
    count = max(1, height - 1)
    view = LadderView(step=step)
    if book is not None:
        view.best_bid, view.best_ask = book.best_bid_price(), book.best_ask_price()
    resyncing = book is not None and not book.synced
    view.note = spread_note(
        view.best_bid, view.best_ask, resyncing, grouped=grouped, width=note_width
    )
    touch = _touch(view)
    if book is None or touch is None:
        view.rows = [Row("blank")] * count
        return view
    ask_i, bid_i = touch
    top_i = None if top is None else _exact_index(top, step)
    margin = _margin(count)
    if top_i is None or ask_i > top_i - margin or bid_i < top_i - count + 1 + margin:
        top_i = (ask_i + bid_i) // 2 + count // 2
    bottom_i = top_i - count + 1
    view.top = _price(top_i, step)

    step_f = float(step)
    low, high = (bottom_i - 1) * step_f, (top_i + 1) * step_f
    asks = _sizes(book.levels_between("Ask", low, high), step_f, True, grouped)
    bids = _sizes(book.levels_between("Bid", low, high), step_f, False, grouped)
    depth = _depths(asks, bids, ask_i, bid_i, top_i, bottom_i, bar_cells)
    own = _own_orders(markers, step)
    marks = _place_marks(markers, step, top_i, bottom_i)
    traded = _traded(volume, step, tick or step, top_i, count) if volume else {}

    cursor_i = None if cursor is None else _exact_index(cursor, step)
    if cursor_i is not None:
        cursor_i = max(bottom_i, min(top_i, cursor_i))
        view.cursor_price = _price(cursor_i, step)
    last_i = None if last_price is None else _exact_index(last_price, step)
    best_ask_i = ask_i if view.best_ask is not None else None
    best_bid_i = bid_i if view.best_bid is not None else None
    ask_from = top_i + 1 if best_ask_i is None else best_ask_i
    bid_to = bottom_i - 1 if best_bid_i is None else best_bid_i

    # The hot loop of the paint: one tuple per visible price, lookups only.
    texts = _price_texts(top_i, count, step)
    bid_get, ask_get, depth_get = bids.get, asks.get, depth.get
    rows: list[Row] = []
    append = rows.append
    for offset, text in enumerate(texts):
        index = top_i - offset
        kind: RowKind = "ask" if index >= ask_from else "bid" if index <= bid_to else "spread"
        own_bid, own_bids = own.get(("Bid", index), _NO_OWN) if own else _NO_OWN
        own_ask, own_asks = own.get(("Ask", index), _NO_OWN) if own else _NO_OWN
        append(
            Row(
                kind,
                text,
                bid_get(index, ""),
                ask_get(index, ""),
                own_bid,
                own_bids,
                own_ask,
                own_asks,
                depth_get(index, 0),
                index in (best_ask_i, best_bid_i),
                index == cursor_i,
                index == last_i,
                marks.get(index, "") if marks else "",
                traded.get(index, "") if traded else "",
            )
        )
    if cursor_i is not None:
        kind = rows[top_i - cursor_i].kind
        view.cursor_side = "Ask" if kind == "ask" else "Bid" if kind == "bid" else None
    view.rows = rows
    return view


def _depths(
    asks: dict[int, str],
    bids: dict[int, str],
    ask_i: int,
    bid_i: int,
    top_i: int,
    bottom_i: int,
    bar_cells: int,
) -> dict[int, int]:
    """Bar lengths on the rows with size: the size from the touch out to the row, scaled
    to the deepest row in view (the window holds the touch, so the sum starts there).
    Empty prices get no bar, so a bar always means size at that price."""
    if bar_cells <= 0:
        return {}
    totals: dict[int, float] = {}
    deepest = 0.0
    for sizes, indices in (
        (asks, range(max(ask_i, bottom_i), top_i + 1)),
        (bids, range(min(bid_i, top_i), bottom_i - 1, -1)),
    ):
        total = 0.0
        for index in indices:
            size = sizes.get(index)
            if size:
                total += float(size)
                totals[index] = total
        deepest = max(deepest, total)
    if deepest <= 0:
        return {}
    scale = bar_cells * 8 / deepest
    return {index: int(value * scale) for index, value in totals.items()}


def _traded(
    volume: Mapping[Decimal, Decimal], step: Decimal, tick: Decimal, top_i: int, count: int
) -> dict[int, str]:
    """The session's volume per visible row (a bucket sums its ticks, floored as bids).

    Whichever is smaller is walked: the prices traded so far, or the window's ticks, so
    a long session's thousands of prices never cost more than the window itself.
    """
    per_row = max(1, int(step / tick))
    bottom_i = top_i - count + 1
    sums: dict[int, Decimal] = {}
    if len(volume) <= count * per_row:
        for price, traded in volume.items():
            index = _exact_index(price, step, ROUND_FLOOR)
            if bottom_i <= index <= top_i:
                sums[index] = sums.get(index, _ZERO) + traded
    else:
        get = volume.get
        for index in range(bottom_i, top_i + 1):
            first = _price(index, step)
            total = sum((get(first + k * tick, _ZERO) for k in range(per_row)), _ZERO)
            if total:
                sums[index] = total
    return {index: _plain(total) for index, total in sums.items()}


def _own_orders(
    markers: Sequence[Marker], step: Decimal
) -> dict[tuple[Side, int], tuple[str, int]]:
    """Our resting orders summed per side and row (bids floor, asks ceil, as the book)."""
    sums: dict[tuple[Side, int], tuple[Decimal, int]] = {}
    for marker in markers:
        if marker.side is None:
            continue
        key = (marker.side, _own_row(marker, step))
        quantity, count = sums.get(key, (_ZERO, 0))
        sums[key] = (quantity + marker.quantity, count + 1)
    return {key: (_plain(quantity), count) for key, (quantity, count) in sums.items()}


def orders_in_row(markers: Sequence[Marker], step: Decimal, price: Decimal) -> tuple[str, ...]:
    """The ids of our resting orders drawn on the row of ``price`` (as ``_own_orders``
    places them: bids floor to their row, asks ceil), so a key on a row acts on exactly
    the orders the trader sees in its own-order columns."""
    row = _exact_index(price, step)
    return tuple(
        marker.order_id
        for marker in markers
        if marker.side is not None and marker.order_id and _own_row(marker, step) == row
    )


def _own_row(marker: Marker, step: Decimal) -> int:
    """The row an order of ours is drawn on: bids floor to their bucket, asks ceil."""
    rounding = ROUND_FLOOR if marker.side == "Bid" else ROUND_CEILING
    return _exact_index(marker.price, step, rounding)


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _place_marks(
    markers: Sequence[Marker], step: Decimal, top_i: int, bottom_i: int
) -> dict[int, str]:
    """Entry and liquidation glyphs by row; beyond the window, at its edge with an arrow."""
    placed: dict[int, str] = {}
    for marker in markers:
        if marker.side is not None or not marker.label:
            continue
        index = _exact_index(marker.price, step)
        glyph = marker.label[0]
        if index > top_i:
            index, glyph = top_i, "↑" + glyph
        elif index < bottom_i:
            index, glyph = bottom_i, "↓" + glyph
        placed[index] = placed.get(index, "") + glyph
    return placed


def _margin(count: int) -> int:
    return min(MARGIN, (count - 1) // 4)


def move_cursor(view: LadderView, delta: int) -> tuple[Decimal | None, Decimal | None]:
    """The cursor price ``delta`` rows down (negative: up), and the window's new top.

    From the touch (no cursor yet) the first row down is the best bid's and the first
    row up the best ask's, so one key press reaches the price b/s would take anyway.
    Past the window's edge the window scrolls with the cursor, as far as keeps the
    touch ``MARGIN`` rows inside (further would only be undone by the next frame's
    recentring); beyond that the cursor stops at the edge.
    """
    touch = _touch(view)
    if view.top is None or touch is None or not view.rows:
        return view.cursor_price, view.top
    ask_i, bid_i = touch
    count = len(view.rows)
    top_i = _exact_index(view.top, view.step)
    if view.cursor_price is not None:
        target = _exact_index(view.cursor_price, view.step) - delta
    elif delta > 0:
        target = bid_i - (delta - 1)
    elif delta < 0:
        target = ask_i + (-delta - 1)
    else:
        return None, view.top
    wanted = max(target, min(top_i, target + count - 1))  # the least scroll showing target
    top_i = _keep_touch(wanted, touch, count, fallback=top_i)
    target = max(top_i - count + 1, min(top_i, target))
    return _price(target, view.step), _price(top_i, view.step)


def scroll_window(view: LadderView, rows: int) -> Decimal | None:
    """The window's top after scrolling ``rows`` up (negative: down), as far as keeps
    the touch ``MARGIN`` rows inside: further would be undone by the next frame."""
    touch = _touch(view)
    if view.top is None or touch is None or not view.rows:
        return view.top
    top_i = _exact_index(view.top, view.step)
    return _price(_keep_touch(top_i + rows, touch, len(view.rows), fallback=top_i), view.step)


def _keep_touch(top_i: int, touch: tuple[int, int], count: int, *, fallback: int) -> int:
    """``top_i`` limited so the touch stays ``MARGIN`` rows inside a ``count``-row window
    (``fallback`` when the touch is too wide for any window to hold it so)."""
    ask_i, bid_i = touch
    margin = _margin(count)
    lowest, highest = ask_i + margin, bid_i + count - 1 - margin
    if lowest > highest:
        return fallback
    return max(lowest, min(highest, top_i))


def next_group(factor: int) -> int:
    """x1 -> x10 -> x100 -> x1."""
    try:
        return GROUPS[(GROUPS.index(factor) + 1) % len(GROUPS)]
    except ValueError:
        return GROUPS[0]
