"""LIVE mode: the first risk-increasing order of a run asks once; reducing never asks.

The exchange is the local sim, but the console is given it as a live exchange through
Settings alone (URLs + key pair), exactly as it would be given Backpack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import DemoAccount, SimServer
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.run import make_app
from bpx_tui.ui.screens.confirm import ConfirmScreen
from bpx_tui.ui.widgets.orders import OrdersPanel
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.conftest import running
from tests.safety.helpers import BTC, SIZE, live_settings, screen_text
from tests.ui.helpers import wait_for, wait_ready


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with running(SimServer(SimConfig(seed=7), rate=0)) as server:
        yield server


def _orders(sim: SimServer, account: DemoAccount) -> list[dict[str, object]]:
    return sim.engine.order_history(account.account_id, {})


def _resting(sim: SimServer, account: DemoAccount) -> list[dict[str, object]]:
    return sim.engine.open_orders(account.account_id, None, None)


def _no_modal(app: BpxApp) -> bool:
    return len(app.screen_stack) == 1


async def test_first_live_order_asks_once_and_reducing_actions_never_ask(sim: SimServer) -> None:
    account = sim.create_account()
    app = make_app(live_settings(sim, account), demo=False, live=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.client is not None
        mode = app.query_one("#status-mode")
        await wait_for(pilot, lambda: "LIVE" in screen_text(app), "the LIVE badge")
        assert mode.has_class("-live")

        # Esc on the question: nothing leaves, the ticket stays open and says why.
        await pilot.press("b", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert "LIVE" in screen_text(app) and BTC in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: _no_modal(app), "the question to close")
        ticket = app.query_one(OrderTicket)
        assert ticket.is_open
        assert "not confirmed" in str(ticket.query_one("#ticket-error").content)
        await pilot.pause(0.2)
        assert _orders(sim, account) == []

        # "n" cancels too; Enter on the next question confirms and sends.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        await wait_for(pilot, lambda: _no_modal(app), "the question to close")
        assert _orders(sim, account) == []
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(_resting(sim, account)) == 1, "the confirmed order")
        assert app._desk.live_order_confirmed

        # Later orders go straight through.
        await pilot.press("B", "enter")
        await wait_for(pilot, lambda: app.client.positions, "the market buy's position")
        assert _no_modal(app)

        # Risk-reducing keys never ask: c (selected order), C, x, X.
        orders = app.query_one(OrdersPanel)
        await wait_for(pilot, lambda: orders.table.row_count == 1, "the open orders row")
        await pilot.press("c")
        await wait_for(pilot, lambda: not _resting(sim, account), "the cancel")
        assert _no_modal(app)
        await pilot.press("C")
        await pilot.pause(0.2)
        assert _no_modal(app)
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.client.positions, "the close", timeout=15)
        assert _no_modal(app)
        await pilot.press("B", "enter")
        await wait_for(pilot, lambda: app.client.positions, "a second position")
        await pilot.press("X")
        await pilot.pause(0.05)
        assert _no_modal(app)
        flat = lambda: sim.engine.positions(account.account_id, None) == []  # noqa: E731
        await wait_for(pilot, flat, "close-all", timeout=15)


async def test_live_confirmation_can_be_switched_off(sim: SimServer) -> None:
    account = sim.create_account()
    settings = live_settings(sim, account, confirm_first_live_order=False)
    app = make_app(settings, demo=False, live=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b", "enter")
        await wait_for(pilot, lambda: len(_resting(sim, account)) == 1, "the order")
        assert _no_modal(app)


async def test_a_reduce_only_first_order_does_not_ask(sim: SimServer) -> None:
    account = sim.create_account()
    app = make_app(live_settings(sim, account), demo=False, live=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b", "r", "enter")  # r: reduce-only in the ticket
        await pilot.pause(0.3)
        assert _no_modal(app) and not app._desk.live_order_confirmed


async def test_a_separate_local_exchange_is_sim_with_the_live_safeguards(sim: SimServer) -> None:
    """``bpx-tui sim`` in another terminal: badged SIM (never LIVE, never DEMO), and the
    first order asks, as it would live, so a user can rehearse live trading."""
    account = sim.create_account()
    app = make_app(live_settings(sim, account), demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.mode == "sim"
        mode = app.query_one("#status-mode")
        await wait_for(pilot, lambda: mode.has_class("-sim"), "the SIM badge")
        assert not mode.has_class("-live") and not mode.has_class("-demo")
        await pilot.press("b", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert "SIM: a rehearsal" in screen_text(app) and "real order" not in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: _no_modal(app), "the question to close")
        await pilot.pause(0.2)
        assert _orders(sim, account) == []
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(_resting(sim, account)) == 1, "the confirmed order")
