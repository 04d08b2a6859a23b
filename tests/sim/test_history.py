"""Account history: pages cost O(page) and memory is capped (bpx_tui/sim/history.py).

The cost tests count records looked at and rows built for one page rather than time
it: a count does not depend on how busy the machine is.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpx_tui.sim.venue import account_queries, views
from bpx_tui.sim.venue.history import ALL, History
from tests.sim.engine_harness import BTC, SOL, Harness


@dataclass(frozen=True)
class Rec:
    seq: int
    time: int
    symbol: str
    name: str


def _keys(rec: Rec) -> tuple[Hashable, ...]:
    return (("symbol", rec.symbol),)


def _reference(
    kept: list[Rec],
    key: Hashable,
    newest_first: bool,
    offset: int,
    limit: int,
    since: int | None,
    until: int | None,
    ident: str | None,
    odd_only: bool,
) -> list[Rec]:
    rows = [
        r
        for r in kept
        if (key == ALL or key == ("symbol", r.symbol))
        and (since is None or r.time >= since)
        and (until is None or r.time <= until)
        and (ident is None or r.name == ident)
        and (not odd_only or r.seq % 2)
    ]
    if newest_first:
        rows.reverse()
    return rows[offset : offset + limit] if limit > 0 else []


@settings(max_examples=60, deadline=None)
@given(
    cap=st.integers(1, 40),
    count=st.integers(0, 120),
    key=st.sampled_from([ALL, ("symbol", "A"), ("symbol", "B"), ("symbol", "Z")]),
    newest_first=st.booleans(),
    offset=st.integers(0, 50),
    limit=st.integers(0, 30),
    since=st.none() | st.integers(0, 130),
    until=st.none() | st.integers(0, 130),
    ident=st.none() | st.sampled_from(["n0", "n1", "n2"]),
    odd_only=st.booleans(),
)
def test_pages_equal_slicing_the_kept_records(
    cap: int,
    count: int,
    key: Hashable,
    newest_first: bool,
    offset: int,
    limit: int,
    since: int | None,
    until: int | None,
    ident: str | None,
    odd_only: bool,
) -> None:
    history: History[Rec] = History(cap, ident=lambda r: r.name)
    records = [Rec(i, i, "AB"[i % 3 % 2], f"n{i % 3}") for i in range(count)]
    for rec in records:
        history.add(rec, rec.time, _keys(rec))
    kept = records[-cap:] if count else []
    assert len(history) == len(kept)
    page = history.page(
        key,
        newest_first=newest_first,
        offset=offset,
        limit=limit,
        since=since,
        until=until,
        ident=ident,
        where=(lambda r: bool(r.seq % 2)) if odd_only else None,
    )
    expected = _reference(kept, key, newest_first, offset, limit, since, until, ident, odd_only)
    assert page == expected


def test_long_histories_compact_and_keep_exactly_the_newest() -> None:
    """Past the compaction threshold the lists shrink and every index agrees."""
    history: History[Rec] = History(300, ident=lambda r: r.name)
    for i in range(5000):
        rec = Rec(i, i, "AB"[i % 2], f"n{i}")
        history.add(rec, rec.time, _keys(rec))
    assert len(history) == 300
    newest = history.page(limit=1000)
    assert [r.seq for r in newest] == list(range(4999, 4699, -1))
    only_a = history.page(("symbol", "A"), newest_first=False, limit=1000)
    assert [r.seq for r in only_a] == list(range(4700, 5000, 2))
    assert history.page(ident="n4000") == [] and history.page(ident="n4999")[0].seq == 4999
    internal = history._indexes[ALL]  # the memory bound itself
    assert len(internal.rows) < 300 + 1024 + 2


def test_a_stepped_back_clock_does_not_break_time_windows() -> None:
    history: History[Rec] = History(10)
    for seq, time in enumerate([100, 200, 150, 300]):
        history.add(Rec(seq, time, "A", ""), time)
    assert [r.seq for r in history.page(since=200, newest_first=False)] == [1, 2, 3]


# ---------------------------------------------------------------------- engine


class Counter:
    """Counts history rows turned into JSON (the expensive, per-row part of a page)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows = 0
        build = views.order_history_row

        def counting(*args: Any) -> Any:
            self.rows += 1
            return build(*args)

        monkeypatch.setattr(account_queries, "order_history_row", counting)


