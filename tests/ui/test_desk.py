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
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.risk import RiskGate, RiskLimits
from bpx_tui.ui.desk import TradingDesk

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
