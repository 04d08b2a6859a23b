"""The trading tests' exchange: the local one over real loopback sockets, and the real
client, journal and order service on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.risk import RiskGate, RiskLimits
from tests.conftest import running
from tests.trading.helpers import BTC, SOL, eventually


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with running(SimServer(SimConfig(seed=3), rate=0)) as server:
        yield server


@pytest.fixture
async def client(sim: SimServer) -> AsyncIterator[BackpackClient]:
    c = BackpackClient(sim.rest_url, sim.ws_url, api_secret=sim.demo.api_secret)
    await c.start([BTC, SOL])
    try:
        await eventually(
            lambda: all(c.books[s].synced and s in c.marks for s in (BTC, SOL)), "books", sim
        )
        yield c
    finally:
        await c.close()


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j  # type: ignore[misc]


@pytest.fixture
def service(client: BackpackClient, journal: Journal) -> OrderService:
    svc = OrderService(client, RiskGate(), journal, RiskLimits(), flat_waits=(0.05, 0.1, 0.2))
    svc.attach()
    return svc
