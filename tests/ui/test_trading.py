"""Trading from the keyboard against the real local exchange and the real client."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.orders import OrdersPanel
from bpx_tui.ui.widgets.positions import NO_POSITIONS, PositionsPanel
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import SIZE, label_text, make_demo_app, wait_for, wait_ready


def _positions_cells(app) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    table = app.query_one(PositionsPanel).table
    return {
        str(row.value): [str(cell).strip() for cell in table.get_row(row)] for row in table.rows
    }


async def test_market_buy_opens_long_then_close_all_goes_flat(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    account = sim.demo.account_id
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B")
        ticket = app.query_one(OrderTicket)
        assert ticket.is_open and ticket.ticket is not None
        assert ticket.ticket.order_type == "Market" and ticket.ticket.side == "Bid"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "BTC_USDC_PERP" in _positions_cells(app), "the row")
        assert _positions_cells(app)["BTC_USDC_PERP"][1] == "LONG"
        assert not ticket.is_open  # a sent ticket closes
        exchange = sim.engine.positions(account, "BTC_USDC_PERP")
        assert Decimal(exchange[0]["netQuantity"]) > 0

        await pilot.press(*["down"] * 5, "b", "enter")
        await wait_for(pilot, lambda: app.client.open_orders, "a resting order")
        empty = app.query_one("#positions-empty")
        assert not empty.display

        await pilot.press("X")
        await wait_for(pilot, lambda: empty.display, NO_POSITIONS, timeout=15)
        assert str(empty.content) == NO_POSITIONS
        assert sim.engine.positions(account, None) == []
        assert sim.engine.open_orders(account, None, None) == []
        assert app.client.positions == {} and app.client.open_orders == {}


async def test_ladder_buy_at_cursor_rests_marked_and_c_cancels(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ladder = app.query_one(DepthLadder)
        assert app.focused is ladder
        await pilot.press("down", "j", "j", "k", "j", "down")  # the touch -> 3 ticks under it
        cursor = ladder.cursor_price
        assert cursor is not None and cursor < app.client.books[app.active].best_bid_price()
        await pilot.press("b")
        ticket = app.query_one(OrderTicket)
        assert ticket.ticket is not None and Decimal(ticket.ticket.price) == cursor
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.client.open_orders) == 1, "the resting order")
        marked = lambda: [r for r in ladder.view.rows if r.own_bids]  # noqa: E731
        await wait_for(pilot, marked, "the order marker on the ladder")
        row = marked()[0]
        assert Decimal(row.price) == cursor
        resting = sim.engine.open_orders(sim.demo.account_id, None, None)
        assert [Decimal(o["price"]) for o in resting] == [cursor]

        orders = app.query_one(OrdersPanel)
        await wait_for(pilot, lambda: orders.table.row_count == 1, "the open orders row")
        await pilot.press("c")
        await wait_for(pilot, lambda: not app.client.open_orders, "the cancel")
        assert sim.engine.open_orders(sim.demo.account_id, None, None) == []
        await wait_for(pilot, lambda: not marked(), "the marker to go")


async def test_bad_ticket_input_is_explained_and_nothing_is_sent(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b")
        ticket = app.query_one(OrderTicket)
        error = ticket.query_one("#ticket-error")
        price = ticket.query_one("#ticket-price")
        price.value = "97000.05"  # BTC ticks are 0.1
        await pilot.press("enter")
        await wait_for(pilot, lambda: "tick" in str(error.content), "the tick message")
        assert error.display

        ticket.query_one("#ticket-size").value = "0"
        price.value = "97000"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "size must be positive" in str(error.content), "size")

        assert ticket.is_open
        assert sim.engine.order_history(sim.demo.account_id, {}) == []
        assert sim.engine.open_orders(sim.demo.account_id, None, None) == []
        await pilot.press("escape")
        assert not ticket.is_open and app.focused is app.query_one(DepthLadder)


async def test_kill_switch_blocks_new_risk_but_not_closing(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B", "enter")
        await wait_for(pilot, lambda: app.client.positions, "a position")
        await pilot.press("K")
        await wait_for(
            pilot, lambda: label_text(app, "#status-kill") == "KILL SWITCH ON", "the badge"
        )
        before = len(sim.engine.order_history(sim.demo.account_id, {}))
        await pilot.press("B", "enter")
        ticket = app.query_one(OrderTicket)
        error = ticket.query_one("#ticket-error")
        await wait_for(pilot, lambda: "halted" in str(error.content), "the refusal")
        assert len(sim.engine.order_history(sim.demo.account_id, {})) == before

        await pilot.press("escape", "x")  # closing is never blocked
        await wait_for(pilot, lambda: not app.client.positions, "the close")
        assert sim.engine.positions(sim.demo.account_id, None) == []
        await pilot.press("K")
        await wait_for(pilot, lambda: label_text(app, "#status-kill") == "trading on", "resume")
