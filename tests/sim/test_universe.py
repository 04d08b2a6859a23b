"""The local exchange lists a real market universe, over loopback, as Backpack does.

Dozens of perps named, ticked and stepped like Backpack's, each with its own funding
(some negative), a past, open interest and a ticker; spot pairs where Backpack has them;
and a synthetic market that spends its steps on what clients watch.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from bpx_tui.sim.synthetic.schedule import COLD_EVERY
from tests.conftest import running

WATCHED = "DOGE_USDC_PERP"


async def _get(http: aiohttp.ClientSession, sim: SimServer, path: str, **params: Any) -> Any:
    async with http.get(sim.rest_url + path, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


@pytest.fixture
async def universe() -> AsyncIterator[SimServer]:
    """A server with its backfilled past, the market paused."""
    async with running(SimServer(SimConfig(seed=5), rate=0)) as server:
        yield server


async def _markets(http: aiohttp.ClientSession, sim: SimServer) -> list[dict[str, Any]]:
    markets: list[dict[str, Any]] = await _get(http, sim, "/api/v1/markets")
    return markets


async def test_at_least_twenty_perps_with_backpack_filters_and_spot_pairs(
    universe: SimServer, http: aiohttp.ClientSession
) -> None:
    markets = await _markets(http, universe)
    perps = [m for m in markets if m["marketType"] == "PERP"]
    assert len(perps) >= 20
    for name in ("BTC", "ETH", "SOL", "DOGE", "XRP", "SUI", "HYPE", "TRUMP"):
        assert f"{name}_USDC_PERP" in {m["symbol"] for m in perps}
    for market in perps:
        price, quantity = market["filters"]["price"], market["filters"]["quantity"]
        assert Decimal(price["tickSize"]) > 0 and Decimal(quantity["stepSize"]) > 0
        assert Decimal(quantity["minQuantity"]) >= Decimal(quantity["stepSize"])
        imf, mmf = market["imfFunction"], market["mmfFunction"]
        assert Decimal(mmf["base"]) < Decimal(imf["base"]) <= Decimal("0.1")
        assert market["fundingInterval"] == 3_600_000 and market["openInterestLimit"]
    spots = {m["symbol"] for m in markets if m["marketType"] == "SPOT"}
    assert {"SOL_USDC", "BTC_USDC", "ETH_USDC"} <= spots
    perp_bases = {m["baseSymbol"] for m in perps}
    assert {m["baseSymbol"] for m in markets if m["marketType"] == "SPOT"} <= perp_bases


async def test_funding_differs_per_market_and_over_time(
    universe: SimServer, http: aiohttp.ClientSession
) -> None:
    marks = await _get(http, universe, "/api/v1/markPrices")
    rates = {row["symbol"]: Decimal(row["fundingRate"]) for row in marks}
    assert len(rates) >= 20
    assert len(set(rates.values())) == len(rates)  # every perp its own rate
    assert any(rate < 0 for rate in rates.values())
    for symbol, rate in rates.items():
        history = await _get(http, universe, "/api/v1/fundingRates", symbol=symbol, limit=1000)
        assert len(history) >= 7 * 24, symbol
        past = [Decimal(row["fundingRate"]) for row in history]
        assert len(set(past)) > len(past) // 2, symbol  # it moves hour by hour
        assert abs(rate) < Decimal("0.01")


async def test_funding_is_the_same_for_the_same_seed() -> None:
    def rates(seed: int) -> list[str]:
        sim = SimServer(SimConfig(seed=seed), rate=0)
        return [row["fundingRate"] for row in sim.engine.mark_prices(None)]

    assert rates(5) == rates(5) != rates(6)


async def test_every_market_has_a_ticker_with_volume_and_every_perp_open_interest(
    universe: SimServer, http: aiohttp.ClientSession
) -> None:
    symbols = {m["symbol"] for m in await _markets(http, universe)}
    perps = {s for s in symbols if s.endswith("_PERP")}
    tickers = {t["symbol"]: t for t in await _get(http, universe, "/api/v1/tickers")}
    assert set(tickers) == symbols
    assert all(Decimal(t["quoteVolume"]) > 0 for t in tickers.values())
    universe.rate = 2000  # let the taker trade: open interest is what positions add up to
    await asyncio.sleep(1.5)
    interest = {r["symbol"]: r for r in await _get(http, universe, "/api/v1/openInterest")}
    assert set(interest) == perps
    assert all(Decimal(r["openInterest"]) >= 0 for r in interest.values())
    assert Decimal(interest["BTC_USDC_PERP"]["openInterest"]) > 0


async def test_ccxt_load_markets_sees_the_whole_universe(universe: SimServer) -> None:
    ccxt_async = pytest.importorskip("ccxt.async_support")
    exchange = ccxt_async.backpack({"enableRateLimit": False})
    exchange.urls["api"] = {**exchange.urls["api"], "public": universe.rest_url}
    try:
        markets = await exchange.load_markets()
    finally:
        await exchange.close()
    ids = {market["id"] for market in markets.values()}
    assert ids == set(universe.engine.symbols)
    assert "DOGE/USDC:USDC" in markets and markets["DOGE/USDC:USDC"]["swap"]


async def test_a_watched_market_is_stepped_far_more_than_unwatched_ones(
    universe: SimServer,
) -> None:
    books = universe.engine.books
    before = {symbol: book.update_id for symbol, book in books.items()}
    async with aiohttp.ClientSession() as session, session.ws_connect(universe.ws_url) as ws:
        await ws.send_str(
            json.dumps({"method": "SUBSCRIBE", "params": [f"depth.{WATCHED}"], "id": 1})
        )
        for _ in range(100):
            if universe.hub.depth_watched():
                break
            await asyncio.sleep(0.01)
        assert universe.hub.depth_watched() == {WATCHED}
        steps = 40 * COLD_EVERY * len(books)
        universe.step(steps)
    changes = {symbol: book.update_id - before[symbol] for symbol, book in books.items()}
    watched = changes.pop(WATCHED)
    assert watched > 0 and all(count > 0 for count in changes.values())
    assert all(watched > 10 * count for count in changes.values()), (watched, changes)


UNWATCHED = "TRUMP_USDC_PERP"


async def test_an_unwatched_market_has_its_past_from_the_first_request_made_only_then(
    universe: SimServer, http: aiohttp.ClientSession
) -> None:
    data = universe.engine.data
    assert all(market.past_pending for market in data.values())  # a start builds no past
    universe.clock.freeze()
    universe.clock.advance(3.0)
    universe.advance()  # the timed feeds of every market: nobody streams a ticker
    assert all(market.past_pending for market in data.values())

    now_s = universe.clock.now_ms() // 1000
    candles = await _get(
        http,
        universe,
        "/api/v1/klines",
        symbol=UNWATCHED,
        interval="1m",
        startTime=now_s - 86_400 - 120,
    )
    assert len(candles) >= 1440
    assert [s for s, market in data.items() if not market.past_pending] == [UNWATCHED]
    trades = await _get(http, universe, "/api/v1/trades", symbol=UNWATCHED, limit=1000)
    assert len(trades) >= 100
    assert [t["id"] for t in trades] == list(range(1, len(trades) + 1))
    by_start = {
        datetime.fromisoformat(c["start"]).replace(tzinfo=UTC).timestamp(): c for c in candles
    }
    for trade in trades:  # each past trade lies inside the candle of its minute
        candle = by_start[trade["timestamp"] // 60_000 * 60]
        assert Decimal(candle["low"]) <= Decimal(trade["price"]) <= Decimal(candle["high"])
    last_candle = by_start[trades[-1]["timestamp"] // 60_000 * 60]
    assert trades[-1]["price"] == last_candle["close"]
    ticker = await _get(http, universe, "/api/v1/ticker", symbol=UNWATCHED)
    assert ticker["lastPrice"] == trades[-1]["price"]


async def test_a_live_trade_before_the_first_read_comes_after_the_past() -> None:
    sim = SimServer(SimConfig(seed=5), rate=0)
    for _ in range(200):  # the core markets trade; nobody has read anything yet
        sim.step(1)
    data = sim.engine.data["BTC_USDC_PERP"]
    assert data.past_pending
    trades = list(data.trades)  # the read makes the past, in front of the live ones
    ids = [t["id"] for t in trades]
    assert ids == sorted(ids) == list(range(ids[0], ids[0] + len(ids)))
    assert [t["timestamp"] for t in trades] == sorted(t["timestamp"] for t in trades)
    assert len(trades) > 150  # the five-minute tape and the live trades


def test_a_market_s_past_does_not_depend_on_which_market_is_read_first() -> None:
    def past(order: list[str]) -> dict[str, Any]:
        engine = SimServer(SimConfig(seed=5), rate=0).engine
        start_s = engine.now_us() // 1_000_000 - 86_400
        return {
            s: (engine.klines(s, "1h", start_s, None, None), engine.trades(s, 1000)) for s in order
        }

    first = past(["BTC_USDC_PERP", "BTC_USDC", UNWATCHED])
    again = past([UNWATCHED, "BTC_USDC", "BTC_USDC_PERP"])
    assert first == again


async def test_a_ticker_stream_is_built_only_for_its_subscribers(universe: SimServer) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(universe.ws_url) as ws:
        await ws.send_str(
            json.dumps({"method": "SUBSCRIBE", "params": [f"ticker.{WATCHED}"], "id": 1})
        )
        for _ in range(100):
            if universe.hub.subscribed(f"ticker.{WATCHED}"):
                break
            await asyncio.sleep(0.01)
        universe.clock.freeze()
        universe.clock.advance(2.0)
        universe.advance()
        frame = json.loads((await ws.receive(timeout=5)).data)
    assert frame["stream"] == f"ticker.{WATCHED}" and frame["data"]["s"] == WATCHED
    built = [s for s, market in universe.engine.data.items() if not market.past_pending]
    assert built == [WATCHED]
