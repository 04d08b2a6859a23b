"""The chart's klines reads against the local exchange: never two at once, the tail only
once candles are held, a failure said and retried after a pause, a read per timeframe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bpx_tui.exchange.rest import RestClient
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimClock, SimServer
from bpx_tui.ui import candles
from bpx_tui.ui.chart_source import REPOLL_S, RETRY_S, ChartSource
from tests.conftest import running
from tests.ui.helpers import FROZEN_US

BTC = "BTC_USDC_PERP"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    clock = SimClock()
    clock.freeze(FROZEN_US)
    async with running(SimServer(SimConfig(seed=7), rate=0.0, clock=clock)) as server:
        yield server


@pytest.fixture
async def rest(sim: SimServer) -> AsyncIterator[RestClient]:
    client = RestClient(sim.rest_url, max_retries=0)
    try:
        yield client
    finally:
        await client.close()


async def test_a_second_read_while_one_is_out_sends_nothing(
    sim: SimServer, rest: RestClient
) -> None:
    source = ChartSource(sim.clock.now_ms)
    sim.set_latency(rest=0.2)
    assert source.due(BTC)
    first, second = await asyncio.gather(
        source.read(rest, BTC, tuple), source.read(rest, BTC, tuple)
    )
    assert (first, second, source.reads) == (True, False, 1)
    assert len(source.view(BTC, (), 1, ()).candles) == candles.CANDLES_WANTED


async def test_the_tail_is_read_again_only_after_the_interval(
    sim: SimServer, rest: RestClient
) -> None:
    source = ChartSource(sim.clock.now_ms)
    await source.read(rest, BTC, tuple)
    held = source.view(BTC, (), 1, ()).candles
    assert not source.due(BTC)
    sim.clock.advance(REPOLL_S - 1)
    assert not source.due(BTC)
    sim.clock.advance(1)
    assert source.due(BTC)
    assert await source.read(rest, BTC, tuple)
    assert source.view(BTC, (), 1, ()).candles == held  # the same past, spliced in place
    assert source.reads == 2


async def test_a_failed_read_is_said_and_retried_after_a_pause(
    sim: SimServer, rest: RestClient
) -> None:
    source = ChartSource(sim.clock.now_ms)
    sim.throttle(1, "/api/v1/klines")
    assert not await source.read(rest, BTC, tuple)
    view = source.view(BTC, (), 1, ())
    assert view.candles == () and "failed" in view.note
    assert not source.due(BTC)
    sim.clock.advance(RETRY_S)
    assert source.due(BTC)
    assert await source.read(rest, BTC, tuple)
    assert source.view(BTC, (), 1, ()).candles


async def test_each_timeframe_is_its_own_series(sim: SimServer, rest: RestClient) -> None:
    source = ChartSource(sim.clock.now_ms)
    await source.read(rest, BTC, tuple)
    assert source.set_timeframe("1h") and not source.set_timeframe("1h")
    assert source.due(BTC) and source.view(BTC, (), 1, ()).note == "loading…"
    await source.read(rest, BTC, tuple)
    assert len(source.view(BTC, (), 1, ()).candles) == 24
    source.set_timeframe("1m")
    assert not source.due(BTC)  # already held: shown at once, nothing read
    assert len(source.view(BTC, (), 1, ()).candles) == candles.CANDLES_WANTED
