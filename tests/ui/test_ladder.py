"""The price ladder in the running console: the cursor is a price, and b/s trade there."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from textual import events

from bpx_tui.config import Settings
from bpx_tui.sim.server import SimServer
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import make_demo_app, wait_for, wait_ready

SIZE = (160, 48)  # the snapshots' large layout: room for twelve prices under the touch


def active_best_bid(app: BpxApp) -> Decimal:
    """The active market's best bid as the console's book has it (the book is live)."""
    assert app.client is not None
    best = app.client.books[app.active].best_bid_price()
    assert best is not None
    return best


async def test_the_cursor_keeps_its_price_while_the_book_moves(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.client is not None
        ladder = app.query_one(DepthLadder)
        book = app.client.books[app.active]
        best_bid = book.best_bid_price()
        assert best_bid is not None
        await pilot.press("down", "down", "down")
        cursor = best_bid - 2 * ladder.tick
        assert ladder.cursor_price == cursor
        row = [r.cursor for r in ladder.view.rows].index(True)
        top = ladder.view.top

        # Levels come and go around (and at) the cursor, the touch stays: the window and
        # the cursor's row hold. Deltas go straight into the client's book (the market
        # is paused, so nothing else is in sequence) and the feed is told, as the stream
        # would.
        sizes = {cursor: "2", cursor + ladder.tick: "0.5", cursor - ladder.tick: "3"}
        for price, size in [*sizes.items(), (cursor, "0"), (cursor + ladder.tick, "0")]:
            u = book.last_update_id + 1
            book.on_delta({"U": u, "u": u, "a": [], "b": [[format(price, "f"), size]]})
            app.feed.depth.add(app.active)
            paints = ladder.paints
            await wait_for(pilot, lambda: ladder.paints > paints, "a repaint")  # noqa: B023
            assert ladder.cursor_price == cursor and ladder.view.top == top
            assert ladder.view.rows[row].cursor
            shown = {r.price: r.bid for r in ladder.view.rows}
            assert shown[format(price, "f")] == ("" if size == "0" else size)
        assert book.synced

        # The synthetic market jumps dozens of ticks a step: the window recentres and the
        # cursor, left behind, keeps its price, named in the title, until a key moves it.
        for _ in range(50):
            sim.step(1)
            await pilot.pause(0.05)
            if ladder.view.cursor_beyond:
                break
        assert ladder.view.cursor_beyond and ladder.view.top != top
        assert ladder.cursor_price == cursor
        assert f"cursor {'↑' if ladder.view.cursor_beyond > 0 else '↓'}" in str(ladder.border_title)
        assert not any(r.cursor for r in ladder.view.rows)
        await pilot.press("b")  # b/s still trade at the cursor's price
        ticket = app.query_one(OrderTicket)
        assert ticket.ticket is not None and Decimal(ticket.ticket.price) == cursor
        await pilot.press("escape")
        await pilot.press("j")
        shown = [Decimal(r.price) for r in ladder.view.rows]
        assert ladder.view.cursor_beyond == 0 and ladder.cursor_price in shown


async def test_b_twelve_rows_below_the_touch_opens_the_ticket_at_that_price(
    tmp_path: Path,
) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ladder = app.query_one(DepthLadder)
        best_bid = active_best_bid(app)
        await pilot.press("down", *["j"] * 12)  # the touch, then twelve ticks down
        target = best_bid - 12 * ladder.tick
        assert ladder.cursor_price == target
        await pilot.press("b")
        ticket = app.query_one(OrderTicket)
        assert ticket.is_open and ticket.ticket is not None
        assert Decimal(ticket.ticket.price) == target and ticket.ticket.side == "Bid"
        await pilot.press("escape")
        await pilot.press("space")  # recentre: the cursor goes back to the touch
        assert ladder.cursor_price is None


def _resting(sim: SimServer) -> list[tuple[str, Decimal, Decimal]]:
    """(id, price, quantity) of the demo account's resting orders, as the exchange has them."""
    orders = sim.engine.open_orders(sim.demo.account_id, None, None)
    return [(o["id"], Decimal(o["price"]), Decimal(o["quantity"])) for o in orders]


