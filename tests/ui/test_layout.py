"""Every terminal size, and the way back: what a trader sees is a function of the size.

Sizes from 80x24 to 220x60 and the round trip 160x48 -> 80x24 -> 160x48, against the
real local exchange with a position and a resting order open, so the tables have rows
and their columns are the ones a trader would read.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget

from bpx_tui.ui import layout
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.widgets.activity import ActivityPanel
from bpx_tui.ui.widgets.holdings import HoldingsPanel
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.orders import OrdersPanel
from bpx_tui.ui.widgets.positions import PositionsPanel
from bpx_tui.ui.widgets.table import Column, fit_columns
from bpx_tui.ui.widgets.ticket import OrderTicket
from bpx_tui.ui.widgets.watchline import WatchLine
from bpx_tui.ui.widgets.watchlist import Watchlist
from tests.ui.helpers import make_demo_app, wait_for, wait_ready

SIZES = [(80, 24), (100, 30), (120, 40), (160, 48), (220, 60)]
POSITION_COLUMNS_AT_80 = ("symbol", "side", "size", "entry", "mark", "upnl", "liq")


# ---------------------------------------------------------------------- the rules


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_one_size_class_per_dimension(width: int, height: int) -> None:
    classes = layout.size_classes(width, height)
    on = {name for name, state in classes.items() if state}
    assert len(on) == 2
    assert len(classes) == len(layout.WIDTH_CLASSES) + len(layout.HEIGHT_CLASSES)


def test_bottom_panels_follow_the_size_not_the_history() -> None:
    assert layout.bottom_panels(80, 24, []) == {"positions"}
    assert layout.bottom_panels(80, 24, ["activity", "orders"]) == {"activity"}
    assert layout.bottom_panels(120, 40, ["activity"]) == {"positions", "activity"}
    assert layout.bottom_panels(120, 40, ["positions", "holdings"]) == {"positions", "holdings"}
    assert layout.bottom_panels(160, 48, ["orders"]) == {"positions", "orders", "activity"}
    assert layout.bottom_panels(160, 48, ["holdings"]) == {"positions", "orders", "holdings"}
    assert layout.slots(80, 24) == (layout.BOTTOM_VIEWS,)
    assert layout.slots(120, 40) == (("positions",), ("orders", "activity", "holdings", "tape"))
    assert layout.slots(160, 48) == (("positions",), ("orders",), ("activity", "holdings", "tape"))


def test_columns_leave_by_rank_and_rank_zero_stays() -> None:
    columns = (
        Column("a", "A", 10),
        Column("b", "B", 10, drop_rank=1),
        Column("c", "C", 10, drop_rank=2),
        Column("d", "D", 10),
    )
    widths = [c.width for c in columns]
    assert fit_columns(columns, widths, 44) == (0, 1, 2, 3)
    assert fit_columns(columns, widths, 43) == (0, 1, 3)  # c (rank 2) goes first
    assert fit_columns(columns, widths, 32) == (0, 3)
    assert fit_columns(columns, widths, 5) == (0, 3)  # never below the essentials


def test_positions_keep_the_trader_columns_in_78_cells() -> None:
    table = PositionsPanel.TABLE
    widths = [column.width for column in table.COLUMNS]
    shown = fit_columns(table.COLUMNS, widths, 78 - 2)  # border 2 in 80, padding and bar
    assert tuple(table.COLUMNS[i].key for i in shown) == POSITION_COLUMNS_AT_80


# ---------------------------------------------------------------------- in the console


def _shown(widget: Widget) -> bool:
    """On screen: displayed, with every ancestor displayed, and given some room."""
    node: Any = widget
    while node is not None and isinstance(node, Widget):
        if not node.display:
            return False
        node = node.parent
    return widget.region.width > 0 and widget.region.height > 0


async def _open_position_and_order(pilot: Pilot[Any]) -> BpxApp:
    app = await wait_ready(pilot)
    await pilot.press("B", "enter")
    await wait_for(pilot, lambda: app.client and app.client.positions, "a position")
    await pilot.press(*["down"] * 4, "b", "enter")
    await wait_for(pilot, lambda: app.client and app.client.open_orders, "a resting order")
    await pilot.pause(0.6)  # two slow frames
    return app


def _ladder_sides(app: BpxApp) -> tuple[int, int]:
    view = app.query_one(DepthLadder).view
    asks = sum(1 for row in view.rows if row.kind == "ask")
    bids = sum(1 for row in view.rows if row.kind == "bid")
    return asks, bids


async def _check_size(pilot: Pilot[Any], app: BpxApp, width: int, height: int) -> None:
    await pilot.resize_terminal(width, height)
    await pilot.pause(0.6)
    assert app.screen_stack[0].has_class(
        *(c for c, on in layout.size_classes(width, height).items() if on)
    )
    ladder, ticket = app.query_one(DepthLadder), app.query_one(OrderTicket)
    positions = app.query_one(PositionsPanel)
    orders, activity = app.query_one(OrdersPanel), app.query_one(ActivityPanel)
    assert _shown(ladder) and _shown(ticket)
    asks, bids = _ladder_sides(app)
    assert asks >= 5 and bids >= 5, (width, height, asks, bids)
    if layout.folded(height):
        assert _shown(app.query_one(WatchLine)) and not _shown(app.query_one(Watchlist))
        assert app.query_one(WatchLine).text.startswith(f"▶ {app.active}")
        assert _shown(positions) and not _shown(orders) and not _shown(activity)
        title = str(positions.border_title)
        assert "o: Open orders 1" in title or "o Orders 1" in title, title
        assert "h: Holdings" in title or "h Spot" in title, title
    else:
        assert _shown(app.query_one(Watchlist)) and not _shown(app.query_one(WatchLine))
        assert _shown(positions) and _shown(orders)
        assert _shown(activity) == (width >= layout.WIDE)
    visible = positions.table.visible_columns
    assert set(POSITION_COLUMNS_AT_80) <= set(visible), (width, visible)


async def test_every_size_on_the_way_and_back(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_position_and_order(pilot)
        for width, height in [(160, 48), (80, 24), (160, 48), *SIZES, (160, 48)]:
            await _check_size(pilot, app, width, height)


async def test_resize_under_a_dialog_lays_out_the_screen_beneath(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_position_and_order(pilot)
        await pilot.press("question_mark")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        await pilot.press("escape")
        await _check_size(pilot, app, 80, 24)
        await pilot.press("question_mark")
        await pilot.resize_terminal(160, 48)
        await pilot.pause(0.3)
        await pilot.press("escape")
        await _check_size(pilot, app, 160, 48)


async def test_folded_tabs_are_one_key_away(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_position_and_order(pilot)
        positions = app.query_one(PositionsPanel)
        orders, activity = app.query_one(OrdersPanel), app.query_one(ActivityPanel)
        await pilot.press("o")
        await pilot.pause(0.1)
        assert _shown(orders) and not _shown(positions)
        assert app.focused is orders.table  # c now cancels the row under the cursor
        await pilot.press("escape", "a")
        await pilot.pause(0.1)
        assert _shown(activity) and not _shown(orders)
        assert "▶ Activity" in str(activity.border_title)
        await pilot.press("escape", "h")
        await pilot.pause(0.6)
        holdings = app.query_one(HoldingsPanel)
        assert _shown(holdings) and not _shown(activity)
        assert holdings.table.get_row("USDC")  # the demo account's collateral
        await pilot.press("escape", "p")
        await pilot.pause(0.1)
        assert _shown(positions) and not _shown(holdings)
        assert app.focused is positions.table


async def test_narrow_position_numbers_are_whole(tmp_path: Path) -> None:
    """At 80 columns every shown cell holds its whole value: nothing cut mid-number."""
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_position_and_order(pilot)
        table = app.query_one(PositionsPanel).table
        row = table.get_row(app.active)
        widths = {column.key.value: column.width for column in table.columns.values()}
        for key, cell in zip(table.visible_columns, row, strict=True):
            text = str(cell)
            assert len(text) <= widths[key], (key, text)
        entry = str(row[table.visible_columns.index("entry")]).strip()
        assert Decimal(entry.replace(",", "")) > 0


async def test_an_open_ticket_never_covers_the_panels_below(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_position_and_order(pilot)
        await pilot.press("b")  # the tallest state of the right column: a limit ticket
        for width, height in SIZES:
            await pilot.resize_terminal(width, height)
            await pilot.pause(0.4)
            body = app.query_one("#body").region
            for child in app.query_one("#right").children:
                if _shown(child):
                    assert child.region.bottom <= body.bottom, (width, height, child.id)
            assert _shown(app.query_one(PositionsPanel))
            ticket = app.query_one(OrderTicket)
            assert ticket.query_one("#ticket-size").region.height == 1, (width, height)


async def test_a_number_and_the_text_after_it_keep_a_blank_between(tmp_path: Path) -> None:
    """Open orders' Filled (a number, flush right) then Status (text, flush left) once
    read ``0.00000New``: every column's gap is on its left, so they never touch."""
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_position_and_order(pilot)
        table = app.query_one(OrdersPanel).table
        header, row = (table.render_line(y).text for y in (0, 1))
        assert "Filled Status" in header, header
        assert re.search(r"\d New\b", row), row
