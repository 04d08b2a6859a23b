"""A position's take-profit and stop-loss in the running console, against the local
exchange: the positions view and the ladder show them, and shift+up moves the stop."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from textual.widgets.data_table import CellDoesNotExist

from bpx_tui.sim.server import SimServer
from bpx_tui.trading.order import Exit, OrderIntent, build_order
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.positions import PositionsPanel
from tests.ui.helpers import make_demo_app, wait_for, wait_ready

SIZE = (160, 48)  # room for every positions column and a tall ladder


def _triggers(sim: SimServer) -> dict[Decimal, str]:
    """The demo account's pending trigger orders on the exchange: trigger price -> id."""
    orders = sim.engine.open_orders(sim.demo.account_id, None, None)
    return {Decimal(str(o["triggerPrice"])): str(o["id"]) for o in orders if o["triggerPrice"]}


def _cell(app: BpxApp, column: str) -> str:
    """The active market's position cell in ``column`` as drawn, thousands unseparated
    ("" until the row is there)."""
    table = app.query_one(PositionsPanel).table
    try:
        return str(table.get_cell(app.active, column)).strip().replace(",", "")
    except CellDoesNotExist:
        return ""


def _mark_at(ladder: DepthLadder, price: Decimal) -> str:
    return next((r.marks for r in ladder.view.rows if r.price and Decimal(r.price) == price), "")


async def test_exits_show_in_positions_and_ladder_and_shift_up_moves_the_stop(
    tmp_path: Path,
) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        client, desk = app.client, app.desk
        assert client is not None and desk is not None
        symbol = app.active
        market = client.market(symbol)
        ladder = app.query_one(DepthLadder)
        tick = ladder.tick
        bid = client.books[symbol].best_bid_price()
        ask = client.books[symbol].best_ask_price()
        assert bid is not None and ask is not None
        take, stop = ask + 6 * tick, bid - 6 * tick  # in the window, either side of mark
        entry = OrderIntent(
            symbol,
            "Bid",
            "Market",
            quantity=market.min_quantity * 10,
            take_profit=Exit(take),
            stop_loss=Exit(stop),
        )
        sent = await desk.submit(build_order(entry, market))
        assert sent.sent, sent.message

        await wait_for(pilot, lambda: set(_triggers(sim)) == {take, stop}, "the two legs")
        await wait_for(
            pilot, lambda: _cell(app, "tp") == format(take, "f"), "the take-profit in the table"
        )
        assert _cell(app, "sl") == format(stop, "f")
        await wait_for(pilot, lambda: _mark_at(ladder, take) == "TP", "TP on the ladder")
        assert _mark_at(ladder, stop) == "SL"

        old = _triggers(sim)[stop]
        await pilot.press("down", *["j"] * 6)  # the best bid's row, then six ticks down
        assert ladder.cursor_price == stop
        assert ladder.orders_at_cursor() == (old,)
        await pilot.press("shift+up")
        moved = stop + tick
        await wait_for(pilot, lambda: set(_triggers(sim)) == {take, moved}, "the moved stop")
        history = {o["id"]: o["status"] for o in sim.engine.order_history(sim.demo.account_id, {})}
        assert history[old] == "Cancelled"
        [row] = [
            o
            for o in sim.engine.open_orders(sim.demo.account_id, None, None)
            if o["id"] == _triggers(sim)[moved]
        ]
        assert (row["side"], row["reduceOnly"]) == ("Ask", True)
        await wait_for(
            pilot,
            lambda: _cell(app, "sl") == format(moved, "f"),
            "the moved stop in the positions view",
        )
        assert ladder.cursor_price == moved and _mark_at(ladder, moved) == "SL"
