"""Snapshots of the console: fixed seed, frozen exchange clock, paused market.

The exchange clock is frozen and the app reads the same clock, so countdowns and ages
are stable; the client's feed-latency figure is computed from the same frozen clock.
Regenerate after an intended visual change with ``pytest tests/ui --snapshot-update``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input

from bpx_tui.exchange import client as client_module
from bpx_tui.exchange import rest as rest_module
from bpx_tui.ui.app import STYLESHEETS, THEME_VARIABLES, BpxApp
from bpx_tui.ui.candles import Candle, ChartView, PriceLine
from bpx_tui.ui.screens.funding import FundingBoard
from bpx_tui.ui.screens.help import HelpScreen
from bpx_tui.ui.screens.history import HistoryScreen
from bpx_tui.ui.widgets.chart import CandleChart
from tests.ui.helpers import make_demo_app, wait_for, wait_ready


@pytest.fixture
def frozen_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BpxApp:
    monkeypatch.setenv("TZ", "UTC")  # the activity log's clock is local time
    time.tzset()
    # No backfilled past: the snapshots pin the layout, not the synthetic history.
    app, sim = make_demo_app(tmp_path, frozen=True, backfill=False)
    fake_time = SimpleNamespace(
        time=lambda: sim.clock.now_us() / 1_000_000,
        monotonic=client_module.time.monotonic,
    )
    monkeypatch.setattr(client_module, "time", fake_time)
    # The request signer's clock too: synced once to the frozen exchange and then left to
    # run on real time, it drifted ahead of it by however long start-up took, and on a
    # loaded machine an order came past the exchange's 5 s future skew ("Request
    # timestamp is too far in the future"): an activity log with a refusal, not a fill.
    monkeypatch.setattr(rest_module, "time", fake_time)
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
    await _frames(pilot)


async def _frames(pilot: Pilot[Any]) -> None:
    """Two slow frames (tables, account, status), the exchange clock left as it is."""
    app = pilot.app
    assert isinstance(app, BpxApp)
    ticks = app.pump_ticks
    await wait_for(
        pilot, lambda: app.pump_ticks > ticks + 2 * app.settings.refresh_hz // 4, "frames"
    )
    await pilot.pause()


@pytest.fixture(autouse=True)
def _restore_timezone() -> Iterator[None]:
    yield
    time.tzset()  # after monkeypatch has put TZ back


SIZES = [(80, 24), (100, 30), (120, 40), (160, 48), (220, 60)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_main_screen(frozen_app: BpxApp, snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(frozen_app, terminal_size=size, run_before=_settled)


def test_main_screen_after_the_resize_round_trip(frozen_app: BpxApp, snap_compare: Any) -> None:
    """160x48 -> 80x24 -> 160x48 must look exactly like 160x48 from the start."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _settled(pilot)
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        await pilot.resize_terminal(160, 48)
        await _frames(pilot)

    assert snap_compare(frozen_app, terminal_size=(160, 48), run_before=run_before)


async def _with_activity(pilot: Pilot[Any]) -> None:
    """A market buy, filled: an accepted order and a fill in the activity log."""
    await _settled(pilot)
    app = pilot.app
    assert isinstance(app, BpxApp)
    await pilot.press("B", "enter")
    await wait_for(
        pilot, lambda: any(e.event == "fill" for e in app.activity.newest_first()), "a fill"
    )
    await _settled(pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_activity_log(frozen_app: BpxApp, snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _with_activity(pilot)
        if size == (80, 24):
            await pilot.press("a")  # folded: the activity tab
            await pilot.pause()

    assert snap_compare(frozen_app, terminal_size=size, run_before=run_before)


def test_help_screen(frozen_app: BpxApp, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _settled(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help")
        await pilot.pause()

    assert snap_compare(frozen_app, terminal_size=(160, 48), run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_funding_board(frozen_app: BpxApp, snap_compare: Any, size: tuple[int, int]) -> None:
    """The board over the desk once its first REST read of every perp is drawn."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _settled(pilot)
        app = pilot.app
        assert isinstance(app, BpxApp)
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, FundingBoard), "the board")
        await wait_for(pilot, lambda: app.board_polls >= 1, "the board's REST read")
        await _frames(pilot)

    assert snap_compare(frozen_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_history_screen(frozen_app: BpxApp, snap_compare: Any, size: tuple[int, int]) -> None:
    """The history (``H``) after a market buy: its fill, read back from the exchange."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _with_activity(pilot)
        app = pilot.app
        assert isinstance(app, BpxApp)
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), "the history")
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: screen.view is not None, "the history read")
        await pilot.pause()

    assert snap_compare(frozen_app, terminal_size=size, run_before=run_before)


def _walk(count: int) -> tuple[Candle, ...]:
    """A fixed 5-minute series: a swing down and back up, with wicks and varied volume."""
    out, price = [], Decimal("97000.0")
    for i in range(count):
        move = Decimal((i * 37 % 23) - 11) * 9 + (Decimal(-60) if i < count // 2 else 60)
        close = price + move
        high = max(price, close) + Decimal(i * 13 % 40)
        low = min(price, close) - Decimal(i * 17 % 35)
        volume = Decimal(1 + i * 29 % 17) / 4
        out.append(Candle(i * 300_000, price, high, low, close, volume))
        price = close
    return tuple(out)


class ChartPanel(App[None]):
    """The chart panel alone, in the console's stylesheets and theme colours."""

    CSS_PATH = STYLESHEETS

    def __init__(self, view: ChartView) -> None:
        super().__init__()
        self.view = view

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **THEME_VARIABLES}

    def compose(self) -> ComposeResult:
        yield CandleChart(id="chart")

    def on_mount(self) -> None:
        self.query_one(CandleChart).show(self.view)


CHART_SIZES = [(60, 24), (40, 5)]


@pytest.mark.parametrize("size", CHART_SIZES, ids=[f"{w}x{h}" for w, h in CHART_SIZES])
def test_chart_panel(snap_compare: Any, size: tuple[int, int]) -> None:
    """Candles with volume, the axis, a long's entry line and its liquidation price off
    the range (pinned to the bottom); at five rows, the sparkline."""
    walk = _walk(40)
    lines = (
        PriceLine(walk[12].close, "entry", "entry"),
        PriceLine(Decimal("88000.0"), "liq", "liq"),
    )
    view = ChartView("BTC_USDC_PERP", "5m", walk, 1, lines)
    assert snap_compare(ChartPanel(view), terminal_size=size)
