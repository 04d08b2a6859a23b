"""Local L2 order book for one symbol, kept in sync with Backpack's depth stream.

Two concerns live here, both without I/O:

* the sync state machine (docs/PROTOCOL.md "Order book sync"): deltas are buffered until
  a REST snapshot lines up with them, then applied strictly in sequence
  (``U == prev_u + 1``); any gap drops the book to unsynced so the client refetches
  instead of showing a silently wrong book;
* the "lean ladder" structure (docs/PERFORMANCE.md "Order book"): the UI reads the top
  of book every frame and the bench after every message, so each side is kept sorted at
  write time.

Why floats inside: a ``float`` key parses ~5x faster than ``Decimal`` and two spellings of
one price (``"100.1"``/``"100.10"``) give the same float, so they are the same level.
Decimal-distinct prices collide only beyond ~15 significant digits, which no market has.
The exchange's own text is kept next to the float so the display shows exactly what was
sent and money maths (:meth:`OrderBook.best_bid_price`, :meth:`OrderBook.estimate_fill`)
is done exactly in ``Decimal`` from that text. Using floats is allowed only because
property tests compare the book with a naive ``Decimal`` reference after every message
(``tests/unit/test_book.py``).

Reads return the book's own :class:`Level` rows (no copy: building 40 objects per read
would cost more than applying the message). They are valid until the next ``on_delta``
/``on_snapshot``: sizes change in place and a deleted row is recycled for the next new
price, so a caller that keeps rows across messages must ``copy()`` them, and order
code should take prices from :meth:`OrderBook.best_bid_price` & co.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from bpx_tui.exchange.numbers import parse_int, to_decimal

__all__ = ["DeltaResult", "FillEstimate", "Level", "OrderBook", "Side"]

log = logging.getLogger(__name__)

_INF = math.inf
_ZERO = Decimal(0)
# How many malformed levels are logged one by one before logging only every 1000th.
_LOG_FIRST = 10

Side = Literal["Bid", "Ask"]


class DeltaResult(Enum):
    """What :meth:`OrderBook.on_delta` did with a message."""

    APPLIED = "applied"
    BUFFERED = "buffered"
    STALE = "stale"
    GAP = "gap"


# Enum member lookup costs ~0.2 µs on 3.11; the hot path returns these instead.
_APPLIED = DeltaResult.APPLIED
_BUFFERED = DeltaResult.BUFFERED
_STALE = DeltaResult.STALE
_GAP = DeltaResult.GAP


class Level:
    """One price level: floats for display maths, the exchange's text for display.

    Mutable on purpose: a size-only update (the common case) rewrites two fields of
    the row the ladder already holds instead of allocating a new one. ``cumulative``
    (the size from the touch down to and including this level) is worked out when
    first read after a change, not per message: the bench reads the top after every
    message, a person only sees one frame in many.
    """

    __slots__ = ("_cumulative", "_side", "price", "price_text", "size", "size_text")

    def __init__(
        self,
        price: float,
        size: float,
        price_text: str,
        size_text: str,
        cumulative: float = 0.0,
        side: _BookSide | None = None,
    ) -> None:
        self.price = price
        self.size = size
        self.price_text = price_text
        self.size_text = size_text
        self._cumulative = cumulative
        self._side = side

    @property
    def cumulative(self) -> float:
        side = self._side
        if side is not None and side.stale:
            side.fill()
        return self._cumulative

    def copy(self) -> Level:
        """A detached copy that later messages do not change (to keep across frames)."""
        return Level(self.price, self.size, self.price_text, self.size_text, self.cumulative)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return (self.price_text, self.size_text, self.cumulative) == (
            other.price_text,
            other.size_text,
            other.cumulative,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Level({self.price_text!r}, {self.size_text!r}, cumulative={self.cumulative!r})"


@dataclass(frozen=True, slots=True)
class FillEstimate:
    """What a market order of a given size would take from the book right now."""

    filled: Decimal
    average_price: Decimal | None
    worst_price: Decimal | None
    levels: int


class _Malformed(ValueError):
    """A level the fast path will not store; the careful path then logs and skips it."""


class _BookSide:
    """One side: sorted ``keys``/``rows`` lists plus an exact-text index.

    The lists run worst-to-best (key = price for bids, -price for asks) so the touch,
    where most inserts and deletes happen, is at the end and ``list.insert``/``del``
    move few pointers; the top ``n`` is one reversed slice. ``by_text`` finds a level
    from the exchange's own text without parsing it (the common case); a miss parses
    the price and bisects, which also catches other spellings of a known price
    (``"100.10"`` for ``"100.1"``) and gives the insert position.

    ``cache`` is the last top-``cache_n`` list; a size change mutates rows inside it, so
    only an insert or delete among those rows throws it away. ``stale`` says the
    cumulative sizes need refilling, for the best ``want`` rows (the most ever asked
    for). ``spare`` keeps deleted rows for the next insert: creating a ``Level`` costs
    more than the rest of an insert.
    """

    __slots__ = (
        "by_text",
        "cache",
        "cache_n",
        "keys",
        "rows",
        "sign",
        "spare",
        "stale",
        "want",
    )

    def __init__(self, sign: float) -> None:
        self.sign = sign
        self.by_text: dict[str, Level] = {}
        self.keys: list[float] = []
        self.rows: list[Level] = []
        self.spare: list[Level] = []
        self.stale = False
        self.want = 0
        self.cache: list[Level] | None = None
        self.cache_n = 0

    def clear(self) -> None:
        self.by_text.clear()
        self.keys.clear()
        self.rows.clear()
        self.spare.clear()
        self.cache = None
        self.stale = True

    def apply(self, levels: Iterable[Any]) -> bool:
        """Apply absolute ``[price, size]`` levels; False when one was malformed.

        The hot path: validation is limited to what would corrupt the structure, and
        a bad level sends the whole side to the careful path (see ``OrderBook._apply``).
        """
        self.stale = True
        by_text = self.by_text
        text_get = by_text.get
        keys = self.keys
        rows = self.rows
        try:
            for price_text, size_text in levels:
                size = float(size_text)
                if size_text.__class__ is not str:
                    raise _Malformed
                row = text_get(price_text)
                if row is None:
                    price = float(price_text)
                    key = self.sign * price
                    i = bisect_left(keys, key)
                    if i == len(keys) or keys[i] != key:
                        if size == 0.0:
                            continue  # deleting a level we do not have
                        if (
                            not 0.0 < price < _INF
                            or not 0.0 < size < _INF
                            or price_text.__class__ is not str
                        ):
                            raise _Malformed
                        if self.spare:
                            row = self.spare.pop()
                            row.price = price
                            row.size = size
                            row.price_text = price_text
                            row.size_text = size_text
                        else:
                            row = Level(price, size, price_text, size_text, 0.0, self)
                        by_text[price_text] = row
                        if i > len(keys) - self.cache_n:
                            self.cache = None
                        keys.insert(i, key)
                        rows.insert(i, row)
                        continue
                    row = rows[i]  # the same price spelt differently
                elif size == 0.0:
                    i = bisect_left(keys, self.sign * row.price)
                if size > 0.0:
                    if size == _INF:
                        raise _Malformed
                    row.size = size
                    row.size_text = size_text
                    continue
                if size != 0.0:
                    raise _Malformed
                if i >= len(keys) - self.cache_n:
                    self.cache = None
                del by_text[row.price_text]
                del keys[i]
                del rows[i]
                self.spare.append(row)
        except (ValueError, TypeError):
            return False
        return True

    def load(self, levels: list[tuple[str, str]]) -> None:
        """Replace the side with validated snapshot levels (any order, later wins)."""
        self.clear()
        by_price: dict[float, Level] = {}
        for price_text, size_text in levels:
            price = float(price_text)
            size = float(size_text)
            if size > 0.0:
                by_price[price] = Level(price, size, price_text, size_text, 0.0, self)
            else:
                by_price.pop(price, None)
        sign = self.sign
        self.keys.extend(sorted(sign * price for price in by_price))
        self.rows.extend(by_price[sign * key] for key in self.keys)
        self.by_text.update((row.price_text, row) for row in self.rows)

    def top(self, n: int) -> list[Level]:
        """The best ``n`` rows, best first; the same list until a row enters or leaves."""
        if n == self.cache_n and self.cache is not None:
            return self.cache
        if n > self.want:
            self.want = n
            self.stale = True
        result = self.rows[: -n - 1 : -1] if n > 0 else []
        self.cache = result
        self.cache_n = n
        return result

    def best(self) -> Level | None:
        if not self.rows:
            return None
        if self.want < 1:
            self.want = 1
            self.stale = True
        return self.rows[-1]

    def fill(self) -> None:
        """Work out ``cumulative`` for the top ``want`` rows."""
        self.stale = False
        rows = self.rows
        count = len(rows)
        end = self.want if self.want < count else count
        total = 0.0
        for row in reversed(rows[count - end :]):
            total += row.size
            row._cumulative = total

    def best_first(self) -> Iterable[Level]:
        return reversed(self.rows)

    def between(self, low: float, high: float) -> list[Level]:
        """Rows priced in ``[low, high]``, best first: two bisects and one slice, so a
        price ladder costs what it shows, not what the book holds."""
        keys = self.keys
        if self.sign > 0:
            start, end = bisect_left(keys, low), bisect_right(keys, high)
        else:
            start, end = bisect_left(keys, -high), bisect_right(keys, -low)
        return self.rows[start:end][::-1]


def _clean_level(level: object) -> tuple[str, str] | None:
    """A level as exact ``(price_text, size_text)``, or None when it cannot be used.

    Accepts JSON numbers as well as strings (payloads drift: docs/PROTOCOL.md "Values on
    the wire"); rejects anything
    that is not a finite positive price with a finite non-negative size.
    """
    if not isinstance(level, list | tuple) or len(level) != 2:
        return None
    texts: list[str] = []
    for value in level:
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            text = value.strip()
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, float):
            text = repr(value)
        elif isinstance(value, Decimal):
            text = format(value, "f")
        else:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
        if not math.isfinite(number) or number < 0.0:
            return None
        texts.append(text)
    price_text, size_text = texts
    if float(price_text) <= 0.0:
        return None
    return price_text, size_text


class OrderBook:
    """The book of one symbol plus its sync state (docs/PROTOCOL.md "Order book sync").

    ``last_update_id`` is the ``u`` of the last applied delta (or the snapshot's
    ``lastUpdateId``); ``messages`` counts deltas received, ``resyncs`` gaps seen,
    ``malformed`` levels/messages ignored, ``overflowed`` buffered deltas dropped because
    the buffer was full. Levels are kept (but may be stale) while unsynced: callers
    check ``synced`` before trusting them.
    """

    def __init__(self, symbol: str, *, min_buffered: int = 1, buffer_limit: int = 10_000) -> None:
        if buffer_limit < 1:
            raise ValueError("buffer_limit must be at least 1")
        self.symbol = symbol
        self.min_buffered = min_buffered
        self.synced = False
        self.resyncs = 0
        self.last_update_id = 0
        self.messages = 0
        self.malformed = 0
        self.overflowed = 0
        self._bids = _BookSide(1.0)
        self._asks = _BookSide(-1.0)
        # (U, u, data) of deltas waiting for a snapshot; kept contiguous (see _buffer).
        self._buffer: deque[tuple[int, int, dict[str, Any]]] = deque(maxlen=buffer_limit)
        # The snapshot id while nothing has been applied on top of it: the first delta
        # after a snapshot may straddle it (U <= L+1 <= u); -1 when not allowed.
        self._straddle_from = -1

    # ----------------------------------------------------------------- sync

    @property
    def needs_snapshot(self) -> bool:
        """True when the client should fetch a REST snapshot now.

        Waits for ``min_buffered`` deltas because the REST snapshot lags the stream:
        fetching before anything is buffered usually gives one that is too old.
        """
        return not self.synced and len(self._buffer) >= self.min_buffered

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def reset(self) -> None:
        """Forget book and buffer (after a reconnect: the stream restarts elsewhere).

        Counters are statistics and survive.
        """
        self.synced = False
        self.last_update_id = 0
        self._buffer.clear()
        self._straddle_from = -1
        self._bids.clear()
        self._asks.clear()

    def on_delta(self, data: dict[str, Any]) -> DeltaResult:
        """Feed one decoded ``depth.<symbol>`` payload (``data`` of the frame)."""
        self.messages += 1
        try:
            first = data["U"]
            last = data["u"]
        except (KeyError, TypeError):
            first = last = None
        if first.__class__ is not int or last.__class__ is not int or first > last:
            first = parse_int(first)
            last = parse_int(last)
            if first is None or last is None or first > last:
                return self._bad_ids(data)
        if not self.synced:
            return self._buffer_delta(first, last, data)
        expected = self.last_update_id + 1
        if first != expected:
            if last < expected:
                return _STALE
            if first > expected or self._straddle_from != expected - 1:
                self._gap(expected, first, last)
                self._buffer.append((first, last, data))
                return _GAP
        # _apply inlined: this is the per-message hot path.
        bids = data.get("b")
        if bids and not self._bids.apply(bids):
            self._apply_carefully(self._bids, bids)
        asks = data.get("a")
        if asks and not self._asks.apply(asks):
            self._apply_carefully(self._asks, asks)
        self.last_update_id = last
        return _APPLIED

    def on_snapshot(self, raw: dict[str, Any]) -> bool:
        """Line a REST ``/depth`` body up with the buffer; True when now synced.

        False (nothing changed but the buffer trimmed) when the snapshot is older than
        the start of the buffer or the body is unusable: the client fetches again later.
        """
        if not isinstance(raw, dict):
            log.warning("%s: depth snapshot is not an object: %r", self.symbol, type(raw))
            return False
        snapshot_id = parse_int(raw.get("lastUpdateId"))
        if snapshot_id is None:
            log.warning(
                "%s: depth snapshot without a usable lastUpdateId: %r",
                self.symbol,
                raw.get("lastUpdateId"),
            )
            return False
        if self.synced and snapshot_id < self.last_update_id:
            # Going back would need deltas already applied and forgotten.
            log.info(
                "%s: snapshot %d older than the live book at %d; ignored",
                self.symbol,
                snapshot_id,
                self.last_update_id,
            )
            return False
        buffer = self._buffer
        while buffer and buffer[0][1] <= snapshot_id:
            buffer.popleft()
        if buffer and buffer[0][0] > snapshot_id + 1:
            log.info(
                "%s: snapshot %d older than buffered deltas from U=%d; fetch again",
                self.symbol,
                snapshot_id,
                buffer[0][0],
            )
            return False
        self._bids.load(self._snapshot_side(raw.get("bids")))
        self._asks.load(self._snapshot_side(raw.get("asks")))
        self.last_update_id = snapshot_id
        self.synced = True
        pending = list(buffer)
        buffer.clear()
        for position, (first, last, data) in enumerate(pending):
            expected = self.last_update_id + 1
            # The first replayed delta may straddle the snapshot (U <= L+1 <= u).
            if first == expected or (position == 0 and first < expected <= last):
                self._apply(data)
                self.last_update_id = last
                continue
            # Unreachable while the buffer is kept contiguous; stay correct anyway.
            self._gap(expected, first, last)
            for item in pending[position:]:
                self._buffer_delta(*item)
            return False
        # With nothing replayed the snapshot is newer than the stream seen so far: the
        # next live delta may straddle it exactly as a buffered one would.
        self._straddle_from = -1 if pending else snapshot_id
        return True

    def _buffer_delta(self, first: int, last: int, data: dict[str, Any]) -> DeltaResult:
        buffer = self._buffer
        if buffer:
            prev_last = buffer[-1][1]
            if last <= prev_last:
                return _STALE
            if first != prev_last + 1:
                # Nothing before a hole can ever be replayed: a snapshot that lines up
                # must be at least as new as this message's U - 1.
                log.info(
                    "%s: hole in buffered deltas (%d then U=%d); buffer restarts",
                    self.symbol,
                    prev_last,
                    first,
                )
                buffer.clear()
        if len(buffer) == buffer.maxlen:
            self.overflowed += 1
        buffer.append((first, last, data))
        return _BUFFERED

    def _gap(self, expected: int, first: int | None, last: int | None) -> None:
        self.synced = False
        self._straddle_from = -1
        self.resyncs += 1
        self._buffer.clear()
        log.warning(
            "%s: depth sequence gap: expected U=%d, got U=%s u=%s; resyncing (#%d)",
            self.symbol,
            expected,
            first,
            last,
            self.resyncs,
        )

    def _bad_ids(self, data: object) -> DeltaResult:
        """A delta without usable ids cannot be placed; if synced the book is now suspect."""
        self.malformed += 1
        ids = (data.get("U"), data.get("u")) if isinstance(data, dict) else (None, None)
        log.warning("%s: depth delta with unusable ids U=%r u=%r", self.symbol, *ids)
        if self.synced:
            self._gap(self.last_update_id + 1, None, None)
            return _GAP
        return _STALE

    def _apply(self, data: dict[str, Any]) -> None:
        bids = data.get("b")
        asks = data.get("a")
        if bids and not self._bids.apply(bids):
            self._apply_carefully(self._bids, bids)
        if asks and not self._asks.apply(asks):
            self._apply_carefully(self._asks, asks)

    def _apply_carefully(self, side: _BookSide, levels: object) -> None:
        if not isinstance(levels, list | tuple):
            self._malformed_level(levels)
            return
        for level in levels:
            clean = _clean_level(level)
            if clean is None:
                self._malformed_level(level)
            else:
                side.apply((clean,))

    def _snapshot_side(self, levels: object) -> list[tuple[str, str]]:
        if not isinstance(levels, list | tuple):
            if levels is not None:
                self._malformed_level(levels)
            return []
        out = []
        for level in levels:
            clean = _clean_level(level)
            if clean is None:
                self._malformed_level(level)
            else:
                out.append(clean)
        return out

    def _malformed_level(self, level: object) -> None:
        self.malformed += 1
        if self.malformed <= _LOG_FIRST or self.malformed % 1000 == 0:
            log.warning(
                "%s: ignoring malformed depth level %.80r (%d so far)",
                self.symbol,
                level,
                self.malformed,
            )

    # ----------------------------------------------------------------- reads

    def bids(self, n: int = 20) -> list[Level]:
        """Best ``n`` bids, highest first, with cumulative size (do not mutate)."""
        side = self._bids
        # _BookSide.top's cache test, repeated here: a hit (half the reads on the bench
        # stream) then costs one Python call, not two.
        if n == side.cache_n and side.cache is not None:
            return side.cache
        return side.top(n)

    def asks(self, n: int = 20) -> list[Level]:
        """Best ``n`` asks, lowest first, with cumulative size (do not mutate)."""
        side = self._asks
        if n == side.cache_n and side.cache is not None:
            return side.cache
        return side.top(n)

    def best_bid(self) -> Level | None:
        return self._bids.best()

    def best_ask(self) -> Level | None:
        return self._asks.best()

    def mid(self) -> float | None:
        bid = self._bids.best()
        ask = self._asks.best()
        if bid is None or ask is None:
            return None
        return (bid.price + ask.price) / 2.0

    def depth(self) -> tuple[int, int]:
        """How many levels each side holds: (bids, asks)."""
        return len(self._bids.rows), len(self._asks.rows)

    def best_bid_price(self) -> Decimal | None:
        """Exact best bid from the exchange's text (for order prices and checks)."""
        best = self._bids.best()
        return None if best is None else Decimal(best.price_text)

    def best_ask_price(self) -> Decimal | None:
        best = self._asks.best()
        return None if best is None else Decimal(best.price_text)

    def mid_price(self) -> Decimal | None:
        """Exact mid of the touch: a spot market's reference price (it has no mark)."""
        bid, ask = self.best_bid_price(), self.best_ask_price()
        return None if bid is None or ask is None else (bid + ask) / 2

    def levels_between(self, side: Side, low: float, high: float) -> list[Level]:
        """``side``'s levels priced from ``low`` to ``high`` inclusive, best first.

        For the price ladder, which shows a fixed window of prices wherever the touch
        is: the rows are the book's own (see the module note), ``cumulative`` is not
        filled for them.
        """
        return self._side_of(side, opposite=False).between(low, high)

    def estimate_fill(self, side: Side, quantity: Decimal) -> FillEstimate:
        """Walk the opposite side as a market order of ``side`` would (a Bid takes asks).

        Exact ``Decimal`` arithmetic on the exchange's text; ``filled < quantity`` when
        the book is too thin. Reads whatever the book holds: check ``synced`` first.
        """
        book_side = self._side_of(side, opposite=True)
        wanted = to_decimal(quantity, "quantity")  # NumberError is a ValueError
        if wanted < 0:
            raise ValueError(f"quantity must not be negative, got {quantity}")
        remaining = wanted
        cost = _ZERO
        worst: Decimal | None = None
        levels = 0
        for row in book_side.best_first():
            if remaining <= 0:
                break
            size = Decimal(row.size_text)
            price = Decimal(row.price_text)
            take = size if size < remaining else remaining
            cost += take * price
            remaining -= take
            worst = price
            levels += 1
        filled = wanted - remaining
        average = cost / filled if filled > 0 else None
        return FillEstimate(filled, average, worst, levels)

    def grouped(self, side: Side, n: int, group: Decimal) -> list[Level]:
        """The best ``n`` price buckets of width ``group`` (ladder tick grouping).

        Bids fall to the bucket below (floor), asks to the one above (ceil), so a
        grouped ladder never shows a better price than the book has. Sizes are summed
        exactly from the exchange's text.
        """
        book_side = self._side_of(side, opposite=False)
        width = to_decimal(group, "group")
        if width <= 0:
            raise ValueError(f"group must be positive, got {group}")
        if n <= 0:
            return []
        width_f = float(width)
        round_down = side == "Bid"
        out: list[Level] = []
        bucket: int | None = None
        size_sum = _ZERO
        cumulative = 0.0
        for row in book_side.best_first():
            ratio = row.price / width_f
            nearest = round(ratio)
            # Prices sit on the tick grid; only float noise keeps ratio off an integer.
            if abs(ratio - nearest) <= 1e-9 * max(1.0, abs(ratio)):
                index = nearest
            else:
                index = math.floor(ratio) if round_down else math.ceil(ratio)
            if index != bucket:
                if bucket is not None:
                    cumulative = _append_bucket(out, bucket, width, size_sum, cumulative)
                    if len(out) == n:
                        return out
                bucket = index
                size_sum = _ZERO
            size_sum += Decimal(row.size_text)
        if bucket is not None:
            _append_bucket(out, bucket, width, size_sum, cumulative)
        return out

    def _side_of(self, side: str, *, opposite: bool) -> _BookSide:
        if side == "Bid":
            return self._asks if opposite else self._bids
        if side == "Ask":
            return self._bids if opposite else self._asks
        raise ValueError(f"side must be 'Bid' or 'Ask', got {side!r}")


def _append_bucket(
    out: list[Level], bucket: int, width: Decimal, size: Decimal, cumulative: float
) -> float:
    price = Decimal(bucket) * width
    size_f = float(size)
    cumulative += size_f
    out.append(Level(float(price), size_f, format(price, "f"), format(size, "f"), cumulative))
    return cumulative
