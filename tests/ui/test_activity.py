"""The activity log instead of toasts: every event one line, errors the only toasts."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from bpx_tui.exchange.models import Order
from bpx_tui.ui import fmt
from bpx_tui.ui.activity import (
    ActivityEntry,
    ActivityLog,
    OrderStatusMemo,
    fill_entry,
    order_entry,
)
from bpx_tui.ui.widgets.activity import LINES_PER_ENTRY, ActivityPanel, result_lines, shorten
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.conftest import load_fixture
from tests.ui.helpers import SIZE, make_demo_app, wait_for, wait_ready


def _order(status: str, **extra: object) -> Order:
    return Order.from_api(
        {
            "id": "111",
            "symbol": "BTC_USDC_PERP",
            "side": "Bid",
            "orderType": "Limit",
            "status": status,
            "price": "97000.5",
            "quantity": "0.010",
            "executedQuantity": "0",
            "executedQuoteQuantity": "0",
            **extra,
        }
    )


def test_a_status_heard_twice_is_said_once() -> None:
    memo = OrderStatusMemo()
    assert memo.is_new(_order("New"))
    assert not memo.is_new(_order("New"))  # the stream's echo of the REST answer
    assert memo.is_new(_order("Cancelled"))
    assert not memo.is_new(_order("Cancelled"))
    assert not memo.is_new(_order("New"))  # a late update after the end


def test_fill_line_has_the_fill_own_size_and_price() -> None:
    order = Order.from_update(
        {"e": "orderFill", "i": "9", "s": "BTC_USDC_PERP", "S": "Ask", "o": "LIMIT",
         "X": "PartiallyFilled", "p": "97000.5", "q": "0.010", "z": "0.004",
         "l": "0.004", "L": "97001.5", "m": True}
    )  # fmt: skip
    entry = fill_entry(order)
    assert (entry.side, entry.size, entry.price) == ("SELL", "0.004", "97,001.5")
    assert entry.result == "partial: 0.004 of 0.010 · maker"
    assert entry.tone == "sell"


def test_a_trigger_orders_line_shows_its_trigger_size_not_the_streams_zero() -> None:
    frame = load_fixture("ws_account_orderUpdate_triggerPlaced.json")
    cancelled = {**frame["data"], "e": "orderCancelled", "X": "Cancelled"}
    entry = order_entry(Order.from_update(cancelled))
    assert entry is not None
    assert (entry.size, entry.price) == ("0.02000", "94,000.0")
    assert "reduce-only" in entry.result


def test_log_is_newest_first_and_bounded() -> None:
    log = ActivityLog(kept=3)
    for n in range(5):
        log.record(ActivityEntry("order", f"#{n}"), at_ms=n)
    assert [e.result for e in log.newest_first()] == ["#4", "#3", "#2"]
    assert [e.result for e in log.newest_first(1, 1)] == ["#3"]
    assert log.version == 5


def test_long_results_wrap_at_words_onto_the_entry_lines() -> None:
    text = "trading is halted: kill switch (K); only reducing orders go out"
    lines = result_lines(text, 20)
    assert " ".join(lines) == text and all(len(line) <= 20 for line in lines)
    many = result_lines("word " * 60, 20)
    assert len(many) == LINES_PER_ENTRY and many[-1].endswith("…")


def test_results_are_shortened_at_a_word_never_inside_a_number() -> None:
    text = "order notional 873,000.00 above the limit 50,000.00"
    assert shorten(text, 30) == "order notional 873,000.00…"
    assert shorten(text, 18) == "order notional…"
    assert shorten(text, 100) == text
    assert fmt.exact("97003.70") == "97,003.70"
    assert fmt.exact(Decimal("1E+3")) == "1,000"
    assert fmt.exact("n/a") == "n/a"


async def test_a_market_order_is_two_lines_and_no_toast(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app, _sim = make_demo_app(tmp_path)
    caplog.set_level(logging.INFO, logger="bpx_tui.activity")
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B", "enter")
        await wait_for(
            pilot, lambda: any(e.event == "fill" for e in app.activity.newest_first()), "a fill"
        )
        await pilot.pause(0.6)  # more frames: echoes of the same order must not add lines
        events = [e.event for e in app.activity.newest_first() if e.market == app.active]
        assert events == ["fill", "order"]
        fill, order = [e for e in app.activity.newest_first() if e.market]
        assert order.result == "Market accepted" and order.side == "BUY"
        assert fill.result.startswith("filled") and fill.price
        assert not app._notifications  # a fill is news, not an alarm
        assert any("fill BTC_USDC_PERP BUY" in r.getMessage() for r in caplog.records)
        panel = app.query_one(ActivityPanel)
        assert panel.border_subtitle == f"{len(app.activity)} events"


async def test_a_refusal_is_logged_and_shown_in_the_ticket_not_toasted(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("K")  # kill switch: new risk is refused
        await pilot.press("B", "enter")
        await wait_for(
            pilot,
            lambda: any(e.event == "refused" for e in app.activity.newest_first()),
            "the refusal",
        )
        refused = next(e for e in app.activity.newest_first() if e.event == "refused")
        assert refused.tone == "bad" and "kill switch" in refused.result
        assert app.query_one(OrderTicket).is_open
        assert not app._notifications
        kill = [e for e in app.activity.newest_first() if e.event == "kill"]
        assert len(kill) == 1 and kill[0].result.startswith("ON")
        assert sim.engine.open_orders(sim.demo.account_id, None, None) == []


async def test_a_burst_of_errors_is_one_toast(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        for n in range(5):
            app.alert(f"problem {n}")
        await pilot.pause(0.1)
        assert [n.message for n in app._notifications] == ["problem 0"]  # the first at once
        await pilot.pause(1.2)
        shown = [n.message for n in app._notifications]
        assert shown == ["5 problems in a moment; latest: problem 4"]


async def test_the_panel_maps_lines_to_entries_newest_first(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_ready(pilot)
        panel = app.query_one(ActivityPanel)
        long = "trading is halted: kill switch (K); only reducing orders go out " * 2
        for n in range(30):
            app.activity.record(ActivityEntry("order", f"#{n} " + (long if n % 3 else "")), n)
        panel.show()
        await pilot.pause()
        first = panel._line(0)
        assert first is not None and first[0].result.startswith("#29") and first[1] == 0
        second = panel._line(1)
        assert second is not None and second[0].result.startswith("#29") and second[1] == 1
        lines = [panel._line(i) for i in range(panel.virtual_size.height - 1)]
        order = [found[0].result.split()[0] for found in lines if found and found[1] == 0]
        assert order == [*(f"#{n}" for n in reversed(range(30))), "connected"]
