"""The first ``/tickers`` makes every market's day of history (~10 ms each): it must make
them one market at a time and let other requests through in between, because in the
demo the console shares the exchange's loop and its first order book would otherwise
wait a third of a second behind it."""

from __future__ import annotations

import asyncio

import aiohttp

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from tests.conftest import running


async def test_a_depth_read_is_answered_while_the_first_tickers_is_made() -> None:
    async with running(SimServer(SimConfig(seed=5), rate=0)) as server:
        base = server.connection_info()["rest"]
        pending = [data for data in server.engine.data.values() if data.past_pending]
        assert len(pending) == len(server.engine.data) > 20  # nothing made at start
        answered: list[str] = []
        async with aiohttp.ClientSession() as session:

            async def get(path: str) -> None:
                async with session.get(base + path) as response:
                    assert response.status == 200
                    await response.read()
                answered.append(path.split("?")[0])

            tickers = asyncio.create_task(get("/api/v1/tickers"))
            for _ in range(1000):  # until the tickers request has started making pasts
                if any(not data.past_pending for data in pending):
                    break
                await asyncio.sleep(0)
            await get("/api/v1/depth?symbol=BTC_USDC_PERP")
            await tickers
        assert answered == ["/api/v1/depth", "/api/v1/tickers"]
        assert not any(data.past_pending for data in pending)
