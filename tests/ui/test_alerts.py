"""``:alert`` in the running console, against the local exchange over loopback sockets.

The market is still (``rate`` 0): the price moves only when the test trades through the
book from the keyboard, so "the price crossed and stayed" is a fact of the exchange, not
of timing. The alerts file lives in the test's data directory (``BPX_TUI_HOME``); a new
console on the same directory is a restart.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from bpx_tui import paths
from bpx_tui.config import Settings
from bpx_tui.ui.alerts import Alert
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.screens.alerts import AlertsScreen, AlertTable
from bpx_tui.ui.views import last_price
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import SIZE, make_demo_app, wait_for, wait_ready


class Bells:
    """Counts the console's bells instead of ringing the test's terminal, and keeps
    what the status line said (a later order's answer replaces it on screen)."""

    def __init__(self, app: BpxApp) -> None:
        self.count = 0
        self.said: list[str] = []
        app.bell = self.ring  # type: ignore[method-assign]
        say = app.say

        def said(message: str) -> None:
            self.said.append(message)
            say(message)

        app.say = said  # type: ignore[method-assign]

    def ring(self) -> None:
        self.count += 1


def alert_lines(app: BpxApp) -> list[str]:
    return [e.line for e in app.activity.newest_first() if e.event == "alert"]


async def ticks(pilot: Pilot[Any], frames: int) -> None:
    """Let the paint clock run ``frames`` frames (alerts are said on the slow tick)."""
    app = pilot.app
    assert isinstance(app, BpxApp)
    start = app.pump_ticks
    await wait_for(pilot, lambda: app.pump_ticks >= start + frames, f"{frames} frames")


async def set_alert(pilot: Pilot[Any], text: str) -> Alert:
    app = pilot.app
    assert isinstance(app, BpxApp)
    before = len(app.alerts.book)
    keys = {">": "greater_than_sign", "<": "less_than_sign"}
    await pilot.press("colon")
    await pilot.press(*[keys.get(c, c) for c in text])
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(app.alerts.book) == before + 1, f"the alert {text!r}")
    return list(app.alerts.book)[-1]


def _file(app: BpxApp) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(paths.alerts_file(app.mode).read_text("utf-8"))
    return data


async def test_a_price_alert_fires_once_when_trading_lifts_the_price_through_it(
    tmp_path: Path,
) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        bells = Bells(app)
        client = app.client
        assert client is not None
        ask = client.books[app.active].best_ask_price()
        last = last_price(client, app.active)
        assert ask is not None and last is not None and last < ask
        alert = await set_alert(pilot, f"alert {app.active} > {ask}")
        assert alert.armed and (alert.symbol, alert.kind, alert.level) == (app.active, "price", ask)
        await ticks(pilot, 3 * app.settings.refresh_hz)
        assert alert_lines(app) == [] and bells.count == 0  # nothing traded yet
        # A market buy from the keyboard trades at the best ask: the price reaches the level.
        await pilot.press("B", "enter")
        await wait_for(pilot, lambda: client.positions, "the market buy")
        await wait_for(pilot, lambda: alert_lines(app), "the alert to fire")
        # ...and stays there: two more buys print at or above it, over many frames.
        for _ in range(2):
            await pilot.press("B", "enter")
            await ticks(pilot, app.settings.refresh_hz)
        await ticks(pilot, 2 * app.settings.refresh_hz)
        last_now = last_price(client, app.active)
        assert last_now is not None and last_now >= ask
        fired = app.alerts.book.get(alert.id)
        assert fired is not None and not fired.armed and fired.fired_value is not None
        assert fired.fired_value >= ask
        assert alert_lines(app) == [
            f"alert {app.active}: last {fired.show(fired.fired_value)} ≥ {fired.show(ask)}: fired"
        ]
        assert bells.count == 1
        assert [line for line in bells.said if line.startswith("alert:")] == [fired.fired_text]
        assert fired.fired_text.startswith(f"alert: {app.active} last ≥ ")
        # The file says it fired: a restart will not fire it again.
        (kept,) = _file(app)["alerts"]
        assert kept["fired_ms"] is not None and kept["fired_value"] == str(fired.fired_value)


