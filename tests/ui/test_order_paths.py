"""Ticket, ladder, close and close-all make the same order value for the same intent.

The console's keys are pressed against the real local exchange; every order that
reaches the one send path (``OrderDispatch.send``) is captured, and compared with the
value the ticket builds for the same intent. A value the market cannot represent is
refused by the builder, and the ticket shows that one message.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.models import Order
from bpx_tui.trading.order import NewOrder, OrderIntent, build_order
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.ticket_model import Ticket
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import SIZE, make_demo_app, wait_for, wait_ready


def capture(app: BpxApp) -> list[NewOrder]:
    """Every order the console sends, as it reaches the one door to the wire."""
    assert app.service is not None
    dispatch = app.service.dispatch
    original = dispatch.send
    sent: list[NewOrder] = []

    async def spy(order: NewOrder) -> Order:
        sent.append(order)
        return await original(order)

    dispatch.send = spy  # type: ignore[method-assign]
    return sent


def position(app: BpxApp) -> Decimal:
    assert app.client is not None
    held = app.client.positions.get(app.active)
    return Decimal(0) if held is None else held.net_quantity


async def test_every_path_builds_the_order_the_ticket_builds(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.client is not None
        market = app.client.market(app.active)
        sent = capture(app)

        # The ladder: a buy at the cursor's price.
        ladder = app.query_one(DepthLadder)
        await pilot.press("down", "j", "j", "j")
        cursor = ladder.cursor_price
        assert cursor is not None
        await pilot.press("b")
        opened = app.query_one(OrderTicket).ticket
        assert opened is not None
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(sent) == 1 and app.client.open_orders, "ladder order")
        typed = Ticket(
            app.active, "Bid", "Limit", price=market.format_price(cursor), size=opened.size
        )
        assert sent[0].terms == typed.order(market).terms

        # Close: a reduce-only market order for the whole position, as a ticket would send it.
        await pilot.press("B", "enter")
        await wait_for(pilot, lambda: position(app) > 0 and len(sent) == 2, "the long")
        held = position(app)
        await pilot.press("x")
        await wait_for(pilot, lambda: len(sent) == 3 and position(app) == 0, "the close")
        closing = Ticket(
            app.active, "Ask", "Market", size=market.format_quantity(held), reduce_only=True
        )
        assert sent[2].terms == closing.order(market).terms

        # Close-all: the same value again for the new position (the resting bid is cancelled).
        await pilot.press("B", "enter")
        await wait_for(pilot, lambda: position(app) > 0 and len(sent) == 4, "the second long")
        held = position(app)
        await pilot.press("X")
        await wait_for(
            pilot, lambda: len(sent) == 5 and position(app) == 0, "close-all", timeout=15
        )
        closing = Ticket(
            app.active, "Ask", "Market", size=market.format_quantity(held), reduce_only=True
        )
        assert sent[4].terms == closing.order(market).terms
        assert sim.engine.open_orders(sim.demo.account_id, None, None) == []
        assert app.journal is not None
        journaled = app.journal.entries()
        assert len(journaled) == len(sent) == 5  # each stamped with its own clientId
        assert len({entry.client_id for entry in journaled}) == 5


async def test_an_off_tick_price_is_refused_once_with_the_builder_s_message(
    tmp_path: Path,
) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.client is not None
        market = app.client.market(app.active)
        best = app.client.books[app.active].best_bid_price()
        assert best is not None
        off_tick = best - market.tick_size / 2
        with pytest.raises(InvalidOrder) as refused:
            intent = OrderIntent(app.active, "Bid", "Limit", Decimal("0.001"), price=off_tick)
            build_order(intent, market, exact=True)
        sent = capture(app)
        await pilot.press("b")
        ticket = app.query_one(OrderTicket)
        assert ticket.ticket is not None
        await pilot.pause()
        ticket.query_one("#ticket-price").value = f"{off_tick}"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("enter")
        error = ticket.query_one("#ticket-error")
        await wait_for(pilot, lambda: str(refused.value) in str(error.content), "the refusal")
        assert sent == []
        assert sim.engine.open_orders(sim.demo.account_id, None, None) == []
