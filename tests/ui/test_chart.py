"""The candle chart in the running console, against the local exchange over sockets.

Its candles are what ``GET /api/v1/klines`` serves, checked against an independent
client (ccxt's Backpack ``fetch_ohlcv`` pointed at the same exchange) in every
timeframe; ``[`` / ``]`` and ``:tf`` switch the timeframe and the title says so; the
reads are bounded; the last candle moves with a trade; a position draws its lines.
The exchange clock is frozen and the market paused, so nothing moves between reads.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from bpx_tui.config import Settings
from bpx_tui.exchange import client as client_module
from bpx_tui.exchange import rest as rest_module
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.risk import RiskLimits
from bpx_tui.ui import candles, chart_source
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.candles import Candle
from bpx_tui.ui.screens.command_line import CommandLine
from bpx_tui.ui.widgets.chart import CandleChart
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import SIZE, make_demo_app, wait_for, wait_ready

ccxt_async = pytest.importorskip("ccxt.async_support")

PERP = "BTC/USDC:USDC"


def _chart(app: BpxApp) -> CandleChart:
    return app.query_one(CandleChart)


def _shown(app: BpxApp) -> tuple[Candle, ...]:
    view = _chart(app).view
    return () if view is None else view.candles


def _text(chart: CandleChart) -> str:
    return "\n".join(chart.render_line(y).text for y in range(chart.size.height))


async def _drawn(pilot: Pilot[Any], timeframe: str) -> tuple[Candle, ...]:
    """Until the chart shows ``timeframe``'s read candles; those candles."""
    app = pilot.app
    assert isinstance(app, BpxApp)

    def drawn() -> bool:
        view = _chart(app).view
        return view is not None and view.timeframe == timeframe and bool(view.candles)

    await wait_for(pilot, drawn, f"the {timeframe} candles")
    return _shown(app)


async def _command(pilot: Pilot[Any], text: str) -> CommandLine:
    """``:`` then ``text`` typed, then Enter; the command line's screen."""
    await pilot.press("colon")
    screen = pilot.app.screen
    assert isinstance(screen, CommandLine)
    await pilot.press(*[{" ": "space"}.get(c, c) for c in text])
    await pilot.press("enter")
    await pilot.pause()
    return screen


async def _ccxt_candles(sim: SimServer, timeframe: str, since_ms: int) -> list[list[Any]]:
    exchange = ccxt_async.backpack({"enableRateLimit": False})
    exchange.urls["api"] = {key: sim.rest_url for key in exchange.urls["api"]}
    try:
        until = sim.clock.now_ms() + 60_000
        return list(
            await exchange.fetch_ohlcv(
                PERP, timeframe, since=since_ms, limit=1000, params={"until": until}
            )
        )
    finally:
        await exchange.close()


def _as_ccxt(candle: Candle) -> list[Any]:
    return [
        candle.start_ms,
        float(candle.open),
        float(candle.high),
        float(candle.low),
        float(candle.close),
        float(candle.volume),
    ]