async def test_shift_up_moves_the_order_a_tick_at_a_time_and_c_cancels_it(
    tmp_path: Path,
) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ladder = app.query_one(DepthLadder)
        best_bid = active_best_bid(app)
        await pilot.press("down", *["j"] * 12, "b", "enter")
        target = best_bid - 12 * ladder.tick
        await wait_for(pilot, lambda: len(_resting(sim)) == 1, "the resting bid")
        [(first_id, price, quantity)] = _resting(sim)
        assert price == target
        await wait_for(pilot, lambda: ladder.orders_at_cursor() == (first_id,), "the marker")

        await pilot.press("shift+up", "shift+up", "shift+up")  # typed ahead of the answers
        moved = target + 3 * ladder.tick
        await wait_for(
            pilot,
            lambda: (
                [(p, q) for _i, p, q in _resting(sim)] == [(moved, quantity)]
                and len(app.client.open_orders) == 1
                and ladder.orders_at_cursor() != ()
            ),
            "one order three ticks higher",
        )
        [(moved_id, _p, _q)] = _resting(sim)
        assert moved_id != first_id and ladder.cursor_price == moved
        history = {o["id"]: o["status"] for o in sim.engine.order_history(sim.demo.account_id, {})}
        assert history[first_id] == "Cancelled"

        await pilot.press("c")
        await wait_for(pilot, lambda: _resting(sim) == [], "the cancel at the cursor")
        await pilot.pause(0.3)
        assert _resting(sim) == []


async def test_a_move_the_risk_gate_refuses_leaves_the_order_standing(tmp_path: Path) -> None:
    # The kill switch keeps resting orders here: it is what refuses the replacement.
    app, sim = make_demo_app(tmp_path, settings=Settings(kill_switch_resting="keep"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ladder = app.query_one(DepthLadder)
        await pilot.press("down", *["j"] * 5, "b", "enter")
        await wait_for(pilot, lambda: ladder.orders_at_cursor() != (), "the resting bid")
        before = _resting(sim)
        await pilot.press("K", "shift+up")  # kill switch on: a replacement would add risk
        await wait_for(
            pilot,
            lambda: any("not moved" in e.result for e in app.activity.newest_first()),
            "the refusal",
        )
        assert _resting(sim) == before  # nothing was cancelled
        await pilot.press("shift+down")  # a row without our orders: nothing happens
        await pilot.pause(0.3)
        assert _resting(sim) == before


async def test_a_click_on_either_side_opens_a_ticket_there_and_never_sends(
    tmp_path: Path,
) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ladder = app.query_one(DepthLadder)
        # Let the first frames settle the window (its first centring follows the layout),
        # so the row read here is the row the click lands on.
        ticks = app.pump_ticks
        await wait_for(pilot, lambda: app.pump_ticks > ticks + 3, "frames")
        row = 5
        price = Decimal(ladder.view.rows[row - 1].price)
        await pilot.click(DepthLadder, offset=(2, row + 1))  # +1: the panel's top border
        ticket = app.query_one(OrderTicket)
        assert ticket.is_open and ticket.ticket is not None
        assert ticket.ticket.side == "Bid" and Decimal(ticket.ticket.price) == price
        await pilot.press("escape")
        price = Decimal(ladder.view.rows[row - 1].price)  # the rows as shown now
        await pilot.click(DepthLadder, offset=(ladder.size.width - 2, row + 1))
        assert ticket.ticket.side == "Ask" and Decimal(ticket.ticket.price) == price
        await pilot.press("escape")
        top = ladder.view.top
        assert top is not None
        cursor = ladder.cursor_price
        # Pilot has no wheel: the event as the driver would post it over the ladder
        ladder.post_message(events.MouseScrollUp(ladder, 2, 5, 0, -1, 0, False, False, False))
        await wait_for(pilot, lambda: ladder.view.top != top, "the scrolled window")
        assert ladder.view.top == top + 3 * ladder.tick and ladder.cursor_price == cursor
        assert _resting(sim) == [] and sim.engine.order_history(sim.demo.account_id, {}) == []


async def test_a_trigger_order_is_a_mark_by_its_price_not_an_own_order(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        client = app.client
        assert client is not None
        ladder = app.query_one(DepthLadder)
        best_bid = active_best_bid(app)
        trigger = best_bid - 4 * ladder.tick  # in the window, below the touch
        await client.submit(
            {
                "symbol": app.active,
                "side": "Ask",
                "orderType": "Market",
                "triggerPrice": format(trigger, "f"),
                "triggerQuantity": "0.001",
            }
        )
        await wait_for(
            pilot,
            lambda: any(r.marks == "◇" and Decimal(r.price) == trigger for r in ladder.view.rows),
            "the trigger's mark",
        )
        assert not any(r.own_bid or r.own_ask for r in ladder.view.rows)
