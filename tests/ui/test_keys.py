"""The keyboard: ticket keys, a held Enter, the switcher, palette, log, remapping, quit."""

from __future__ import annotations

import socket
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from textual.command import CommandPalette

from bpx_tui.config import Settings
from bpx_tui.exchange.stream import ConnectionState
from bpx_tui.ui.screens.confirm import ConfirmScreen
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.log_panel import LogPanel
from bpx_tui.ui.widgets.orders import OrdersPanel
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import SIZE, make_demo_app, palette_lines, wait_for, wait_ready


async def test_ticket_keys_edit_the_order_and_a_held_enter_sends_once(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        widget = app.query_one(OrderTicket)
        await pilot.press("b")
        assert widget.ticket is not None
        start = Decimal(widget.ticket.price)
        await pilot.press("up", "up", "down")
        assert Decimal(widget.ticket.price) == start + Decimal("0.1")
        size = Decimal(widget.ticket.size)
        await pilot.press("shift+up")
        assert Decimal(widget.ticket.size) > size
        await pilot.press("p", "r", "t")
        assert widget.ticket.post_only and widget.ticket.reduce_only and widget.ticket.tif == "IOC"
        assert "a post-only order rests on the book: it cannot be IOC" in str(
            widget.query_one("#ticket-preview").content
        )
        await pilot.press("m")
        assert widget.ticket.is_market
        await pilot.press("escape")
        assert not widget.is_open

        await pilot.press("B", "enter", "enter", "enter", "enter", "enter")
        await wait_for(pilot, lambda: app.client.positions, "the fill")
        await pilot.pause(0.3)
        assert len(sim.engine.order_history(sim.demo.account_id, {})) == 1


async def test_switcher_palette_and_log_panel(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("slash", "e", "t", "h", "enter")
        await wait_for(pilot, lambda: app.active == "ETH_USDC_PERP", "the switch")
        assert app.query_one(DepthLadder).symbol == "ETH_USDC_PERP"
        # "sol" names a perpetual and a spot market: Enter takes the perpetual...
        await pilot.press("slash", *"sol", "enter")
        await wait_for(pilot, lambda: app.active == "SOL_USDC_PERP", "the perpetual")
        # ...and the spot market is the next row, even when the arrow is typed ahead.
        await pilot.press("slash", *"sol", "down", "enter")
        await wait_for(pilot, lambda: app.active == "SOL_USDC", "the spot market")
        assert app.query_one(DepthLadder).symbol == "SOL_USDC"

        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        lines = await palette_lines(pilot)
        assert lines[0] == "Buy ticket: limit at best bid / ladder cursor\nkey: b"
        assert "Switch the active market\nkey: /" in lines
        builtin = [i for i, line in enumerate(lines) if line.startswith(("Theme", "Screenshot"))]
        desk = [i for i, line in enumerate(lines) if "\nkey: " in line]
        assert len(builtin) == 2 and len(desk) == 14 and max(desk) < min(builtin)
        await pilot.press(*"quit")
        lines = await palette_lines(pilot, "Quit")
        assert lines[0] == "Quit (closes every connection)\nkey: q"  # before Textual's Quit
        await pilot.press(*["backspace"] * 4, *"kill")
        await palette_lines(pilot, "Kill")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.gate.halted, "the palette to run the kill switch")

        app.feed.report("something broke")
        panel = app.query_one(LogPanel)
        assert not panel.display
        await pilot.press("L")
        await wait_for(pilot, lambda: "something broke" in "\n".join(panel.lines), "the log")
        await pilot.press("L")
        assert not panel.display


async def test_remapped_keys_and_confirmed_close_all(tmp_path: Path) -> None:
    settings = replace(
        Settings(), keys=MappingProxyType({"buy_market": "f2"}), confirm_close_all=True
    )
    app, sim = make_demo_app(tmp_path, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B")
        assert not app.query_one(OrderTicket).is_open  # B was moved to f2
        await pilot.press("f2", "enter")
        await wait_for(pilot, lambda: app.client.positions, "a position")

        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        assert "Buy ticket at market\nkey: f2" in await palette_lines(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "the palette to close")

        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert sim.engine.positions(sim.demo.account_id, None) != []
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.client.positions, "flat")
        assert sim.engine.positions(sim.demo.account_id, None) == []


async def test_cancel_market_orders_then_quit_closes_every_socket(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        for depth in (3, 5):
            await pilot.press("space", *["down"] * depth, "b", "enter")
            await wait_for(
                pilot, lambda d=depth: len(app.client.open_orders) == (d > 3) + 1, "order"
            )
        await wait_for(pilot, lambda: app.query_one(OrdersPanel).table.row_count == 2, "rows")
        await pilot.press("C")
        await wait_for(pilot, lambda: not app.client.open_orders, "the cancels")
        assert sim.engine.open_orders(sim.demo.account_id, None, None) == []

        client, port = app.client, sim.port
        await pilot.press("q")
        await wait_for(pilot, lambda: client.connection is ConnectionState.DOWN, "the stream")
        with pytest.raises(OSError):  # the local exchange stopped listening
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


async def test_quit_with_exposure_asks_and_cancels_nothing(tmp_path: Path) -> None:
    """The issue's repro: B Enter, b, Tab, q. Tab stays in the ticket, q is refused
    there; with the ticket closed q asks, Enter is not a yes, n keeps the console."""
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B", "enter")
        await wait_for(pilot, lambda: app.client.positions, "the long")
        await pilot.press("b", "enter")
        await wait_for(pilot, lambda: app.client.open_orders, "the resting order")
        await pilot.press("b", "tab", "q")
        ticket = app.query_one(OrderTicket)
        assert ticket.is_open and app.is_running
        assert app.focused is not None and ticket in app.focused.ancestors
        await pilot.press("escape", "q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        question = str(app.screen.query_one("#confirm-question").content)
        assert question.startswith("1 position and 1 order open — quit? y/n")
        await pilot.press("enter", "n")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "the answer")
        assert app.is_running
        account = sim.demo.account_id
        assert len(sim.engine.open_orders(account, None, None)) == 1
        assert len(sim.engine.positions(account, None)) == 1
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, "the exit")
    # Quitting closed nothing: the order rests and the position is held.
    assert len(sim.engine.open_orders(account, None, None)) == 1
    assert len(sim.engine.positions(account, None)) == 1


async def test_flat_quits_at_once(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, "the exit")
    assert app.return_code == 0


async def test_u_converts_a_250_usdc_sol_ticket_and_enter_buys_what_it_showed(
    tmp_path: Path,
) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.set_active("SOL_USDC_PERP")
        await wait_for(pilot, lambda: app.client.books["SOL_USDC_PERP"].synced, "SOL's book")
        await pilot.press("B", "u", "ctrl+a", "ctrl+k", "2", "5", "0")
        widget = app.query_one(OrderTicket)
        assert widget.ticket is not None and widget.ticket.in_quote
        preview = str(widget.query_one("#ticket-preview").content)
        assert "250.00 USDC ≈" in preview
        shown = Decimal(preview.split("≈ ")[1].split(" SOL")[0].replace(",", ""))
        await pilot.press("u")
        assert widget.ticket is not None and not widget.ticket.in_quote
        assert Decimal(widget.ticket.size) == shown  # converted, not relabelled
        await pilot.press("enter")
        await wait_for(pilot, lambda: "SOL_USDC_PERP" in app.client.positions, "the fill")
        [position] = sim.engine.positions(sim.demo.account_id, "SOL_USDC_PERP")
        assert Decimal(position["netQuantity"]) == shown


async def test_tab_cycles_the_tickets_visible_fields_only(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b")
        assert app.focused is not None and app.focused.id == "ticket-size"
        order = []
        for _ in range(6):
            await pilot.press("tab")
            assert app.focused is not None
            order.append(app.focused.id)
        # the stop's trigger row is hidden on a limit ticket
        assert order == [
            "ticket-tp", "ticket-tp-limit", "ticket-sl", "ticket-sl-limit",
            "ticket-price", "ticket-size",
        ]  # fmt: skip
        await pilot.press("m")  # a market ticket has no price field
        for _ in range(5):
            await pilot.press("tab")
            assert app.focused is not None and app.focused.id != "ticket-price"
        assert app.focused is not None and app.focused.id == "ticket-size"
