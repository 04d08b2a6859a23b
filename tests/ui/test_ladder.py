"""The price ladder in the running console: the cursor is a price, and b/s trade there."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import make_demo_app, wait_for, wait_ready

SIZE = (160, 48)  # the snapshots' large layout: room for twelve prices under the touch


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
        # cursor, left behind, is on the nearest price in view.
        sim.step(1)
        await wait_for(pilot, lambda: ladder.view.top != top, "the recentred window")
        shown = [Decimal(r.price) for r in ladder.view.rows]
        assert ladder.cursor_price in (shown[0], shown[-1])
        assert ladder.view.rows[shown.index(ladder.cursor_price)].cursor


async def test_b_twelve_rows_below_the_touch_opens_the_ticket_at_that_price(
    tmp_path: Path,
) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.client is not None
        ladder = app.query_one(DepthLadder)
        best_bid = app.client.books[app.active].best_bid_price()
        assert best_bid is not None
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
