"""The order ticket against the real local exchange: side flip, errors that clear,
the marketable label, and one order per Enter with its answer in the ticket."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from textual.color import Color
from textual.widgets import Input, Static

from bpx_tui.exchange.models import Order
from bpx_tui.trading.order import NewOrder
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.desk import Outcome
from bpx_tui.ui.screens.confirm import ConfirmScreen
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.ticket import IDLE_TEXT, MARKETABLE, SENDING, OrderTicket
from tests.ui.helpers import SIZE, make_demo_app, wait_for, wait_ready


def text(ticket: OrderTicket, part: str) -> str:
    """What one part of the ticket shows ("" when hidden)."""
    widget = ticket.query_one(f"#ticket-{part}", Static)
    return str(widget.content) if widget.display else ""


def border(ticket: OrderTicket) -> Color:
    return ticket.styles.border_top[1]


def best(app: BpxApp) -> tuple[Decimal, Decimal]:
    assert app.client is not None
    book = app.client.books[app.active]
    bid, ask = book.best_bid_price(), book.best_ask_price()
    assert bid is not None and ask is not None
    return bid, ask


def hold_sends(app: BpxApp) -> tuple[list[NewOrder], list[NewOrder], asyncio.Event]:
    """Orders reaching the one door to the wire wait there until the event is set, so
    a test can act while an order is in flight. Returns the orders the desk was asked
    to submit, those that reached the wire, and the event."""
    assert app.service is not None and app.desk is not None
    dispatch, desk = app.service.dispatch, app.desk
    send, submit = dispatch.send, desk.submit
    asked: list[NewOrder] = []
    sent: list[NewOrder] = []
    release = asyncio.Event()

    async def counted(order: NewOrder) -> Outcome:
        asked.append(order)
        return await submit(order)

    async def held(order: NewOrder) -> Order:
        sent.append(order)
        await release.wait()
        return await send(order)

    desk.submit = counted  # type: ignore[method-assign]
    dispatch.send = held  # type: ignore[method-assign]
    return asked, sent, release


async def test_f_flips_the_side_and_a_joined_price_follows(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ticket = app.query_one(OrderTicket)
        bid, ask = best(app)
        await pilot.press("b", "f")  # f is typed into the focused size field
        assert ticket.ticket is not None
        assert ticket.ticket.side == "Ask" and Decimal(ticket.ticket.price) == ask
        # The side's colour, not the focus colour the open (focused) ticket also has.
        assert border(ticket) == Color.parse(app.theme_variables["ask"])
        assert text(ticket, "head").startswith("SELL BTC_USDC_PERP LIMIT")
        assert MARKETABLE not in text(ticket, "preview")
        await pilot.press("f")
        assert ticket.ticket.side == "Bid" and Decimal(ticket.ticket.price) == bid
        assert border(ticket) == Color.parse(app.theme_variables["bid"])

        # A price the trader moved is theirs: flipping keeps it, and the preview says
        # the sell now crosses the book.
        await pilot.press("down", "down", "f")
        chosen = bid - 2 * app.client.market(app.active).tick_size
        assert ticket.ticket.side == "Ask" and Decimal(ticket.ticket.price) == chosen
        assert MARKETABLE in text(ticket, "preview") and "taker" in text(ticket, "preview")
        await pilot.press("f")
        assert ticket.ticket.side == "Bid" and Decimal(ticket.ticket.price) == chosen
        assert MARKETABLE not in text(ticket, "preview")


async def test_a_limit_through_the_book_is_labelled_marketable(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        bid, ask = best(app)
        market = app.client.market(app.active)
        await pilot.press("b")
        ticket = app.query_one(OrderTicket)
        assert MARKETABLE not in text(ticket, "preview") and "maker" in text(ticket, "preview")
        ticket.query_one("#ticket-price", Input).value = market.format_price(ask)
        await wait_for(pilot, lambda: MARKETABLE in text(ticket, "preview"), "the label")
        assert "taker" in text(ticket, "preview")
        ticket.query_one("#ticket-price", Input).value = market.format_price(bid)
        await wait_for(pilot, lambda: MARKETABLE not in text(ticket, "preview"), "it to go")


async def test_an_error_clears_when_its_input_changes(tmp_path: Path) -> None:
    """The issue's case: a refused 9 BTC order keeps its notional line after an edit."""
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b")
        ticket = app.query_one(OrderTicket)
        size = ticket.query_one("#ticket-size", Input)
        assert app.focused is size
        size.value = "9"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "above the limit" in text(ticket, "error"), "the refusal")
        assert ticket.is_open and not ticket.busy
        await pilot.press("backspace")  # an edit of the size: the refusal was about 9
        await wait_for(pilot, lambda: not text(ticket, "error"), "the error to clear")

        size.value = "9"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "above the limit" in text(ticket, "error"), "again")
        await pilot.press("p")  # a flag change clears it too
        assert not text(ticket, "error")

        # The price field: a typed character that no number has is refused, and the
        # next digit typed clears the refusal.
        await pilot.press("tab", "x")
        assert "not a ticket key" in text(ticket, "error")
        await pilot.press("5")
        assert not text(ticket, "error")
        assert sim.engine.order_history(sim.demo.account_id, {}) == []


