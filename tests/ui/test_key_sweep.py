"""Every key, in every input context, against the local exchange.

With a long position and a resting order open, every printable character and every
bound key is typed into each ticket field, the market switcher's filter, the command
palette's input and the confirm dialogs. Nothing but the ticket's own send may change the
exchange's orders and positions, the kill switch or the active market, and the console
must still be running afterwards.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import events
from textual.command import CommandPalette
from textual.keys import _character_to_key, _get_unicode_name_from_key
from textual.pilot import Pilot
from textual.widgets import Input, Static

from bpx_tui.config import Settings
from bpx_tui.sim.server import SimServer
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.keys import KEYS
from bpx_tui.ui.screens.confirm import ConfirmScreen
from bpx_tui.ui.screens.switcher import MarketSwitcher
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import SIZE, make_demo_app, wait_for, wait_ready

PRINTABLE = [c for c in string.printable if c not in string.whitespace] + ["space"]
# Every key some binding of the console names (desk, ladder, ticket, watchlist), plus
# Textual's own chords and keys nothing binds.
BOUND = sorted({part for spec in KEYS for part in spec.key.split(",")})
EXTRA = ["ctrl+q", "ctrl+p", "ctrl+c", "ctrl+x", "f1", "delete", "backspace", "home", "end"]
SWEEP = [*PRINTABLE, *BOUND, *EXTRA]


def exchange_state(sim: SimServer) -> tuple[object, ...]:
    """What the exchange holds for the demo account (read on the exchange's side)."""
    account = sim.demo.account_id
    orders = sorted(
        (o["id"], o["status"], o["quantity"]) for o in sim.engine.open_orders(account, None, None)
    )
    positions = sorted((p["symbol"], p["netQuantity"]) for p in sim.engine.positions(account, None))
    history = len(sim.engine.order_history(account, {}))
    return tuple(orders), tuple(positions), history


def console_state(app: BpxApp) -> tuple[object, ...]:
    return app.gate.halted, app.active, app.is_running, app.return_code


async def with_exposure(pilot: Pilot[Any], app: BpxApp, sim: SimServer) -> tuple[object, ...]:
    """A long position (market buy) and a resting limit buy, placed from the keyboard."""
    await pilot.press("B", "enter")
    await wait_for(pilot, lambda: app.client.positions, "the long")
    await pilot.press("b", "enter")
    await wait_for(pilot, lambda: app.client.open_orders, "the resting order")
    await pilot.pause(0.3)
    state = exchange_state(sim)
    orders, positions, _ = state
    assert len(orders) == 1 and len(positions) == 1
    return state


def key_event(key: str) -> events.Key:
    """The event a terminal sends for ``key`` (as ``Pilot.press`` builds it)."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(key))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


async def sweep(pilot: Pilot[Any], keys: list[str], skip: set[str]) -> None:
    """Type ``keys`` as a fast typist would: a few keys between screen updates.

    ``Pilot.press`` waits for the app to go idle after every key (about 0.15 s with the
    frame pump running); queueing a handful at a time keeps this sweep of ~1,000 keys
    short while every key still goes through the app's own key dispatch, in order.
    """
    driver = pilot.app._driver
    assert driver is not None
    typed = [key for key in keys if key not in skip]
    for start in range(0, len(typed), 8):
        for key in typed[start : start + 8]:
            event = key_event(key)
            event.set_sender(pilot.app)
            driver.send_message(event)
        await pilot.pause()


async def test_every_key_in_every_input_context_changes_nothing(tmp_path: Path) -> None:
    settings = replace(Settings(), confirm_close_all=True)
    app, sim = make_demo_app(tmp_path, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        before = await with_exposure(pilot, app, sim)
        console = console_state(app)
        ticket = app.query_one(OrderTicket)

        # Each ticket field, on a limit and on a market ticket. Enter (send) and Esc
        # (discard) are the ticket's own keys and are left out of the sweep.
        for opener, field in (("b", "#ticket-price"), ("b", "#ticket-size"), ("S", "#ticket-size")):
            await pilot.press(opener)
            assert ticket.is_open
            app.query_one(field).focus()
            await pilot.pause()
            await sweep(pilot, SWEEP, {"enter", "escape"})
            assert ticket.is_open, "a key closed the ticket"
            assert app.focused is not None and ticket in app.focused.ancestors
            await pilot.press("escape")
            assert not ticket.is_open

        # The market switcher's filter (Enter would switch: the switcher's own key).
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.screen, MarketSwitcher), "the switcher")
        await sweep(pilot, SWEEP, {"enter", "escape"})
        assert isinstance(app.screen, MarketSwitcher)
        await pilot.press("escape")

        # The command palette's input (Enter would run the highlighted command).
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await sweep(pilot, SWEEP, {"enter", "escape", "ctrl+p"})
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "the palette to close")

        # The confirm dialogs: quit with exposure (only y says yes) and close-all.
        for opener, own in (("q", {"y", "n", "escape"}), ("X", {"y", "n", "escape", "enter"})):
            await pilot.press(opener)
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), opener)
            await sweep(pilot, SWEEP, own)
            assert isinstance(app.screen, ConfirmScreen), f"a key answered {opener!r}"
            await pilot.press("n")
            await wait_for(pilot, lambda: len(app.screen_stack) == 1, "the dialog to close")

        await pilot.pause(0.5)  # anything a key set off has had time to reach the exchange
        assert exchange_state(sim) == before
        assert console_state(app) == console
        assert app.service is not None and not app.service.journal.unresolved()


async def test_a_refused_key_says_why_in_the_ticket(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b")
        await pilot.press("x")
        error = str(app.query_one("#ticket-error").content)
        assert "'x' is not a ticket key" in error and "Esc closes the ticket first" in error
        assert exchange_state(sim)[2] == 0


async def test_typing_1k_into_size_is_a_thousand_quote_not_the_kill_switch(
    tmp_path: Path,
) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B")
        size = app.query_one("#ticket-size")
        size.focus()
        await pilot.press("ctrl+a", "ctrl+k", "1", "K")
        ticket = app.query_one(OrderTicket).ticket
        assert ticket is not None and ticket.in_quote and ticket.size == "1K"
        assert not app.gate.halted
        preview = str(app.query_one("#ticket-preview").content)
        assert "1,000.00 USDC ≈" in preview


async def test_keys_typed_fast_into_an_open_ticket_land_where_they_were_aimed(
    tmp_path: Path,
) -> None:
    """shift+Tab then ``95000`` in one burst: the price is what was typed. With focus
    moved on a later turn of the loop, the digits went to the field being left."""
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b")
        await sweep(pilot, ["shift+tab", "9", "5", "0", "0", "0"], set())
        ticket = app.query_one(OrderTicket).ticket
        assert ticket is not None and ticket.price == "95000"
        assert ticket.size == app.query_one("#ticket-size", Input).value != ""
        assert exchange_state(sim)[2] == 0


async def test_an_off_step_size_is_said_once_under_the_preview_not_twice(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B")
        ticket = app.query_one(OrderTicket)
        ticket.set_size("0.001055")  # off BTC's 0.00001 step
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        preview = str(app.query_one("#ticket-preview", Static).render())
        error = str(app.query_one("#ticket-error", Static).render())
        assert (preview + error).count("not a multiple of the step") == 1
        assert "not a multiple of the step" in error  # under the fields, where Enter was
        assert ticket.is_open and exchange_state(sim)[2] == 0
