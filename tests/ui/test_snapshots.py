"""Snapshots of the console: fixed seed, frozen exchange clock, paused market.

The exchange clock is frozen and the app reads the same clock, so countdowns and ages
are stable; the client's feed-latency figure is computed from the same frozen clock.
Regenerate after an intended visual change with ``pytest tests/ui --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from bpx_tui.exchange import client as client_module
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.screens.help import HelpScreen
from tests.ui.helpers import make_demo_app, wait_for, wait_ready


@pytest.fixture
def frozen_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BpxApp:
    app, sim = make_demo_app(tmp_path, frozen=True)
    fake_time = SimpleNamespace(
        time=lambda: sim.clock.now_us() / 1_000_000,
        monotonic=client_module.time.monotonic,
    )
    monkeypatch.setattr(client_module, "time", fake_time)
    monkeypatch.setattr(Input, "cursor_blink", False)
    return app


async def _settled(pilot: Pilot[Any]) -> None:
    app = await wait_ready(pilot)
    assert app.sim is not None and app.client is not None
    # One exchange second later every market publishes its mark and ticker once.
    app.sim.clock.advance(1.0)
    client = app.client
    await wait_for(
        pilot,
        lambda: (
            all(s in client.marks for s in app.watchlist_symbols)
            and client.feed_latency_ms is not None
        ),
        "the mark and ticker streams",
    )
    ticks = app.pump_ticks  # two slow frames (tables, account, status) after the data
    await wait_for(
        pilot, lambda: app.pump_ticks > ticks + 2 * app.settings.refresh_hz // 4, "frames"
    )
    await pilot.pause()


def test_main_screen_160x48(frozen_app: BpxApp, snap_compare: Any) -> None:
    assert snap_compare(frozen_app, terminal_size=(160, 48), run_before=_settled)


def test_main_screen_80x24(frozen_app: BpxApp, snap_compare: Any) -> None:
    assert snap_compare(frozen_app, terminal_size=(80, 24), run_before=_settled)


def test_help_screen(frozen_app: BpxApp, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _settled(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help")
        await pilot.pause()

    assert snap_compare(frozen_app, terminal_size=(160, 48), run_before=run_before)