async def test_an_alert_already_met_fires_at_once_and_the_bell_follows_the_config(
    tmp_path: Path,
) -> None:
    app, _sim = make_demo_app(tmp_path, settings=Settings(alert_bell=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        bells = Bells(app)
        client = app.client
        assert client is not None
        last = last_price(client, app.active)
        assert last is not None
        alert = await set_alert(pilot, f"alert < {last * 2}")  # the active market
        assert not alert.armed and alert.fired_value == last
        await wait_for(pilot, lambda: alert_lines(app), "the alert to be said")
        await ticks(pilot, 2 * app.settings.refresh_hz)
        assert len(alert_lines(app)) == 1 and bells.count == 0  # bell = false


async def test_a_funding_alert_reads_the_mark_streams_rate(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        client = app.client
        assert client is not None
        mark = client.marks[app.active]
        assert mark.funding_rate is not None
        percent = mark.funding_rate * 100
        far = await set_alert(pilot, f"alert funding > {abs(percent) + 1}%")
        met = await set_alert(pilot, f"alert funding > {percent - Decimal('0.001')}%")
        seen = client.mark_times[app.active]
        await wait_for(pilot, lambda: client.mark_times[app.active] > seen, "a streamed mark")
        await ticks(pilot, app.settings.refresh_hz)
        assert app.alerts.book.get(far.id).armed  # type: ignore[union-attr]
        fired = app.alerts.book.get(met.id)
        assert fired is not None and fired.fired_value == mark.funding_rate
        assert alert_lines(app) == [
            f"alert {app.active}: funding {fired.show(mark.funding_rate)} ≥ "
            f"{fired.show(met.level)}: fired"
        ]


async def test_alerts_persist_across_a_restart_and_a_fired_one_stays_fired(
    tmp_path: Path,
) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        last = last_price(app.client, app.active)  # type: ignore[arg-type]
        assert last is not None
        await set_alert(pilot, f"alert {app.active} > {last * 2}")
        await set_alert(pilot, f"alert {app.active} < {last * 2}")  # fires now
        await wait_for(pilot, lambda: alert_lines(app), "the met alert to fire")
        before = list(app.alerts.book)
    again, _sim2 = make_demo_app(tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        bells = Bells(again)
        assert list(again.alerts.book) == before
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(again.screen, AlertsScreen), "the alerts view")
        screen = again.screen
        assert isinstance(screen, AlertsScreen)
        assert [a.id for a in screen.shown] == [a.id for a in before]
        statuses = [str(row[3]).strip() for row in map(screen.query_one(AlertTable).get_row,
                    [a.key for a in before])]  # fmt: skip
        assert statuses == ["armed", "FIRED"]
        await ticks(pilot, 2 * again.settings.refresh_hz)
        assert alert_lines(again) == [] and bells.count == 0  # fired once, in the first run


async def test_the_view_removes_the_selected_alert_and_the_file_follows(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        last = last_price(app.client, app.active)  # type: ignore[arg-type]
        assert last is not None
        kept = await set_alert(pilot, f"alert > {last * 2}")
        gone = await set_alert(pilot, f"alert > {last * 3}")
        last_one = await set_alert(pilot, f"alert > {last * 4}")
        await pilot.press("colon", *"alerts", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertsScreen), "the alerts view")
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        assert "d / delete remove the selected alert" in str(
            screen.query_one("#alerts-note").render()
        )
        await pilot.press("down", "d")
        await wait_for(pilot, lambda: len(screen.shown) == 2, "the alert removed")
        assert [a.id for a in screen.shown] == [kept.id, last_one.id]
        assert [a["id"] for a in _file(app)["alerts"]] == [kept.id, last_one.id]
        assert screen.selected == last_one  # the cursor stays in place, on the next one
        await pilot.press("delete")
        await wait_for(pilot, lambda: len(screen.shown) == 1, "the second removal")
        assert app.alerts.book.get(gone.id) is None and [a.id for a in app.alerts.book] == [kept.id]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AlertsScreen)


async def test_A_in_an_open_ticket_is_not_the_alerts_view(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b")
        assert app.query_one(OrderTicket).is_open
        await pilot.press("A")
        await pilot.pause()
        assert not isinstance(app.screen, AlertsScreen)


async def test_a_broken_alerts_file_is_said_and_the_console_starts(tmp_path: Path) -> None:
    path = paths.alerts_file("demo")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", "utf-8")
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert len(app.alerts.book) == 0
        assert app.feed.last_error is not None
        assert app.feed.last_error.startswith(
            f"alerts: {path} is unreadable; moved to alerts.json.bad, starting with none (not JSON"
        )
        assert path.with_name("alerts.json.bad").read_text("utf-8") == "{not json"
        assert any("unreadable" in line for line in alert_lines(app))
        await set_alert(pilot, "alert > 1")  # and alerts work, into a fresh file
        assert len(_file(app)["alerts"]) == 1
