"""The alert book and its file, without Textual: each alert fires once, the first time
a figure meets it; only the figure's market and kind are looked at; the file survives a
restart, is written whole, and a broken one is moved aside with a clear message."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from bpx_tui.exchange.models import MarkPrice
from bpx_tui.ui.alert_watch import AlertWatch, fired_entry
from bpx_tui.ui.alerts import AlertBook, load, parse_file, save

BTC, ETH = "BTC_USDC_PERP", "ETH_USDC_PERP"


def test_a_price_alert_fires_once_when_the_price_reaches_it_and_stays_fired() -> None:
    book = AlertBook()
    above = book.add(BTC, "price", ">", Decimal(100_000), now_ms=1)
    below = book.add(BTC, "price", "<", Decimal(90_000), now_ms=2)
    assert book.evaluate(BTC, "price", Decimal("99999.9"), 3) == []
    fired = book.evaluate(BTC, "price", Decimal(100_000), 4)  # reaching the level is enough
    assert [(a.id, a.fired_ms, a.fired_value) for a in fired] == [(above.id, 4, Decimal(100_000))]
    for step, price in enumerate(("100001", "100500", "99000", "100002")):  # stays, dips, back
        assert book.evaluate(BTC, "price", Decimal(price), 5 + step) == []
    assert [a.armed for a in book] == [False, True]
    assert book.get(above.id).fired_value == Decimal(100_000)  # type: ignore[union-attr]
    assert [a.id for a in book.evaluate(BTC, "price", Decimal(90_000), 9)] == [below.id]
    assert book.armed_markets() == set()


def test_an_alert_already_met_fires_at_the_first_figure() -> None:
    book = AlertBook()
    book.add(BTC, "price", "<", Decimal(100_000), now_ms=1)
    assert len(book.evaluate(BTC, "price", Decimal(95_000), 2)) == 1
    assert book.evaluate(BTC, "price", Decimal(94_000), 3) == []


def test_only_the_figures_market_and_kind_are_compared() -> None:
    book = AlertBook()
    book.add(BTC, "price", ">", Decimal(1), now_ms=1)
    rate = book.add(ETH, "funding", "<", Decimal("-0.0001"), now_ms=1)
    assert book.watching(BTC, "price") and not book.watching(BTC, "funding")
    assert book.evaluate(ETH, "price", Decimal(10**9), 2) == []  # a price is not a rate
    assert book.evaluate("SOL_USDC_PERP", "price", Decimal(10**9), 2) == []
    assert book.evaluate(ETH, "funding", Decimal("-0.00009"), 3) == []
    fired = book.evaluate(ETH, "funding", Decimal("-0.0001"), 4)
    assert [a.id for a in fired] == [rate.id]
    assert fired[0].fired_text == "alert: ETH_USDC_PERP funding ≤ -0.0100% — funding -0.0100%"
    assert book.armed_markets("funding") == set() and book.armed_markets("price") == {BTC}


def test_removing_disarms_and_ids_are_never_reused() -> None:
    book = AlertBook()
    first = book.add(BTC, "price", ">", Decimal(5), now_ms=1)
    version = book.version
    assert book.remove(first.id) == first and book.version > version
    assert book.remove(first.id) is None
    assert book.evaluate(BTC, "price", Decimal(6), 2) == []
    assert book.add(BTC, "price", ">", Decimal(5), now_ms=3).id == first.id + 1


def test_the_file_keeps_every_alert_armed_or_fired(tmp_path: Path) -> None:
    path = tmp_path / "data" / "alerts.json"
    book = AlertBook()
    book.add(BTC, "price", ">", Decimal("100000.5"), now_ms=10)
    book.add(ETH, "funding", "<", Decimal("-0.00005"), now_ms=11)
    book.evaluate(BTC, "price", Decimal("100001.0"), 12)
    assert save(book, path) is None
    assert [p.name for p in path.parent.iterdir()] == ["alerts.json"]  # no temporary left
    again, problem = load(path)
    assert problem is None
    assert list(again) == list(book)
    assert again.watching(ETH, "funding") and not again.watching(BTC, "price")
    # A new alert after a restart does not take a kept one's id.
    assert again.add(BTC, "price", "<", Decimal(1), now_ms=13).id == 3


def test_no_file_is_an_empty_book(tmp_path: Path) -> None:
    book, problem = load(tmp_path / "alerts.json")
    assert len(book) == 0 and problem is None


def test_a_broken_file_is_moved_aside_and_said(tmp_path: Path) -> None:
    path = tmp_path / "alerts.json"
    path.write_text('{"version": 1, "alerts": [{"id": 1, "symbol": "BTC', "utf-8")
    book, problem = load(path)
    assert len(book) == 0
    assert problem is not None and str(path) in problem and "not JSON" in problem
    assert "moved to alerts.json.bad" in problem
    assert not path.exists() and (tmp_path / "alerts.json.bad").read_text("utf-8").startswith("{")
    assert save(book, path) is None  # the next save does not touch what was kept aside
    assert (tmp_path / "alerts.json.bad").exists()


def test_every_bad_entry_is_named() -> None:
    good = {"id": 1, "symbol": BTC, "kind": "price", "direction": ">", "level": "5",
            "created_ms": 1, "fired_ms": None, "fired_value": None}  # fmt: skip
    cases = {
        "[]": "not a version 1 alerts file",
        '{"version": 2, "alerts": []}': "not a version 1 alerts file",
        '{"version": 1}': "no list of alerts",
        json.dumps({"version": 1, "alerts": [{**good, "kind": "volume"}]}): "kind 'volume'",
        json.dumps({"version": 1, "alerts": [{**good, "direction": ">="}]}): "direction '>='",
        json.dumps({"version": 1, "alerts": [{**good, "level": 5}]}): "level is not a number",
        json.dumps({"version": 1, "alerts": [{**good, "level": "x"}]}): "level 'x'",
        json.dumps({"version": 1, "alerts": [{**good, "id": "1"}]}): "id is not a whole",
        json.dumps({"version": 1, "alerts": [good, good]}): "two alerts share an id",
    }
    for text, words in cases.items():
        try:
            parse_file(text)
        except ValueError as exc:
            assert words in str(exc), (text, str(exc))
        else:
            raise AssertionError(f"{text} was accepted")


def test_the_activity_line_says_what_fired_it() -> None:
    book = AlertBook()
    book.add(BTC, "price", ">", Decimal(100_000), now_ms=1)
    (alert,) = book.evaluate(BTC, "price", Decimal("100012.5"), 2)
    entry = fired_entry(alert)
    assert (entry.event, entry.market, entry.tone) == ("alert", BTC, "warn")
    assert entry.result == "last 100,012.5 ≥ 100,000: fired"


def test_the_funding_boards_read_fires_a_funding_alert_and_the_file_follows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "alerts.json"
    watch = AlertWatch(path, now_ms=lambda: 42)
    alert = watch.add(ETH, "funding", ">", Decimal("0.0001"))  # no client yet: nothing seen
    assert alert.armed and watch.take_fired() == []

    def mark(symbol: str, rate: str) -> MarkPrice:
        return MarkPrice(symbol, Decimal(3000), None, Decimal(rate), None)

    watch.observe_marks([mark(BTC, "0.01"), mark(ETH, "0.00009")])  # another market; below
    assert watch.take_fired() == []
    watch.observe_marks([mark(ETH, "0.00012")])
    (fired,) = watch.take_fired()
    assert (fired.id, fired.fired_ms, fired.fired_value) == (alert.id, 42, Decimal("0.00012"))
    watch.observe_marks([mark(ETH, "0.0002")])
    assert watch.take_fired() == []
    reloaded, problem = load(path)
    assert problem is None and [a.fired_value for a in reloaded] == [Decimal("0.00012")]
