"""The synthetic market and the public feeds it drives."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bpx_tui.sim.venue.universe import CORE_SYMBOLS
from tests.sim.engine_harness import BTC, SOL, SOL_SPOT, Harness


def _book(snapshot: dict[str, Any]) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    bids = {Decimal(p): Decimal(q) for p, q in snapshot["bids"]}
    asks = {Decimal(p): Decimal(q) for p, q in snapshot["asks"]}
    return bids, asks


def _apply(side: dict[Decimal, Decimal], levels: list[list[str]]) -> None:
    for price, qty in levels:
        if Decimal(qty) == 0:
            side.pop(Decimal(price), None)
        else:
            side[Decimal(price)] = Decimal(qty)


def _run(h: Harness, steps: int, dt_us: int = 50_000) -> None:
    for i in range(steps):
        h.tick(dt_us)
        h.engine.step_market()
        if i % 20 == 0:
            h.engine.advance()


def test_seeded_books_are_deep_and_sane() -> None:
    h = Harness(book_levels=200)
    for symbol in h.engine.symbols:
        depth = h.engine.depth(symbol, None)
        bids, asks = depth["bids"], depth["asks"]
        assert len(bids) > 150 and len(asks) > 150
        bid_prices = [Decimal(p) for p, _ in bids]
        ask_prices = [Decimal(p) for p, _ in asks]
        assert bid_prices == sorted(bid_prices) and ask_prices == sorted(ask_prices)
        assert bid_prices[-1] < ask_prices[0]
        # sizes decay away from the touch on average
        near = sum(Decimal(q) for _, q in asks[:20])
        far = sum(Decimal(q) for _, q in asks[-20:])
        assert near > far
    mid = (
        Decimal(h.engine.depth(BTC, 1)["bids"][0][0])
        + Decimal(h.engine.depth(BTC, 1)["asks"][0][0])
    ) / 2
    assert abs(mid - 97000) < 5
    assert abs(Decimal(h.engine.ticker(SOL)["lastPrice"]) - 140) < 1


def test_depth_stream_is_consecutive_and_replays_onto_the_snapshot() -> None:
    h = Harness(book_levels=200)
    snapshots = {s: h.engine.depth(s, 1000) for s in h.engine.symbols}
    books = {s: _book(snap) for s, snap in snapshots.items()}
    last_u = {s: int(snap["lastUpdateId"]) for s, snap in snapshots.items()}
    _run(h, 400)
    counts = dict.fromkeys(h.engine.symbols, 0)
    for stream, data, account in h.events:
        if not stream.startswith("depth."):
            continue
        assert account is None
        symbol = data["s"]
        assert stream == "depth." + symbol
        assert data["U"] == last_u[symbol] + 1, "gap or overlap in U/u"
        assert data["u"] >= data["U"]
        assert data["u"] - data["U"] + 1 == len(data["a"]) + len(data["b"])
        last_u[symbol] = data["u"]
        bids, asks = books[symbol]
        _apply(bids, data["b"])
        _apply(asks, data["a"])
        counts[symbol] += 1
    for symbol in h.engine.symbols:
        # Nobody watches: the core markets take most steps, every other one some.
        assert counts[symbol] > (50 if symbol in CORE_SYMBOLS else 0), symbol
        now = h.engine.depth(symbol, 1000)
        assert int(now["lastUpdateId"]) == last_u[symbol]
        assert books[symbol] == _book(now), symbol
        bids, asks = books[symbol]
        assert max(bids) < min(asks)


def test_step_emits_a_handful_of_depth_messages_and_trades() -> None:
    h = Harness(book_levels=200)
    _run(h, 1000)
    depth = [d for s, d, _ in h.events if s.startswith("depth.")]
    assert 2 * 1000 <= len(depth) <= 10 * 1000
    trades = [d for s, d, _ in h.events if s.startswith("trade.")]
    assert len(trades) > 50
    for symbol in h.engine.symbols:
        ids = [t["t"] for t in trades if t["s"] == symbol]
        assert ids == list(range(1, len(ids) + 1)), "trade ids run per symbol"
    ticker = h.engine.ticker(BTC)
    assert int(ticker["trades"]) > 0 and Decimal(ticker["volume"]) > 0
    book_tickers = [d for s, d, _ in h.events if s == "bookTicker." + BTC]
    assert book_tickers and all(Decimal(b["b"]) < Decimal(b["a"]) for b in book_tickers)


def test_deterministic_for_a_seed_and_clock() -> None:
    runs = []
    for seed in (7, 7, 8):
        h = Harness(book_levels=50, seed=seed)
        _run(h, 200)
        runs.append([(s, d) for s, d, _ in h.events])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_prices_walk_with_engine_time_only() -> None:
    h = Harness(book_levels=20)
    before = h.engine.mark_prices(BTC)[0]["markPrice"]
    for _ in range(50):
        h.engine.step_market()  # the clock does not move
    assert h.engine.mark_prices(BTC)[0]["markPrice"] == before
    _run(h, 200, dt_us=1_000_000)
    after = Decimal(h.engine.mark_prices(BTC)[0]["markPrice"])
    assert after != Decimal(before)
    assert abs(after / 97000 - 1) < Decimal("0.05")
    spot = Decimal(h.engine.ticker(SOL_SPOT)["lastPrice"])
    perp_index = Decimal(h.engine.mark_prices(SOL)[0]["indexPrice"])
    assert abs(spot / perp_index - 1) < Decimal("0.01"), "spot and perp share an index"


def test_feeds_from_advance() -> None:
    h = Harness(book_levels=20)
    h.engine.advance()
    mark = h.public("markPrice." + BTC)
    assert len(mark) == 1 and mark[0]["n"] == h.engine.funding.next_us // 1000
    assert Decimal(mark[0]["f"]) == Decimal("0.0000125")
    h.engine.advance()  # same engine second: no second push
    assert len(h.public("markPrice." + BTC)) == 1
    h.tick(1_000_000)
    h.engine.advance()
    assert len(h.public("markPrice." + BTC)) == 2
    assert len(h.public("ticker." + SOL_SPOT)) == 2
    assert h.public("markPrice." + SOL_SPOT) == []


def test_klines_aggregate_minutes() -> None:
    h = Harness(book_levels=50)
    _run(h, 2000, dt_us=100_000)  # 200 s of engine time
    start = h.now // 1_000_000 - 400
    minutes = h.engine.klines(BTC, "1m", start, None, None)
    assert len(minutes) >= 3
    five = h.engine.klines(BTC, "5m", start, None, None)
    assert sum(int(k["trades"]) for k in five) == sum(int(k["trades"]) for k in minutes)
    assert max(Decimal(k["high"]) for k in five) == max(Decimal(k["high"]) for k in minutes)
    assert minutes[0]["start"].count(":") == 2 and " " in minutes[0]["start"]
    marks = h.engine.klines(BTC, "1m", start, None, "Mark")
    assert marks and all(k["trades"] == "0" for k in marks)


def test_positions_are_revalued_every_engine_second() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    h.limit(maker, "Ask", "97000.0", "0.10000")
    h.market(trader, "Bid", "0.10000")
    h.engine.advance()
    h.engine.prices.set_index("BTC", Decimal("97100"), h.now)
    h.tick(1_000_000)
    h.engine.advance()
    updates = [e for e in h.private(trader, "positionAdjusted") if e["M"] == "97100"]
    assert updates and updates[-1]["P"] == "10"
    assert [e for e in h.private(maker, "positionAdjusted") if e["P"] == "-10"]
