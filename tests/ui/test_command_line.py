"""The ``:`` command line in the running console, against the local exchange over sockets:
an order command opens its ticket filled in (Enter sends it), a bad line points at its
bad token and sends nothing, Tab completes, up recalls, close/cancel act at once."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from bpx_tui.config import Settings
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.risk import RiskLimits
from bpx_tui.ui.activity import ActivityEntry
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.screens.command_line import CommandLine
from bpx_tui.ui.screens.confirm import ConfirmScreen
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import SIZE, make_demo_app, wait_for, wait_ready

HUNDRED = Decimal(100)


async def type_line(pilot: Pilot[Any], text: str) -> CommandLine:
    """``:`` then ``text`` one key at a time, as a trader types it."""
    await pilot.press("colon")
    screen = pilot.app.screen
    assert isinstance(screen, CommandLine)
    await pilot.press(*[{" ": "space", "%": "percent_sign", "@": "at"}.get(c, c) for c in text])
    assert screen.field.value == text
    return screen


def _orders(sim: SimServer) -> list[dict[str, Any]]:
    return sim.engine.open_orders(sim.demo.account_id, None, None)


def _position(sim: SimServer, symbol: str) -> Decimal:
    rows = sim.engine.positions(sim.demo.account_id, None)
    return sum((Decimal(r["netQuantity"]) for r in rows if r["symbol"] == symbol), Decimal(0))


async def test_an_order_command_opens_its_ticket_and_enter_places_it_with_both_exits(
    tmp_path: Path,
) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await type_line(pilot, "buy 0.02 market tp +1% sl -1%")
        await pilot.press("enter")
        ticket = app.query_one(OrderTicket)
        assert ticket.is_open and ticket.ticket is not None
        assert (ticket.ticket.side, ticket.ticket.kind) == ("Bid", "market")
        assert (ticket.ticket.take_profit, ticket.ticket.stop_loss) == ("+1%", "-1%")
        assert _orders(sim) == []  # a command never sends by itself
        preview = str(app.query_one("#ticket-preview", Static).render())
        assert "TP" in preview and "SL" in preview
        await pilot.press("enter")
        symbol = app.active
        await wait_for(pilot, lambda: len(_orders(sim)) == 2, "the two exit legs")
        assert _position(sim, symbol) == Decimal("0.02")
        [position] = sim.engine.positions(sim.demo.account_id, symbol)
        entry = Decimal(position["entryPrice"])
        tick = app.client.market(symbol).tick_size if app.client else Decimal(0)
        triggers = sorted(Decimal(o["triggerPrice"]) for o in _orders(sim))
        expected = [entry * (1 - Decimal("0.01")), entry * (1 + Decimal("0.01"))]
        for got, want in zip(triggers, expected, strict=True):
            assert abs(got - want) <= tick
        assert all(o["reduceOnly"] and o["side"] == "Ask" for o in _orders(sim))
        assert all(o["status"] == "TriggerPending" for o in _orders(sim))


async def test_a_bad_line_points_at_its_token_and_nothing_opens_or_sends(
    tmp_path: Path,
) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        screen = await type_line(pilot, "buy 0.02 maket")
        await pilot.press("enter")
        assert app.screen is screen  # still open, the line kept for fixing
        hint = screen.query_one("#cmdline-hint", Static).render()
        marked = [hint.plain[s.start : s.end] for s in hint.spans if "red" in str(s.style)]
        assert "maket" in marked
        # Desk keys typed now are text: x and X close nothing, K arms nothing.
        await pilot.press("space", "x", "X", "K")
        assert screen.field.value == "buy 0.02 maket xXK"
        assert not app.gate.halted
        await pilot.press("escape")
        assert not isinstance(app.screen, CommandLine)
        assert not app.query_one(OrderTicket).is_open and _orders(sim) == []


async def test_tab_completes_up_recalls_and_cancel_acts_at_once(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.client is not None
        bid = app.client.books[app.active].best_bid_price()
        assert bid is not None
        price = format(bid - 50 * app.client.market(app.active).tick_size, "f")
        await type_line(pilot, f"buy 0.001 @{price} post")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: len(_orders(sim)) == 1, "the resting bid")
        screen = await type_line(pilot, "ca")
        await pilot.press("tab")
        assert screen.field.value == "cancel "
        await pilot.press("enter")
        await wait_for(pilot, lambda: _orders(sim) == [], "the cancel")
        # Up recalls the newest line first, then the order before it.
        screen = await type_line(pilot, "")
        await pilot.press("up")
        assert screen.field.value == "cancel"
        await pilot.press("up")
        assert screen.field.value == f"buy 0.001 @{price} post"
        await pilot.press("down", "down")
        assert screen.field.value == ""
        await pilot.press("escape")


async def test_sym_switches_the_market_and_close_flattens_it(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await type_line(pilot, "sym eth")
        await pilot.press("enter")
        assert app.active == "ETH_USDC_PERP"
        await type_line(pilot, "buy 0.1 market")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: _position(sim, app.active) == Decimal("0.1"), "the long")
        await type_line(pilot, "close")
        await pilot.press("enter")
        await wait_for(pilot, lambda: _position(sim, app.active) == 0, "the close")


async def test_colon_in_an_open_ticket_is_text_not_the_command_line(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b")
        assert app.query_one(OrderTicket).is_open
        await pilot.press("colon")
        assert not isinstance(app.screen, CommandLine)
        assert isinstance(app.focused, Input)


async def test_tp_and_sl_attach_exits_to_the_active_position(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        symbol = app.active
        await type_line(pilot, "buy 0.01 market")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: _position(sim, symbol) == Decimal("0.01"), "the long")
        await type_line(pilot, "sl 90000")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(_orders(sim)) == 1, "the stop-loss")
        await type_line(pilot, "tp +2%")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(_orders(sim)) == 2, "the take-profit")
        [position] = [
            p for p in sim.engine.positions(sim.demo.account_id, None) if p["symbol"] == symbol
        ]
        entry = Decimal(position["entryPrice"])
        by_price = sorted(_orders(sim), key=lambda o: Decimal(o["triggerPrice"]))
        assert Decimal(by_price[0]["triggerPrice"]) == Decimal(90000)
        assert abs(Decimal(by_price[1]["triggerPrice"]) - entry * Decimal("1.02")) <= 1
        assert all(o["reduceOnly"] and o["side"] == "Ask" for o in by_price)
        assert all(Decimal(o["triggerQuantity"]) == Decimal("0.01") for o in by_price)


async def test_pair_shows_both_legs_and_funding_then_places_both(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await type_line(pilot, "pair sol 2 short-perp")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the dialog")
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one("#confirm-question", Static).render())
        assert "SELL 2.00 SOL_USDC_PERP at market" in question
        assert "BUY  2.00 SOL_USDC at market ≈" in question and "Funding at" in question
        assert _orders(sim) == [] and _position(sim, "SOL_USDC_PERP") == 0  # asked, not sent
        await pilot.press("y")
        await wait_for(pilot, lambda: _position(sim, "SOL_USDC_PERP") == -2, "the perp leg")
        await wait_for(pilot, lambda: _spot_sol(sim) >= Decimal("1.99"), "the spot leg")
        await wait_for(pilot, lambda: _pair_lines(app), "the report")
        [entry] = _pair_lines(app)
        assert "both legs filled" in entry.result
        # The positions panel shows the two legs as one pair, with the funding earned.
        line = app.query_one("#positions-pairs", Static)
        await wait_for(pilot, lambda: "⇄ SOL pair" in str(line.render()), "the pair line")
        text = str(line.render())
        spot = _spot_sol(sim)
        assert f"spot {spot:,.2f} / perp -2.00" in text and "earned +0.00" in text
        assert f"Δ {spot - 2:+,.2f} SOL (" in text and "/day" in text


async def test_a_pair_whose_perp_leg_the_exchange_refuses_leaves_the_account_as_it_was(
    tmp_path: Path,
) -> None:
    # Our own limits wide open, so the refusal is the exchange's (its 1x leverage limit).
    limits = RiskLimits(
        max_order_notional=Decimal(10**6),
        max_position_notional=Decimal(10**7),
        max_slippage_pct=Decimal(50),
    )
    wide = replace(Settings(), risk=limits)
    app, sim = make_demo_app(tmp_path, settings=wide)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        before = sim.engine.capital(sim.demo.account_id)
        await type_line(pilot, "lev 1")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.client and app.client.account_info.get(
            "leverageLimit") == "1", "the 1x limit")  # fmt: skip
        await type_line(pilot, "pair SOL 800 short-perp")  # ~112k on 100k of equity
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: _pair_lines(app), "the report")
        [entry] = _pair_lines(app)
        assert "perp leg refused" in entry.result and "nothing was traded" in entry.result
        assert _position(sim, "SOL_USDC_PERP") == 0 and _orders(sim) == []
        assert sim.engine.capital(sim.demo.account_id) == before


def _spot_sol(sim: SimServer) -> Decimal:
    capital = sim.engine.capital(sim.demo.account_id)
    return Decimal(capital["SOL"]["available"]) if "SOL" in capital else Decimal(0)


def _pair_lines(app: BpxApp) -> list[ActivityEntry]:
    return [e for e in app.activity.newest_first() if e.event == "pair"]
