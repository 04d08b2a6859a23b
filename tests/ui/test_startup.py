"""Start-up says what it waits for, and a dead exchange is a sentence, not a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Label

from bpx_tui.config import Settings
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.ui.app import STYLESHEETS, THEME_VARIABLES, BpxApp
from bpx_tui.ui.screens.startup import StartupScreen
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.status import StatusBar, StatusInfo
from bpx_tui.ui.widgets.watchlist import Watchlist
from tests.ui.helpers import SIZE, label_text, make_demo_app, wait_for, wait_ready


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_exchange_is_explained_on_the_startup_screen() -> None:
    port = _closed_port()
    client = BackpackClient(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")
    app = BpxApp(Settings(), client=client)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, StartupScreen)
        error = screen.query_one("#startup-error")
        await wait_for(pilot, lambda: str(error.content), "the failure", timeout=20)
        assert str(error.content).startswith("✗ TransportError")
        assert f"127.0.0.1:{port}" in str(screen.query_one("#startup-steps").content)
        assert not app.ready and app.screen is screen
        # A separate loopback exchange is SIM: never badged LIVE, but traded with the live
        # safeguards (the desk asks before the first order).
        assert app.mode == "sim" and not app.demo


async def test_demo_start_steps_then_watchlist_enter_switches_market(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        steps = app._startup.steps
        assert steps[0].startswith("starting the local exchange")
        assert any("order book" in step for step in steps)
        assert label_text(app, "#status-mode") == "DEMO"

        watchlist = app.query_one(Watchlist)
        await wait_for(pilot, lambda: watchlist.row_count == 3, "the watchlist rows")
        watchlist.focus()
        await pilot.press("down", "enter")
        second = app.watchlist_symbols[1]
        await wait_for(pilot, lambda: app.active == second, "the switch")
        assert app.query_one(DepthLadder).symbol == second


async def test_status_bar_live_badge_and_kill_switch() -> None:
    class Bar(App[None]):
        CSS_PATH = STYLESHEETS

        def get_theme_variable_defaults(self) -> dict[str, str]:
            return {**super().get_theme_variable_defaults(), **THEME_VARIABLES}

        def compose(self) -> ComposeResult:
            yield StatusBar()

    app = Bar()
    async with app.run_test(size=(100, 3)) as pilot:
        bar = app.query_one(StatusBar)
        bar.show(StatusInfo("sim", "connected", 3.0, False, None, None))
        await pilot.pause()
        mode = app.query_one("#status-mode", Label)
        assert str(mode.content) == "SIM" and mode.has_class("-sim")
        assert not mode.has_class("-demo") and not mode.has_class("-live")
        bar.show(StatusInfo("live", "reconnecting", None, True, "kill switch (K)", "boom", 2))
        await pilot.pause()
        mode = app.query_one("#status-mode", Label)
        assert str(mode.content) == "LIVE" and mode.has_class("-live")
        assert label_text(app, "#status-conn") == "RECONNECTING ↻2"
        assert label_text(app, "#status-latency") == "feed —"
        assert label_text(app, "#status-kill") == "KILL SWITCH ON"
        assert label_text(app, "#status-error") == "boom"
