"""The local exchange as live Backpack behaves, over loopback: leverage limit, collateral,
and a past from the first second (candles, funding rates, trades) next to account
history that holds only what happened in the session."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from bpx_tui.sim.cli import build_parser, server_from_args
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.errors import SimError
from bpx_tui.sim.server import SimServer
from bpx_tui.sim.synthetic.market import engine_with_market
from tests.conftest import running
from tests.sim.conftest import Api

BTC = "BTC_USDC_PERP"
MMF = Decimal("0.0125")


async def _public(http: aiohttp.ClientSession, sim: SimServer, path: str, **params: Any) -> Any:
    async with http.get(sim.rest_url + path, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _mark(api: Api) -> Decimal:
    [row] = await api.ok("GET", "/api/v1/markPrices", params={"symbol": BTC})
    return Decimal(row["markPrice"])


async def test_leverage_limit_is_set_read_and_enforced(api: Api) -> None:
    assert (await api.ok("GET", "/api/v1/account"))["leverageLimit"] == "10"
    answer = await api.ok("PATCH", "/api/v1/account", body={"leverageLimit": "2"})
    assert answer["leverageLimit"] == "2"
    assert (await api.ok("GET", "/api/v1/account"))["leverageLimit"] == "2"
    # 100000 USDC at 2x: 1 BTC (~96000) rests; another 1.2 BTC would be ~211000 worst case
    bid = {"symbol": BTC, "side": "Bid", "orderType": "Limit", "price": "96000"}
    placed = await api.ok("POST", "/api/v1/order", body={**bid, "quantity": "1"})
    assert placed["status"] == "New"
    status, body, _ = await api.call("POST", "/api/v1/order", body={**bid, "quantity": "1.2"})
    assert status == 400
    assert body == {"code": "MAX_LEVERAGE_REACHED", "message": "Maximum leverage reached"}
    # an order that lowers the worst case is never refused for leverage
    ask = {"symbol": BTC, "side": "Ask", "orderType": "Limit", "price": "99000", "quantity": "1"}
    assert (await api.ok("POST", "/api/v1/order", body=ask))["status"] == "New"
    await api.ok("PATCH", "/api/v1/account", body={"leverageLimit": "5"})
    assert (await api.ok("POST", "/api/v1/order", body={**bid, "quantity": "1.2"}))["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"leverageLimit": "0"},
        {"leverageLimit": "51"},
        {"leverageLimit": "2.5"},
        {"leverageLimit": "ten"},
        {"leverageLimit": True},
        {"autoLend": "yes"},
        {"leverage": "5"},
        {},
    ],
)
async def test_bad_account_update_is_a_backpack_400_and_changes_nothing(
    api: Api, body: Any
) -> None:
    status, answer, _ = await api.call("PATCH", "/api/v1/account", body=body)
    assert status == 400, answer
    assert answer["code"] == "INVALID_CLIENT_REQUEST" and answer["message"]
    assert (await api.ok("GET", "/api/v1/account"))["leverageLimit"] == "10"


def test_account_update_that_is_not_an_object_is_refused(sim: SimServer) -> None:
    with pytest.raises(SimError) as err:
        sim.engine.update_account(sim.demo.account_id, ["leverageLimit", "5"])
    assert err.value.status == 400 and err.value.code == "INVALID_CLIENT_REQUEST"


async def test_collateral_flag_sets_the_demo_account_and_a_5x_long_liquidates_near_80pc(
    http: aiohttp.ClientSession,
) -> None:
    server = server_from_args(build_parser().parse_args(["--collateral", "1000", "--rate", "0"]))
    await server.start()
    try:
        api = Api(http, server)
        capital = await api.ok("GET", "/api/v1/capital")
        assert Decimal(capital["USDC"]["available"]) == Decimal(1000)
        mark = await _mark(api)
        quantity = (Decimal(5000) / mark).quantize(Decimal("0.00001"))
        order = {"symbol": BTC, "side": "Bid", "orderType": "Market", "quantity": str(quantity)}
        assert (await api.ok("POST", "/api/v1/order", body=order))["status"] == "Filled"
        [position] = await api.ok("GET", "/api/v1/position", params={"symbol": BTC})
        liq = Decimal(position["estLiquidationPrice"])
        expected = mark * (1 - Decimal(1) / 5 + MMF)
        assert abs(liq - expected) / expected < Decimal("0.03"), (liq, expected)
    finally:
        await server.stop()


async def test_a_fresh_venue_has_a_day_of_candles_a_week_of_funding_and_a_tape(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    now_s = sim.clock.now_ms() // 1000
    candles = await _public(
        http, sim, "/api/v1/klines", symbol=BTC, interval="1m", startTime=now_s - 1000 * 60
    )
    assert len(candles) >= 1000
    starts = [datetime.fromisoformat(c["start"]).timestamp() for c in candles]
    assert all(b - a == 60 for a, b in itertools.pairwise(starts))
    for candle in candles:
        low, high = Decimal(candle["low"]), Decimal(candle["high"])
        assert low <= min(Decimal(candle["open"]), Decimal(candle["close"]))
        assert high >= max(Decimal(candle["open"]), Decimal(candle["close"]))
    assert all(a["close"] == b["open"] for a, b in itertools.pairwise(candles))
    hours = await _public(
        http, sim, "/api/v1/klines", symbol=BTC, interval="1h", startTime=now_s - 20 * 3600
    )
    assert len(hours) >= 20
    for symbol in ("BTC_USDC_PERP", "ETH_USDC_PERP", "SOL_USDC_PERP"):
        rates = await _public(http, sim, "/api/v1/fundingRates", symbol=symbol, limit=1000)
        assert len(rates) >= 7 * 24
        ends = [datetime.fromisoformat(r["intervalEndTimestamp"]).timestamp() for r in rates]
        assert all(a - b == 3600 for a, b in itertools.pairwise(ends))  # newest first
        assert all(abs(Decimal(r["fundingRate"])) < Decimal("0.01") for r in rates)
    trades = await _public(http, sim, "/api/v1/trades", symbol="SOL_USDC", limit=100)
    assert len(trades) == 100
    assert [t["id"] for t in trades] == sorted(t["id"] for t in trades)
    assert trades[-1]["timestamp"] <= sim.clock.now_ms()


def test_backfill_is_fast_and_deterministic_per_seed() -> None:
    def engine(seed: int) -> Any:
        return engine_with_market(
            SimConfig(seed=seed), lambda *a: None, lambda: 1_763_900_000_000_000
        )

    started = time.perf_counter()
    first = engine(3)
    elapsed = time.perf_counter() - started
    # ~0.1 s here; the bound is loose because the machine is shared
    assert elapsed < 1.0
    again, other = engine(3), engine(4)
    start = 1_763_900_000 - 1500 * 60

    def past(e: Any) -> Any:
        return (
            e.klines(BTC, "1m", start, None, None),
            e.funding_rates(BTC, 1000, 0),
            e.trades(BTC, 1000),
        )

    assert past(first) == past(again)
    assert past(first) != past(other)
    assert len(past(first)[0]) == 1440


async def test_account_history_holds_only_what_happened_in_the_session(api: Api) -> None:
    for path in ("/wapi/v1/history/fills", "/wapi/v1/history/orders", "/wapi/v1/history/funding"):
        assert await api.ok("GET", path) == []
    order = {"symbol": BTC, "side": "Bid", "orderType": "Market", "quantity": "0.01"}
    placed = await api.ok("POST", "/api/v1/order", body=order)
    fills = await api.ok("GET", "/wapi/v1/history/fills")
    assert fills and {f["orderId"] for f in fills} == {placed["id"]}
    assert sum(Decimal(f["quantity"]) for f in fills) == Decimal("0.01")
    [row] = await api.ok("GET", "/wapi/v1/history/orders")
    assert row["id"] == placed["id"] and row["status"] == "Filled"


@pytest.fixture
async def funded() -> AsyncIterator[SimServer]:
    async with running(SimServer(SimConfig(seed=7, funding_speedup=3600.0), rate=0)) as server:
        yield server


async def test_funding_history_lists_the_session_payments(
    funded: SimServer, http: aiohttp.ClientSession
) -> None:
    api = Api(http, funded)
    order = {"symbol": BTC, "side": "Bid", "orderType": "Market", "quantity": "0.01"}
    await api.ok("POST", "/api/v1/order", body=order)
    funded.clock.freeze()
    funded.clock.advance(1.0)  # one compressed hour
    funded.engine.advance()
    payments = await api.ok("GET", "/wapi/v1/history/funding")
    assert payments and all(p["symbol"] == BTC for p in payments)
    # The long pays a positive rate and is paid a negative one (rate * mark * size).
    assert all((Decimal(p["quantity"]) < 0) == (Decimal(p["fundingRate"]) > 0) for p in payments)
    [position] = await api.ok("GET", "/api/v1/position", params={"symbol": BTC})
    paid = sum(Decimal(p["quantity"]) for p in payments)
    assert Decimal(position["cumulativeFundingPayment"]) == paid
