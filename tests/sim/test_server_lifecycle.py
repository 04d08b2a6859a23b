"""SimServer as a library: lifecycle, clock, accounts, and the market loop."""

from __future__ import annotations

import asyncio
import gc
import weakref

import aiohttp
import pytest

from bpx_tui.exchange.signing import api_key_of
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimClock, SimServer, start_in_process

SECRET = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="


def test_clock_freezes_advances_and_never_jumps_back() -> None:
    clock = SimClock()
    clock.freeze(1_000_000)
    assert clock.now_us() == 1_000_000 and clock.now_ms() == 1000 and clock.frozen
    clock.advance(1.5)
    assert clock.now_us() == 2_500_000
    clock.unfreeze()
    assert not clock.frozen
    assert 2_500_000 <= clock.now_us() < 2_500_000 + 60_000_000  # resumes from the frozen instant
    running = SimClock()
    before = running.now_us()
    running.advance(3600)
    assert running.now_us() - before >= 3_600_000_000


def test_accounts_from_a_secret_are_stable() -> None:
    server = SimServer(rate=0, secret=SECRET)
    assert server.demo.api_secret == SECRET and server.demo.api_key == api_key_of(SECRET)
    again = server.create_account(SECRET)
    assert again.account_id == server.demo.account_id
    other = server.create_account()
    assert other.account_id != server.demo.account_id
    assert server.accounts == [server.demo, other]
    assert SECRET not in repr(server.demo)
    info = server.connection_info(other)
    assert info["api_key"] == other.api_key and info["api_secret"] == other.api_secret


async def test_context_manager_start_stop_and_urls() -> None:
    async with SimServer(rate=0) as server:
        assert server.port > 0
        assert server.rest_url == f"http://127.0.0.1:{server.port}"
        assert server.ws_url == f"ws://127.0.0.1:{server.port}"
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.rest_url + "/api/v1/ping") as resp,
        ):
            assert await resp.text() == "pong"
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(server.rest_url + "/api/v1/ping"):
            pass
    await server.stop()  # a second stop is harmless


async def test_start_in_process_serves_in_this_loop() -> None:
    server = await start_in_process(rate=0, config=SimConfig(seed=5))
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.rest_url + "/api/v1/markets") as resp,
        ):
            assert resp.status == 200 and len(await resp.json()) == len(server.engine.symbols)
    finally:
        await server.stop()


async def test_market_loop_emits_at_a_rate_and_pauses_at_zero() -> None:
    async with SimServer(rate=0) as server:
        await asyncio.sleep(0.2)
        assert server.steps == 0  # (advance() still publishes mark prices and tickers)
        server.rate = 500
        for _ in range(100):
            if server.steps >= 5:
                break
            await asyncio.sleep(0.05)
        assert server.steps >= 5
        server.rate = 0
        await asyncio.sleep(0.1)
        frozen = server.steps
        await asyncio.sleep(0.2)
        assert server.steps == frozen


async def test_a_failing_engine_step_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    async with SimServer(rate=0) as server:

        def boom(events: int = 1) -> None:
            raise RuntimeError("engine bug")

        server.engine.step_market = boom  # type: ignore[method-assign]
        server.step(3)
        assert "engine.step_market failed" in caplog.text
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.rest_url + "/api/v1/ping") as resp,
        ):
            assert resp.status == 200


async def test_a_stopped_exchange_is_freed_after_it_served_requests() -> None:
    # aiohttp caches each middleware-wrapped handler module-wide; bound to the server,
    # they kept every stopped exchange (books, past) alive for the whole test run.
    server = SimServer(SimConfig(seed=1), rate=0)
    await server.start()
    async with aiohttp.ClientSession() as http:
        for path in ("/api/v1/markets", "/api/v1/time", "/"):
            async with http.get(server.rest_url + path) as answer:
                await answer.read()
    await server.stop()
    gone = weakref.ref(server)
    del server
    gc.collect()
    assert gone() is None
