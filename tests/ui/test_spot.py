"""Spot trading from the keyboard: a spot market has no mark price, so its risk checks
use the live book's mid, and a spot sell can sell only the base asset it holds."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import SIZE, make_demo_app, wait_for, wait_ready

SPOT = "SOL_USDC"


async def test_spot_buy_then_a_capped_sell(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        client = app.client
        assert client is not None and not client.market(SPOT).is_perp
        app.set_active(SPOT)
        await wait_for(pilot, lambda: client.books[SPOT].synced, "the spot book")
        await pilot.press("B")
        app.query_one(OrderTicket).set_size("0.1")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: client.balances.get("SOL") is not None and client.balances["SOL"].available > 0,
            "SOL bought",
        )
        held = client.balances["SOL"].available
        exchange = sim.engine.capital(sim.demo.account_id)
        assert Decimal(exchange["SOL"]["available"]) == held

        # Selling more than is held is refused before anything is sent, and says why.
        await pilot.press("S")
        ticket = app.query_one(OrderTicket)
        too_much = client.market(SPOT).format_quantity(held * 3)
        ticket.set_size(too_much)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any(e.event == "refused" for e in app.activity.newest_first()),
            "the refusal",
        )
        refused = next(e for e in app.activity.newest_first() if e.event == "refused")
        assert "available" in refused.result and "SOL" in refused.result
        assert Decimal(sim.engine.capital(sim.demo.account_id)["SOL"]["available"]) == held

        # The buy's fee was taken in SOL: what is held is a little under 0.1, and the
        # most that can be sold is that, down to the market's step.
        step = client.market(SPOT).step_size
        sellable = (held // step) * step
        assert 0 < sellable < Decimal("0.1")
        ticket.set_size(client.market(SPOT).format_quantity(sellable))
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: client.balances["SOL"].available == held - sellable,
            f"SOL sold: {[e.line for e in app.activity.newest_first()]}",
            timeout=10,
        )