async def test_sending_ignores_enter_and_the_answer_replaces_it(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        asked, sent, release = hold_sends(app)
        await pilot.press("down", "down", "down", "b", "enter")  # a bid below the touch
        ticket = app.query_one(OrderTicket)
        await wait_for(pilot, lambda: text(ticket, "status") == SENDING, "sending…")
        assert ticket.busy and ticket.is_open
        await pilot.press("enter", "enter", "enter")
        await pilot.pause(0.2)
        # The ticket ignored the Enters: not even the desk was asked (the gate's own
        # duplicate guard never had to act), and one order left.
        assert len(asked) == 1 and len(sent) == 1

        release.set()
        await wait_for(pilot, lambda: not ticket.is_open, "the accepted order to close it")
        answer = text(ticket, "head")
        assert answer.startswith("✓ accepted: BUY") and answer.endswith("· New")
        assert "BTC_USDC_PERP Limit @" in answer
        assert not text(ticket, "status")
        # Focus goes back when the app has handled the ticket's Closed (a turn later).
        ladder = app.query_one(DepthLadder)
        await wait_for(pilot, lambda: app.focused is ladder, "focus back on the ladder")
        assert len(sim.engine.order_history(sim.demo.account_id, {})) == 1
        assert len(app.client.open_orders) == 1

        # A market order that fills says so; the next ticket replaces the line.
        await pilot.press("B")
        assert text(ticket, "head").startswith("BUY")
        await pilot.press("enter")
        await wait_for(pilot, lambda: text(ticket, "head").startswith("✓ filled: BUY"), "fill")
        assert "Market @" in text(ticket, "head") and "avg · Filled" in text(ticket, "head")
        await pilot.press("b", "escape")
        assert text(ticket, "head") == IDLE_TEXT


async def test_a_refusal_stays_in_the_ticket_and_enter_works_again(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("K", "B", "enter")  # the kill switch refuses new risk
        ticket = app.query_one(OrderTicket)
        await wait_for(pilot, lambda: "halted" in text(ticket, "error"), "the refusal")
        assert ticket.is_open and not ticket.busy and not text(ticket, "status")
        await pilot.press("shift+up")  # an edit clears the refusal...
        assert not text(ticket, "error")
        await pilot.press("enter")  # ...and Enter works again: refused again
        await wait_for(pilot, lambda: "halted" in text(ticket, "error"), "the second refusal")
        assert sim.engine.order_history(sim.demo.account_id, {}) == []

        # Risk allowed again (Esc first: desk keys wait for the ticket to close).
        await pilot.press("escape", "K", "B", "enter")
        await wait_for(pilot, lambda: text(ticket, "head").startswith("✓ filled"), "the fill")
        assert len(sim.engine.order_history(sim.demo.account_id, {})) == 1


async def test_a_live_order_is_sending_only_once_confirmed(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path, live=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("down", "down", "b", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        ticket = app.query_one(OrderTicket)
        assert not text(ticket, "status")  # nothing has left yet
        await pilot.press("n")
        await wait_for(pilot, lambda: "not confirmed" in text(ticket, "error"), "not sent")
        assert ticket.is_open and not ticket.busy

        asked, sent, release = hold_sends(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "asked again")
        await pilot.press("y")
        await wait_for(pilot, lambda: text(ticket, "status") == SENDING, "sending…")
        assert not text(ticket, "error")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert len(asked) == len(sent) == 1 and not isinstance(app.screen, ConfirmScreen)
        release.set()
        await wait_for(pilot, lambda: text(ticket, "head").startswith("✓ accepted"), "answer")
        assert len(sim.engine.order_history(sim.demo.account_id, {})) == 1


async def test_an_unforeseen_failure_still_answers_the_ticket(tmp_path: Path) -> None:
    """A bug under submit (not a refusal) must not leave the ticket at "sending…" with
    Enter ignored; it says the outcome is unknown, because the order may have left."""
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)

        async def broken(new: NewOrder) -> Outcome:
            raise RuntimeError("a bug")

        app.desk.submit = broken  # type: ignore[method-assign,union-attr]
        await pilot.press("down", "down", "down", "b", "enter")
        ticket = app.query_one(OrderTicket)
        await wait_for(pilot, lambda: "unknown outcome" in text(ticket, "error"), "the answer")
        assert "RuntimeError" in text(ticket, "error") and "check open orders" in text(
            ticket, "error"
        )
        assert ticket.is_open and not ticket.busy and not text(ticket, "status")


async def test_market_ticket_with_exits_previews_and_sends_them(tmp_path: Path) -> None:
    """B, a take-profit of +1% and a stop-loss of -1%: the preview shows both trigger
    prices and the PnL at each; Enter leaves a long and the two pending legs at the
    prices the preview showed."""
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ticket = app.query_one(OrderTicket)
        await pilot.press("B", "tab", "plus", "1", "percent_sign", "tab", "tab")
        assert app.focused is not None and app.focused.id == "ticket-sl"
        await pilot.press("minus", "1", "percent_sign")
        assert ticket.ticket is not None
        assert (ticket.ticket.take_profit, ticket.ticket.stop_loss) == ("+1%", "-1%")
        preview = text(ticket, "preview")
        tp_line = next(line for line in preview.splitlines() if line.startswith("TP "))
        sl_line = next(line for line in preview.splitlines() if line.startswith("SL "))
        assert "(+1.00%) by mark → market" in tp_line and "(-1.00%) by mark" in sl_line
        assert preview.count("after fees") == 2
        shown = {line.split()[1].replace(",", "") for line in (tp_line, sl_line)}
        await pilot.press("enter")
        account = sim.demo.account_id

        def legs() -> list[dict[str, object]]:
            return sim.engine.open_orders(account, app.active, None)

        await wait_for(pilot, lambda: len(legs()) == 2, "the two exit legs")
        assert {str(leg["triggerPrice"]) for leg in legs()} == shown
        assert {leg["status"] for leg in legs()} == {"TriggerPending"}
        assert {leg["reduceOnly"] for leg in legs()} == {True}


async def test_m_cycles_to_a_stop_and_the_stop_waits(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ticket = app.query_one(OrderTicket)
        await pilot.press("s", "m")
        assert text(ticket, "head").startswith("SELL BTC_USDC_PERP MARKET")
        await pilot.press("m")
        assert text(ticket, "head").startswith("SELL BTC_USDC_PERP STOP MARKET")
        assert app.focused is not None and app.focused.id == "ticket-trigger"
        assert not ticket.query_one("#ticket-price-row").display
        await pilot.press(*"90000")
        assert "Trigger  90,000.0 on a fall of the mark price, then market" in text(
            ticket, "preview"
        )
        await pilot.press("enter")
        account = sim.demo.account_id
        await wait_for(pilot, lambda: sim.engine.open_orders(account, app.active, None), "the stop")
        [stop] = sim.engine.open_orders(account, app.active, None)
        assert (stop["status"], stop["triggerPrice"], stop["side"]) == (
            "TriggerPending",
            "90000.0",
            "Ask",
        )
        assert sim.engine.positions(account, None) == []
        await pilot.press("s", "m", "m", "m")
        assert text(ticket, "head").startswith("SELL BTC_USDC_PERP STOP LIMIT")
        await pilot.press("m")
        assert text(ticket, "head").startswith("SELL BTC_USDC_PERP LIMIT")