async def test_every_timeframe_shows_the_candles_klines_serves(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.active == "BTC_USDC_PERP"
        counts: dict[str, int] = {}
        for index, timeframe in enumerate(candles.TIMEFRAMES):
            if index:
                await pilot.press("right_square_bracket")
            shown = await _drawn(pilot, timeframe)
            theirs = await _ccxt_candles(sim, timeframe, shown[0].start_ms)
            assert [_as_ccxt(c) for c in shown] == theirs, timeframe
            step = candles.SECONDS[timeframe] * 1000
            assert all(b.start_ms - a.start_ms == step for a, b in itertools.pairwise(shown))
            counts[timeframe] = len(shown)
        # 240 candles asked for; the exchange's past is one day of minutes, to midnight.
        assert counts == {"1m": 240, "5m": 240, "15m": 96, "1h": 24, "4h": 6, "1d": 1}
        assert app.charts.reads == len(candles.TIMEFRAMES)


async def test_keys_and_tf_switch_the_timeframe_and_the_title_says_it(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        chart = _chart(app)
        await _drawn(pilot, "1m")
        assert chart.border_title == "BTC_USDC_PERP · 1m"
        await pilot.press("right_square_bracket")
        assert app.charts.timeframe == "5m"
        await _drawn(pilot, "5m")
        assert chart.border_title == "BTC_USDC_PERP · 5m"
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.charts.timeframe == "1m"
        assert "shortest" in str(app.query_one("#status-error", Static).render())
        await _command(pilot, "tf 4h")
        await _drawn(pilot, "4h")
        assert chart.border_title == "BTC_USDC_PERP · 4h"
        # A bad timeframe is refused where it was typed, naming the good ones.
        line = await _command(pilot, "tf 7m")
        assert app.screen is line
        hint = str(line.query_one("#cmdline-hint", Static).render())
        assert "'7m' is not a timeframe" in hint and "1m, 5m, 15m, 1h, 4h, 1d" in hint
        await pilot.press("escape")
        assert app.charts.timeframe == "4h"
        # In an open ticket the brackets are the ticket's: the chart stays.
        await pilot.press("b")
        assert app.query_one(OrderTicket).is_open
        await pilot.press("right_square_bracket", "left_square_bracket")
        assert app.charts.timeframe == "4h"
        assert chart.border_title == "BTC_USDC_PERP · 4h"


async def test_reads_are_bounded_and_a_paint_reuses_the_strips(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await _drawn(pilot, "1m")
        chart = _chart(app)
        ticks, builds = app.pump_ticks, chart.builds
        await wait_for(pilot, lambda: app.pump_ticks > ticks + 40, "two seconds of frames")
        assert app.charts.reads == 1  # the clock stood still: nothing was due
        chart.refresh()
        await pilot.pause()
        assert chart.builds == builds  # the same view: the cached strips were painted
        # Once the re-read interval has passed, one tail read, however many frames run.
        sim.clock.advance(chart_source.REPOLL_S)
        ticks = app.pump_ticks
        await wait_for(pilot, lambda: app.pump_ticks > ticks + 40, "two more seconds")
        assert app.charts.reads == 2


async def test_the_last_candle_moves_with_a_trade_and_matches_klines_after_it(
    tmp_path: Path,
) -> None:
    """The stream's minute is laid over the read: after a market buy the last candle
    (a new bucket here: the frozen instant is midnight) equals what klines says now."""
    app, sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("right_square_bracket")
        before = await _drawn(pilot, "5m")
        reads = app.charts.reads
        await pilot.press("B", "enter")
        await wait_for(pilot, lambda: _shown(app) != before, "the last candle to move")
        assert app.charts.reads == reads  # moved by the stream, not by a new read
        shown = _shown(app)
        theirs = await _ccxt_candles(sim, "5m", shown[0].start_ms)
        assert [_as_ccxt(c) for c in shown] == theirs
        assert shown[-1].volume > 0


async def test_a_position_draws_its_entry_and_liquidation_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A position big enough for a liquidation price (a small one on 100k of collateral
    # has none): our own limits opened so the 5 BTC market buy is the exchange's to take.
    limits = RiskLimits(
        max_order_notional=Decimal(10**6),
        max_position_notional=Decimal(10**7),
        max_slippage_pct=Decimal(50),
    )
    app, sim = make_demo_app(tmp_path, frozen=True, settings=replace(Settings(), risk=limits))
    # The account re-read that brings the liquidation price is signed: its clock must be
    # the frozen exchange's (as in the snapshots), or the exchange refuses it as future.
    fake_time = SimpleNamespace(
        time=lambda: sim.clock.now_us() / 1_000_000, monotonic=client_module.time.monotonic
    )
    monkeypatch.setattr(client_module, "time", fake_time)
    monkeypatch.setattr(rest_module, "time", fake_time)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_ready(pilot)
        await _drawn(pilot, "1m")
        assert _chart(app).view is not None and _chart(app).view.lines == ()  # type: ignore[union-attr]
        await _command(pilot, "buy 5 market")
        assert app.query_one(OrderTicket).is_open
        await pilot.press("enter")
        chart = _chart(app)

        def both() -> bool:
            return chart.view is not None and len(chart.view.lines) == 2

        await wait_for(pilot, both, "the entry and liquidation lines")
        assert chart.view is not None
        entry, liq = chart.view.lines
        position = app.client.positions[app.active] if app.client else None
        assert position is not None
        assert (entry.kind, entry.price) == ("entry", position.entry_price)
        assert (liq.kind, liq.price) == ("liq", position.est_liquidation_price)
        await pilot.pause()
        text = _text(chart)
        assert "◆" in text and "✖" in text
        assert Decimal(0) < liq.price < entry.price  # a long is liquidated below its entry
