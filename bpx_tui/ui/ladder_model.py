"""What the depth ladder shows, computed without Textual.

The ladder widget paints rows; deciding *which* rows (levels, grouping, the spread row,
where the cursor, the user's orders, the entry and the liquidation price land) is pure
arithmetic on the book and lives here so it is testable without a terminal and so the
widget's paint path stays a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from bpx_tui.exchange.book import Level, OrderBook

RowKind = Literal["ask", "bid", "spread", "blank"]
GROUPS = (1, 10, 100)


@dataclass(frozen=True, slots=True)
class Row:
    """One painted line. Hashable: it is the key of the widget's strip cache."""

    kind: RowKind
    price: str = ""  # the exchange's (or bucket's) price text; "" for spread/blank
    size: str = ""
    cumulative: float = 0.0
    depth: int = 0  # bar length in eighths of a cell, scaled to the deepest row in view
    cursor: bool = False
    last: bool = False
    marks: str = ""
    note: str = ""  # text of the spread row


@dataclass(frozen=True, slots=True)
class Marker:
    """Something the trader wants to see at a price: a working order, entry, liquidation."""

    price: Decimal
    label: str


@dataclass(slots=True)
class LadderView:
    rows: list[Row] = field(default_factory=list)
    cursor_price: Decimal | None = None  # None: the cursor is on the spread row
    cursor_side: Literal["Bid", "Ask"] | None = None
    best_bid: Decimal | None = None  # the book's, not the best bucket's
    best_ask: Decimal | None = None


def _dec(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return None


def _levels(
    book: OrderBook, side: Literal["Bid", "Ask"], n: int, group: Decimal | None
) -> Sequence[Level]:
    if group is not None:
        return book.grouped(side, n, group)
    return book.bids(n) if side == "Bid" else book.asks(n)


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
    group: Decimal | None,
    cursor: Decimal | None,
    last_price: Decimal | None = None,
    markers: Sequence[Marker] = (),
    bar_cells: int = 0,
    note_width: int | None = None,
) -> LadderView:
    """Rows for a ladder ``height`` lines tall (the first line is the column header);
    the spread row's note fits ``note_width`` characters (None: no limit).

    Asks sit above the spread row (worst at the top), bids below it (best first). The
    cursor stays on its price while the book moves; if that price leaves the book it
    snaps to the nearest row of the same side.
    """
    each = max(1, (height - 2) // 2)
    view = LadderView()
    if book is None:
        waiting = spread_note(None, None, False, width=note_width)
        view.rows = [Row("blank")] * each + [Row("spread", note=waiting)]
        view.rows += [Row("blank")] * each
        return view
    asks = list(_levels(book, "Ask", each, group))
    bids = list(_levels(book, "Bid", each, group))
    view.best_ask = book.best_ask_price()
    view.best_bid = book.best_bid_price()
    note = spread_note(
        view.best_bid, view.best_ask, not book.synced, grouped=group is not None, width=note_width
    )
    deepest = max(asks[-1].cumulative if asks else 0.0, bids[-1].cumulative if bids else 0.0)
    scale = bar_cells * 8 / deepest if deepest > 0 else 0.0

    # (kind, level) top to bottom; None level is the spread row.
    ordered: list[tuple[RowKind, Level | None]] = [("ask", lvl) for lvl in reversed(asks)]
    ordered.append(("spread", None))
    ordered.extend(("bid", lvl) for lvl in bids)
    prices = [None if lvl is None else _dec(lvl.price_text) for _, lvl in ordered]
    spread_index = len(asks)

    cursor_index = _cursor_index(prices, spread_index, cursor)
    view.cursor_price = prices[cursor_index]
    if view.cursor_price is not None:
        view.cursor_side = "Ask" if cursor_index < spread_index else "Bid"
    marks = _place_markers(prices, spread_index, markers, group)
    last_index = -1 if last_price is None else _place(prices, spread_index, last_price, group)[0]

    rows: list[Row] = [Row("blank")] * (each - len(asks))
    for index, (kind, level) in enumerate(ordered):
        if level is None:
            rows.append(
                Row(
                    "spread",
                    cursor=index == cursor_index,
                    last=index == last_index,
                    marks=marks.get(index, ""),
                    note=note,
                )
            )
            continue
        rows.append(
            Row(
                kind,
                level.price_text,
                level.size_text,
                level.cumulative,
                int(level.cumulative * scale),
                cursor=index == cursor_index,
                last=index == last_index,
                marks=marks.get(index, ""),
            )
        )
    rows.extend([Row("blank")] * (each - len(bids)))
    view.rows = rows
    return view


def _cursor_index(prices: list[Decimal | None], spread_index: int, cursor: Decimal | None) -> int:
    if cursor is None:
        return spread_index
    for index, price in enumerate(prices):
        if price == cursor:
            return index
    index, _ = _place(prices, spread_index, cursor, None)
    return index


def _place(
    prices: list[Decimal | None], spread_index: int, price: Decimal, group: Decimal | None
) -> tuple[int, str]:
    """The row a price belongs to, and an arrow when it lies beyond the rows in view.

    Asks: the lowest ask row priced at or above it (a grouped ask row ``p`` covers
    ``(p - group, p]``); bids: the highest bid row at or below it (``[p, p + group)``);
    between the two: the spread row.
    """
    asks = [(i, p) for i, p in enumerate(prices[:spread_index]) if p is not None]
    bids = [
        (spread_index + 1 + i, p) for i, p in enumerate(prices[spread_index + 1 :]) if p is not None
    ]
    best_ask = asks[-1][1] if asks else None
    best_bid = bids[0][1] if bids else None
    width = group or Decimal(0)
    if best_ask is not None and (price > best_ask - width if width else price >= best_ask):
        for index, row_price in reversed(asks):
            if row_price >= price:
                return index, ""
        return asks[0][0], "↑"
    if best_bid is not None and (price < best_bid + width if width else price <= best_bid):
        for index, row_price in bids:
            if row_price <= price:
                return index, ""
        return bids[-1][0], "↓"
    return spread_index, ""


def _place_markers(
    prices: list[Decimal | None],
    spread_index: int,
    markers: Sequence[Marker],
    group: Decimal | None,
) -> dict[int, str]:
    placed: dict[int, list[str]] = {}
    for marker in markers:
        index, arrow = _place(prices, spread_index, marker.price, group)
        placed.setdefault(index, []).append(arrow + marker.label)
    return {index: " ".join(labels) for index, labels in placed.items()}


def cursor_stops(view: LadderView) -> list[Decimal | None]:
    """The prices the cursor can sit on, top to bottom (None is the spread row)."""
    stops: list[Decimal | None] = []
    for row in view.rows:
        if row.kind == "spread":
            stops.append(None)
        elif row.kind in ("ask", "bid"):
            stops.append(_dec(row.price))
    return stops


def move_cursor(view: LadderView, delta: int) -> Decimal | None:
    """The cursor price ``delta`` rows down (negative: up), clamped to the rows in view."""
    stops = cursor_stops(view)
    if not stops:
        return None
    try:
        current = stops.index(view.cursor_price)
    except ValueError:
        current = stops.index(None) if None in stops else 0
    return stops[max(0, min(len(stops) - 1, current + delta))]


def next_group(factor: int) -> int:
    """x1 -> x10 -> x100 -> x1."""
    try:
        return GROUPS[(GROUPS.index(factor) + 1) % len(GROUPS)]
    except ValueError:
        return GROUPS[0]
