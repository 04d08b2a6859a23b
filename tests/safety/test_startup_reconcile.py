"""The console settles the journal with the exchange before it accepts a key."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bpx_tui import paths
from bpx_tui.config import Settings
from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from bpx_tui.logsetup import RingBufferHandler
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.journal import Journal, Reconciled
from bpx_tui.trading.recovery import summarize
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.run import make_app
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.conftest import running
from tests.safety.helpers import (
    BTC,
    SIZE,
    live_settings,
    resting_bid_payload,
    screen_text,
)
from tests.ui.helpers import wait_for, wait_ready


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with running(SimServer(SimConfig(seed=7), rate=0)) as server:
        yield server


@pytest.fixture
def ring() -> AsyncIterator[RingBufferHandler]:
    handler = RingBufferHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler  # type: ignore[misc]
    finally:
        root.removeHandler(handler)


def test_summary_wording() -> None:
    found = Reconciled(1, BTC, "open", None)
    done = Reconciled(2, BTC, "final", None)
    lost = Reconciled(3, "SOL_USDC_PERP", "unknown", None)
    assert summarize([]) == "journal: nothing to reconcile"
    assert summarize([found]) == "journal: 1 order reconciled (found open)"
    assert summarize([found, done]) == ("journal: 2 orders reconciled (1 found open, 1 found done)")
    assert summarize([found, lost], {"SOL_USDC_PERP": "x"}) == (
        "journal: 1 order reconciled (1 found open); 1 order still unknown: "
        "new orders on SOL_USDC_PERP are blocked until it is settled"
    )


async def test_demo_start_finds_the_order_an_earlier_run_left_unanswered(
    tmp_path: Path, sim: SimServer, ring: RingBufferHandler
) -> None:
    """A run died after sending: the intent says 'sent', the exchange has the order."""
    journal_path = tmp_path / "journal.sqlite3"
    async with RestClient(sim.rest_url, Signer(sim.demo.api_secret)) as rest:
        payload = await resting_bid_payload(rest)
        with Journal(journal_path) as journal:
            cid = journal.new_client_id()
            payload["clientId"] = cid
            journal.record_intent(cid, BTC, payload)
            placed = await rest.execute_order(dict(payload))
    app = BpxApp(Settings(), sim=sim, journal_path=journal_path, log_ring=ring)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.journal_check is not None
        assert app.journal_check.summary() == "journal: 1 order reconciled (found open)"
        assert app.journal is not None
        entry = app.journal.entry(cid)
        assert entry is not None and entry.state == "open" and entry.order_id == placed.id
        assert app.gate.blocked(BTC) is None
        await pilot.press("L")
        await wait_for(
            pilot,
            lambda: "1 order reconciled (found open)" in screen_text(app),
            "the outcome in the log panel",
        )
        # Nothing was re-sent: the exchange still holds exactly the one order.
        history = sim.engine.order_history(sim.demo.account_id, {})
        resting = sim.engine.open_orders(sim.demo.account_id, None, None)
        assert [o["id"] for o in resting] == [placed.id]
        assert all(o["id"] == placed.id for o in history)


async def test_live_start_blocks_a_market_whose_order_stays_unknown(sim: SimServer) -> None:
    account = sim.create_account()
    with Journal(paths.journal_file()) as journal:
        cid = journal.new_client_id()
        journal.record_intent(
            cid,
            BTC,
            {"symbol": BTC, "side": "Bid", "orderType": "Market", "quantity": "0.01"},
            at_ms=int(time.time() * 1000) - 90_000,  # the run that sent it died 90 s ago
        )
    # The order is not resting, and the history that would settle it answers 429 until
    # cleared: the outcome cannot be learnt.
    sim.faults.throttle(100_000, "/wapi/v1/history/orders", retry_after=0.01)
    settings = live_settings(sim, account, confirm_first_live_order=False)
    app = make_app(settings, demo=False, live=True)
    assert not app.demo
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        check = app.journal_check
        assert check is not None and [r.outcome for r in check.results] == ["unknown"]
        assert BTC in check.blocked and app.gate.blocked(BTC)
        await wait_for(
            pilot, lambda: "still unknown" in screen_text(app), "the warning on the status bar"
        )

        await pilot.press("b", "enter")
        error = app.query_one(OrderTicket).query_one("#ticket-error")
        await wait_for(pilot, lambda: "unknown outcome" in str(error.content), "the refusal")
        assert sim.engine.order_history(account.account_id, {}) == []
        assert sim.engine.open_orders(account.account_id, None, None) == []

        # Once the exchange answers again the next submit settles it (absent) and goes out.
        sim.faults.clear()
        await pilot.press("enter")
        assert app.client is not None
        await wait_for(pilot, lambda: app.client.open_orders, "the order after settling")
        assert app.gate.blocked(BTC) is None
        assert app.journal is not None
        entry = app.journal.entry(cid)
        assert entry is not None and entry.state == "absent"
