"""Capped, indexed account history: one page costs O(page), not O(history).

A long-running local exchange records every order, fill and funding payment of every
account. Building the rows of the whole history and then slicing one page out of it
made each ``/wapi/v1/history/*`` call cost a second after ~150k orders, during which
every other client waited. Here each record is appended to a few *indexes* (all
records, and one per filter value such as a symbol or a market type) holding it in
arrival order, so a page is a positional slice of the right index: ``offset`` and
``limit`` are arithmetic, a time window is a bisection, and only the rows of the page
are ever turned into JSON by the caller.

Memory is bounded too: a history keeps the newest ``cap`` records and drops the
oldest. Every index forgets a dropped record at the same moment (records carry a
sequence number), so a filtered page never reaches further back than an unfiltered
one. Filters without an index (``where``) are applied lazily from the page's start;
they cost O(offset + limit) while most records match.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

ALL: Hashable = ("all",)
"""The index every record is in."""

_COMPACT_AT = 1024


class _Index(Generic[T]):
    """Records of one filter value in arrival order, with their sequence numbers and times.

    Dropped records stay in the lists until ``start`` has moved far enough that
    compacting them away costs O(1) per record.
    """

    __slots__ = ("rows", "seqs", "start", "times")

    def __init__(self) -> None:
        self.rows: list[T] = []
        self.seqs: list[int] = []
        self.times: list[int] = []
        self.start = 0

    def append(self, row: T, seq: int, time_ms: int) -> None:
        self.rows.append(row)
        self.seqs.append(seq)
        # A wall clock stepped back must not break the bisection; such a record
        # sorts as if it came at the previous record's time.
        self.times.append(max(time_ms, self.times[-1]) if self.times else time_ms)

    def forget_before(self, oldest_seq: int) -> None:
        start = bisect_left(self.seqs, oldest_seq, self.start)
        if start >= _COMPACT_AT and start * 2 >= len(self.rows):
            del self.rows[:start], self.seqs[:start], self.times[:start]
            start = 0
        self.start = start

    def window(self, oldest_seq: int, since: int | None, until: int | None) -> tuple[int, int]:
        """Positions ``[begin, end)`` of live records with ``since <= time <= until``."""
        begin = bisect_left(self.seqs, oldest_seq, self.start)
        if since is not None:
            begin = bisect_left(self.times, since, begin)
        end = len(self.rows) if until is None else bisect_right(self.times, until, begin)
        return begin, max(begin, end)


class History(Generic[T]):
    """An account's records of one kind, newest ``cap`` kept, indexed by filter values.

    ``ident`` names a record for exact lookups (``orderId``); several records may share
    a name (every fill of one order).
    """

    def __init__(self, cap: int, ident: Callable[[T], str] | None = None) -> None:
        if cap <= 0:
            raise ValueError("a history must keep at least one record")
        self.cap = cap
        self._ident = ident
        self._next_seq = 0
        self._indexes: dict[Hashable, _Index[T]] = {ALL: _Index()}
        self._keys: dict[int, tuple[Hashable, ...]] = {}  # live seq -> its index keys
        self._by_ident: dict[str, list[tuple[int, int, T]]] = {}  # name -> (seq, time, row)
        self.visited = 0
        """Records looked at by queries so far: what a page costs, for tests to count."""

    def __len__(self) -> int:
        return self._next_seq - self._oldest

    @property
    def _oldest(self) -> int:
        return max(0, self._next_seq - self.cap)

    def add(self, row: T, time_ms: int, keys: Iterable[Hashable] = ()) -> None:
        """Record ``row`` under ``ALL`` and every key in ``keys``; drop the oldest if full."""
        seq = self._next_seq
        self._next_seq += 1
        own = (ALL, *keys)
        self._keys[seq] = own
        for key in own:
            index = self._indexes.get(key)
            if index is None:
                index = self._indexes[key] = _Index()
            index.append(row, seq, time_ms)
        if self._ident is not None:
            time = self._indexes[ALL].times[-1]
            self._by_ident.setdefault(self._ident(row), []).append((seq, time, row))
        if seq >= self.cap:
            self._drop(seq - self.cap)

    def _drop(self, seq: int) -> None:
        """Forget record ``seq`` everywhere (records are dropped oldest first)."""
        everything = self._indexes[ALL]
        row = everything.rows[everything.start]
        for key in self._keys.pop(seq):
            index = self._indexes[key]
            index.forget_before(seq + 1)
            if key is not ALL and index.start == len(index.rows):
                del self._indexes[key]  # nothing live under this key any more
        if self._ident is not None:
            name = self._ident(row)
            named = self._by_ident[name]
            named.pop(0)
            if not named:
                del self._by_ident[name]

    def page(
        self,
        key: Hashable = ALL,
        *,
        newest_first: bool = True,
        offset: int = 0,
        limit: int = 100,
        since: int | None = None,
        until: int | None = None,
        ident: str | None = None,
        where: Callable[[T], bool] | None = None,
    ) -> list[T]:
        """Records under ``key`` (and named ``ident``) in ``[since, until]``, one page."""
        if limit <= 0:
            return []
        if ident is not None:
            return self._named_page(key, ident, newest_first, offset, limit, since, until, where)
        index = self._indexes.get(key)
        if index is None:
            return []
        begin, end = index.window(self._oldest, since, until)
        if where is None:
            if newest_first:
                high = end - offset
                low = max(begin, high - limit)
                rows = index.rows[low:high] if high > begin else []
                rows.reverse()
            else:
                low = begin + offset
                rows = index.rows[low : min(end, low + limit)]
            self.visited += len(rows)
            return rows
        positions = range(end - 1, begin - 1, -1) if newest_first else range(begin, end)
        return self._take((index.rows[i] for i in positions), offset, limit, where)

    def _named_page(
        self,
        key: Hashable,
        ident: str,
        newest_first: bool,
        offset: int,
        limit: int,
        since: int | None,
        until: int | None,
        where: Callable[[T], bool] | None,
    ) -> list[T]:
        named = self._by_ident.get(ident, [])
        candidates = (
            row
            for seq, time, row in (reversed(named) if newest_first else named)
            if (key is ALL or key in self._keys[seq])
            and (since is None or time >= since)
            and (until is None or time <= until)
        )
        return self._take(candidates, offset, limit, where)

    def _take(
        self, rows: Iterator[T], offset: int, limit: int, where: Callable[[T], bool] | None
    ) -> list[T]:
        page: list[T] = []
        skipped = 0
        for row in rows:
            self.visited += 1
            if where is not None and not where(row):
                continue
            if skipped < offset:
                skipped += 1
                continue
            page.append(row)
            if len(page) >= limit:
                break
        return page
