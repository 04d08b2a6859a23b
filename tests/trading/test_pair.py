"""The spot–perp pair trade against the local exchange over sockets: both legs, or the
account as it was, and a report that says which (bpx_tui/trading/pair.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import BackpackError, InvalidOrder
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.pair import PairTrader, funding_per_day, plan_pair
from bpx_tui.trading.risk import RiskGate, RiskLimits
from tests.conftest import running
from tests.trading.helpers import SOL, eventually

SPOT = "SOL_USDC"
D = Decimal


@pytest.fixture
async def small_sim() -> AsyncIterator[SimServer]:
    """300 USDC: enough for a 2 SOL pair's perp margin, not also for its spot."""
    async with running(SimServer(SimConfig(seed=3, starting_usdc=D(300)), rate=0)) as server:
        yield server


async def _service(sim: SimServer, tmp_path: Path) -> AsyncIterator[OrderService]:
    client = BackpackClient(sim.rest_url, sim.ws_url, api_secret=sim.demo.api_secret)
    await client.start([SOL, SPOT])
    try:
        await eventually(
            lambda: all(client.books[s].synced for s in (SOL, SPOT)) and SOL in client.marks,
            "books",
            sim,
        )
        with Journal(tmp_path / "journal.sqlite3") as journal:
            limits = RiskLimits(max_slippage_pct=D(5))
            service = OrderService(client, RiskGate(), journal, limits)
            service.attach()
            yield service
    finally:
        await client.close()


@pytest.fixture
async def rich(sim: SimServer, tmp_path: Path) -> AsyncIterator[OrderService]:
    async for service in _service(sim, tmp_path):
        yield service


@pytest.fixture
async def poor(small_sim: SimServer, tmp_path: Path) -> AsyncIterator[OrderService]:
    async for service in _service(small_sim, tmp_path):
        yield service


def _positions(sim: SimServer) -> list[Any]:
    """The open positions as the exchange has them."""
    rows = sim.engine.positions(sim.demo.account_id, None)
    return [p for p in rows if D(p["netQuantity"]) != 0]


async def test_short_perp_buys_the_spot_and_sells_the_perp_in_the_same_size(
    sim: SimServer, rich: OrderService
) -> None:
    markets = rich.client.markets
    plan = plan_pair("sol", D(2), "short-perp", markets)
    assert (plan.perp.symbol, plan.perp.side, plan.spot.symbol, plan.spot.side) == (
        SOL,
        "Ask",
        SPOT,
        "Bid",
    )
    report = await PairTrader(rich, markets).execute(plan)
    assert report.hedged, report.summary
    assert "both legs filled, 2" in report.summary
    assert [(p["symbol"], D(p["netQuantity"])) for p in _positions(sim)] == [(SOL, D(-2))]
    held = D(sim.engine.capital(sim.demo.account_id)["SOL"]["available"])
    assert D("1.99") <= held <= D(2)  # the spot fee is taken in SOL


async def test_a_perp_leg_the_exchange_refuses_leaves_the_account_as_it_was(
    small_sim: SimServer, poor: OrderService
) -> None:
    before = _positions(small_sim), small_sim.engine.capital(small_sim.demo.account_id)
    plan = plan_pair("SOL", D(30), "short-perp", poor.client.markets)  # ~14x on 300 USDC
    report = await PairTrader(poor, poor.client.markets).execute(plan)
    assert not report.hedged and report.spot is None and report.unwind is None
    assert report.summary.startswith("pair short-perp SOL: perp leg refused:")
    assert "nothing was traded" in report.summary
    assert (_positions(small_sim), small_sim.engine.capital(small_sim.demo.account_id)) == before


async def test_a_refused_spot_leg_unwinds_the_perp_at_once(
    sim: SimServer, rich: OrderService
) -> None:
    # long-perp sells spot SOL the account does not hold: the exchange refuses that leg.
    plan = plan_pair("SOL", D(2), "long-perp", rich.client.markets)
    report = await PairTrader(rich, rich.client.markets).execute(plan)
    assert report.perp is not None and report.perp.executed_quantity == D(2)
    assert report.spot is None and report.unwind is not None
    assert report.unwind.executed_quantity == D(2) and report.unhedged == 0
    assert report.unwind.reduce_only and report.unwind.side == "Ask"
    assert "spot leg refused" in report.summary and "unwound" in report.summary
    assert _positions(sim) == []


def test_a_size_off_either_step_or_a_missing_market_is_refused_before_anything_is_sent(
    rich: OrderService,
) -> None:
    markets = rich.client.markets
    with pytest.raises(InvalidOrder):
        plan_pair("SOL", D("0.001"), "short-perp", markets)
    with pytest.raises(BackpackError, match="no PEPE_USDC_PERP"):
        plan_pair("PEPE", D(1), "short-perp", markets)  # listed nowhere
    with pytest.raises(BackpackError, match="no AVAX_USDC spot market"):
        plan_pair("AVAX", D(1), "short-perp", markets)  # a perp without a spot pair


def test_funding_per_day_has_the_sign_of_who_pays() -> None:
    # +0.01 % an hour on 10 SOL at 140: longs pay shorts 0.14 an hour, 3.36 a day.
    earned = funding_per_day("short-perp", D(10), D(140), D("0.0001"), 3_600_000)
    assert earned == D("3.36")
    assert funding_per_day("long-perp", D(10), D(140), D("0.0001"), 3_600_000) == -earned
    assert funding_per_day("short-perp", D(10), D(140), D("-0.0001"), 28_800_000) == D("-0.42")