def _traded(orders: int) -> tuple[Harness, int]:
    """An account with ``orders`` filled market orders on two markets (so as many fills)."""
    h = Harness(funding_speedup=3600.0)
    maker, trader = h.account("maker", usdc="100000000"), h.account("trader")
    h.limit(maker, "Ask", "97000.0", "100.00000")
    h.limit(maker, "Ask", "140.10", "50000.00", symbol=SOL)
    for i in range(orders):
        h.tick()
        if i % 2:
            h.market(trader, "Bid", "0.00100")
        else:
            h.market(trader, "Bid", "0.01", symbol=SOL)
    return h, trader


PAGES: list[dict[str, Any]] = [
    {},
    {"limit": "50", "offset": "20"},
    {"symbol": BTC, "limit": "10"},
    {"marketType": "PERP", "sortDirection": "Asc", "offset": "5"},
]


def _page_costs(h: Harness, trader: int, counter: Counter) -> list[tuple[int, int, int]]:
    """(order rows built, order records visited, fill records visited) for each page."""
    account = h.engine.accounts.by_id[trader]
    costs = []
    for params in PAGES:
        counter.rows = 0
        orders_before = account.order_history.visited
        fills_before = account.fills.visited
        orders = h.engine.order_history(trader, params)
        fills = h.engine.fill_history(trader, {**params, "fillType": "User"})
        assert len(orders) == len(fills) == counter.rows > 0
        costs.append(
            (
                counter.rows,
                account.order_history.visited - orders_before,
                account.fills.visited - fills_before,
            )
        )
    return costs


def test_a_history_page_costs_the_same_after_many_orders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter = Counter(monkeypatch)
    few, few_trader = _traded(200)
    many, many_trader = _traded(2000)
    assert len(many.engine.accounts.by_id[many_trader].order_history) == 2000
    assert _page_costs(few, few_trader, counter) == _page_costs(many, many_trader, counter)


def test_history_rows_are_the_newest_first_slice() -> None:
    """The indexed pages return what filtering and slicing the whole history would."""
    h, trader = _traded(40)
    everything = h.engine.order_history(trader, {"limit": "1000"})
    assert len(everything) == 40
    created = [row["createdAt"] for row in everything]
    assert created == sorted(created, reverse=True)
    btc = h.engine.order_history(trader, {"symbol": BTC, "limit": "1000"})
    assert btc == [row for row in everything if row["symbol"] == BTC]
    assert h.engine.order_history(trader, {"marketType": "SPOT"}) == []
    asc = h.engine.order_history(trader, {"sortDirection": "Asc", "offset": "3", "limit": "4"})
    assert asc == everything[::-1][3:7]
    one = everything[7]
    assert h.engine.order_history(trader, {"orderId": one["id"]}) == [one]
    assert h.engine.fill_history(trader, {"orderId": one["id"], "symbol": SOL}) == (
        h.engine.fill_history(trader, {"orderId": one["id"]}) if one["symbol"] == SOL else []
    )


def test_history_is_capped_per_account() -> None:
    h = Harness(history_cap=25, funding_speedup=3600.0)
    maker, trader = h.account("maker", usdc="100000000"), h.account("trader")
    h.limit(maker, "Ask", "97000.0", "100.00000")
    ids = [h.market(trader, "Bid", "0.00100")["id"] for _ in range(60)]
    rows = h.engine.order_history(trader, {"limit": "1000"})
    assert [row["id"] for row in rows] == ids[::-1][:25]
    assert len(h.engine.fill_history(trader, {"limit": "1000"})) == 25
    assert h.engine.order_history(trader, {"orderId": ids[0]}) == []
    for _ in range(40):  # funding payments and published rates are capped the same way
        h.now = h.engine.funding.next_us
        h.engine.advance()
    assert len(h.engine.funding_history(trader, {"limit": "1000"})) == 25
    assert len(h.engine.funding_rates(BTC, 1000, 0)) == 25
