"""The trading desk is a collaborator without Textual: it trades against the local
exchange on its own and answers every action with an :class:`Outcome` value.

This is what lets the command line (and anything else) drive the same actions as the
keys; the exchange's own state is the witness, not the desk's report.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import pytest

from bpx_tui.config import Settings
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.vocab import Side
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.order import NewOrder, OrderIntent, build_order
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.risk import RiskGate, RiskLimits
from bpx_tui.ui.desk import TradingDesk
from bpx_tui.ui.typed import Level, parse_level

BTC = "BTC_USDC_PERP"


async def _eventually(condition: Callable[[], bool], what: str, sim: SimServer) -> None:
    for _ in range(300):
        if condition():
            return
        sim.step(1)
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[TradingDesk, SimServer]]:
    sim = SimServer(SimConfig(seed=5), rate=0)
    await sim.start()
    client = BackpackClient(sim.rest_url, sim.ws_url, api_secret=sim.demo.api_secret)
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        await client.start([BTC])
        await _eventually(lambda: client.books[BTC].synced and BTC in client.marks, "book", sim)
        gate = RiskGate()
        service = OrderService(client, gate, journal, RiskLimits(), flat_waits=(0.05, 0.1, 0.2))
        service.attach()
        yield TradingDesk(client, Settings(), gate, service, demo=True), sim
    finally:
        await client.close()
        journal.close()
        await sim.stop()


def _position(sim: SimServer) -> Decimal:
    rows = sim.engine.positions(sim.demo.account_id, None)
    return sum((Decimal(str(r["netQuantity"])) for r in rows if r["symbol"] == BTC), Decimal(0))


async def test_the_desk_opens_closes_and_halts_without_an_app(
    desk: tuple[TradingDesk, SimServer],
) -> None:
    trading, sim = desk
    market = trading.client.market(BTC)
    ticket = trading.new_ticket(BTC, "Bid", "Market", None)
    size = Decimal(ticket.size)
    assert size == trading.presets(BTC)[0]

    opened = await trading.submit(ticket.order(market))
    assert opened.sent and not opened.failed and opened.title == "Order sent"
    assert _position(sim) == size  # the exchange holds the position the ticket asked for

    halted = await trading.toggle_kill_switch()
    # The trader's own switch, not an alarm: the status bar shows it (no toast).
    assert halted.severity == "information" and trading.gate.halted
    assert halted.activity is not None and halted.activity.result.startswith("ON")
    refused = await trading.submit(trading.new_ticket(BTC, "Bid", "Market", None).order(market))
    assert not refused.sent and refused.ticket_error and "kill switch" in refused.ticket_error
    assert _position(sim) == size  # nothing more was sent

    closed = await trading.close(BTC)  # reducing: goes out although the switch is on
    assert not closed.failed and f"close {BTC}" in closed.message
    assert _position(sim) == 0

    again = await trading.close(BTC)
    assert again.message == f"No open position on {BTC}"
    assert (
        await trading.toggle_kill_switch()
    ).severity == "information" and not trading.gate.halted


async def test_a_limit_ticket_joins_the_book_or_takes_the_cursor_price(
    desk: tuple[TradingDesk, SimServer],
) -> None:
    trading, _sim = desk
    book = trading.client.books[BTC]
    market = trading.client.market(BTC)
    joined = trading.new_ticket(BTC, "Ask", "Limit", None)
    assert Decimal(joined.price) == book.best_ask_price()
    best_bid = book.best_bid_price()
    assert best_bid is not None
    cursor = best_bid - 5 * market.tick_size
    at_cursor = trading.new_ticket(BTC, "Bid", "Limit", cursor)
    assert Decimal(at_cursor.price) == cursor
    preview, estimated = trading.preview(at_cursor)
    assert preview.error is None and not estimated  # the fee tier was read from /account
    assert trading.choose_preset(BTC, 99) == market.format_quantity(trading.presets(BTC)[-1])


def _triggers(sim: SimServer) -> list[dict[str, object]]:
    """The demo account's pending trigger orders, as the exchange holds them."""
    orders = sim.engine.open_orders(sim.demo.account_id, BTC, None)
    return [o for o in orders if o["status"] == "TriggerPending"]


async def test_attach_exit_places_one_stop_from_the_entry_and_replaces_it(
    desk: tuple[TradingDesk, SimServer],
) -> None:
    trading, sim = desk
    market = trading.client.market(BTC)
    refused = await trading.attach_exit(BTC, parse_level("-1%", "sl"))
    assert refused.severity == "warning" and "no open position" in refused.message
    assert refused.activity is not None and _triggers(sim) == []

    opened = await trading.submit(trading.new_ticket(BTC, "Bid", "Market", None).order(market))
    assert opened.sent
    [row] = sim.engine.positions(sim.demo.account_id, BTC)
    entry = Decimal(str(row["entryPrice"]))

    first = await trading.attach_exit(BTC, parse_level("-1%", "sl"))
    assert not first.failed, first.message
    [stop] = _triggers(sim)
    assert Decimal(str(stop["triggerPrice"])) == market.round_price(entry * Decimal("0.99"))
    assert (stop["side"], stop["reduceOnly"], stop["triggerBy"]) == ("Ask", True, "MarkPrice")
    assert Decimal(str(stop["triggerQuantity"])) == _position(sim)  # the whole position
    assert first.message.startswith(f"stop-loss {BTC} at {stop['triggerPrice']}")

    second = await trading.attach_exit(BTC, parse_level("-2%", "sl"))
    [moved] = _triggers(sim)  # replaced, not a second stop
    assert moved["id"] != stop["id"]
    assert Decimal(str(moved["triggerPrice"])) == market.round_price(entry * Decimal("0.98"))
    assert f"replaced the one at {stop['triggerPrice']}" in second.message

    wrong = await trading.attach_exit(
        BTC, Level("tp", price=market.round_price(entry * Decimal("0.9")))
    )
    assert wrong.severity == "warning" and "must be above the mark" in wrong.message
    assert [o["id"] for o in _triggers(sim)] == [moved["id"]]  # nothing sent, nothing cancelled


async def test_the_kill_switch_cancels_orders_that_add_risk_and_keeps_reducing_ones(
    desk: tuple[TradingDesk, SimServer],
) -> None:
    trading, sim = desk
    market = trading.client.market(BTC)
    book = trading.client.books[BTC]
    bid, ask = book.best_bid_price(), book.best_ask_price()
    assert bid is not None and ask is not None
    await trading.submit(trading.new_ticket(BTC, "Bid", "Market", None).order(market))
    held = _position(sim)
    tick = market.tick_size

    def limit(side: Side, price: Decimal, size: Decimal, **flags: bool) -> NewOrder:
        intent = OrderIntent(BTC, side, "Limit", quantity=size, price=price, **flags)
        return build_order(intent, market)

    adding = [
        limit("Bid", bid - 20 * tick, held),  # a resting bid: more long
        limit("Ask", ask + 20 * tick, held * 2),  # would flip the long to a short
        build_order(  # a stop entry: more long on a rise
            OrderIntent(BTC, "Bid", "Market", quantity=held, trigger_price=ask + 50 * tick),
            market,
        ),
    ]
    keeping = [
        limit("Ask", ask + 30 * tick, held, reduce_only=True),
        limit("Ask", ask + 40 * tick, held),  # closes the long, no larger: reducing
    ]
    ids = {}
    for order in (*adding, *keeping):
        outcome = await trading.submit(order)
        assert outcome.sent, outcome.message
    for o in sim.engine.open_orders(sim.demo.account_id, BTC, None):
        ids[o["id"]] = o
    await trading.attach_exit(BTC, parse_level("-1%", "sl"))  # the position's stop stays too

    on = await trading.toggle_kill_switch()

    assert trading.gate.halted and not on.failed
    assert on.message == (
        "kill switch ON: cancelled 3 resting orders that add risk; only reducing orders go out"
    )
    assert on.activity is not None and on.activity.result.startswith("ON: cancelled 3")
    left = sim.engine.open_orders(sim.demo.account_id, BTC, None)
    assert len(left) == 3
    assert all(o["reduceOnly"] or o["side"] == "Ask" for o in left)
    assert {Decimal(str(o["price"])) for o in left if o.get("price")} == {
        ask + 30 * tick,
        ask + 40 * tick,
    }
    assert [o["status"] for o in left if o["triggerPrice"]] == ["TriggerPending"]  # the stop
    history = {o["id"]: o["status"] for o in sim.engine.order_history(sim.demo.account_id, {})}
    assert sorted(history[i] for i in ids if i not in {o["id"] for o in left}) == ["Cancelled"] * 3

    off = await trading.toggle_kill_switch()
    assert not trading.gate.halted and off.message == "kill switch off: new orders allowed"


async def test_a_kill_switch_set_to_keep_leaves_resting_orders(
    desk: tuple[TradingDesk, SimServer],
) -> None:
    trading, sim = desk
    trading.settings = Settings(kill_switch_resting="keep")
    market = trading.client.market(BTC)
    best = trading.client.books[BTC].best_bid_price()
    assert best is not None
    resting = trading.new_ticket(BTC, "Bid", "Limit", best - 20 * market.tick_size)
    assert (await trading.submit(resting.order(market))).sent
    on = await trading.toggle_kill_switch()
    assert on.message == "kill switch ON: resting orders kept; only reducing orders go out"
    assert len(sim.engine.open_orders(sim.demo.account_id, BTC, None)) == 1
