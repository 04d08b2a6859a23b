"""Issue 17's exits and stops end to end, over real sockets, checked by a second client.

The order goes the console's way (a ticket, its preview's estimated fill for the
``+1%`` / ``-1%`` exits, ``build_order``, the one dispatch); what the exchange then
holds is read by ccxt's Backpack client, an implementation that shares none of our
code, from ``GET /api/v1/orders``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.dispatch import OrderDispatch
from bpx_tui.ui.ticket_model import Fees, Ticket
from tests.conftest import until
from tests.integration.conftest import Harness

ccxt_async = pytest.importorskip("ccxt.async_support")

BTC = "BTC_USDC_PERP"
PERP = "BTC/USDC:USDC"
HUNDREDTH = Decimal("0.01")


@pytest.fixture
async def ccxt_client(harness: Harness) -> AsyncIterator[tuple[SimServer, Any]]:
    sim = await harness.sim(book_levels=200)
    exchange = ccxt_async.backpack(
        {"apiKey": sim.demo.api_key, "secret": sim.demo.api_secret, "enableRateLimit": False}
    )
    exchange.urls["api"] = {
        **exchange.urls["api"],
        "public": sim.rest_url,
        "private": sim.rest_url,
    }
    try:
        await exchange.load_markets()
        yield sim, exchange
    finally:
        await exchange.close()


async def send(client: BackpackClient, ticket: Ticket) -> Any:
    """The ticket's order as Enter sends it: exits measured from the previewed fill."""
    market = client.market(ticket.symbol)
    book = client.books[ticket.symbol]
    taken = book.best_ask_price() if ticket.side == "Bid" else book.best_bid_price()
    preview = ticket.preview(market, book, taken, Fees())
    assert preview.error is None, preview.error
    return await OrderDispatch(client).send(ticket.order(market, preview.entry))


async def test_market_buy_with_exits_then_the_stop_loss_closes_it(
    harness: Harness, ccxt_client: tuple[SimServer, Any]
) -> None:
    sim, exchange = ccxt_client
    client = await harness.client(sim, symbols=[BTC])
    await until(lambda: BTC in client.books and client.books[BTC].synced, "a synced book")
    ticket = Ticket(BTC, "Bid", "Market", size="0.01", take_profit="+1%", stop_loss="-1%")
    bought = await send(client, ticket)
    assert bought.status == "Filled"
    fill = bought.executed_quote_quantity / bought.executed_quantity

    [position] = [p for p in await exchange.fetch_positions([PERP]) if p["symbol"] == PERP]
    assert position["side"] == "long" and Decimal(str(position["contracts"])) == HUNDREDTH
    raw = await exchange.privateGetApiV1Orders({"symbol": BTC})
    assert len(raw) == 2
    tick = client.market(BTC).tick_size
    by_trigger = sorted(raw, key=lambda o: Decimal(o["triggerPrice"]))
    sl, tp = by_trigger
    for leg in (tp, sl):
        assert leg["status"] == "TriggerPending" and leg["reduceOnly"] is True
        assert leg["side"] == "Ask" and leg["triggerQuantity"] == "0.01000"
        assert leg["relatedOrderId"] == bought.id and leg["triggerBy"] == "MarkPrice"
    assert abs(Decimal(tp["triggerPrice"]) - fill * Decimal("1.01")) <= tick / 2
    assert abs(Decimal(sl["triggerPrice"]) - fill * Decimal("0.99")) <= tick / 2
    seen = await exchange.fetch_open_orders(PERP)
    assert {o["id"] for o in seen} == {tp["id"], sl["id"]}
    assert {o["reduceOnly"] for o in seen} == {True}
    assert {Decimal(str(o["triggerPrice"])) for o in seen} == {
        Decimal(tp["triggerPrice"]),
        Decimal(sl["triggerPrice"]),
    }

    # A moving market: the index falls step by step until the stop-loss fires.
    mark = Decimal(str((await exchange.fetch_funding_rate(PERP))["markPrice"]))
    stop = Decimal(sl["triggerPrice"])
    step = (mark - stop) / 4
    for n in range(1, 7):
        sim.engine.set_index(BTC, mark - step * n)
        if not await exchange.privateGetApiV1Orders({"symbol": BTC}):
            break
    assert [p for p in await exchange.fetch_positions([PERP]) if float(p["contracts"] or 0)] == []
    assert await exchange.fetch_open_orders(PERP) == []
    history = {o.id: o for o in await client.rest.order_history(symbol=BTC)}
    assert (history[sl["id"]].status, history[tp["id"]].status) == ("Filled", "Cancelled")


async def test_a_sell_stop_at_90000_waits(
    harness: Harness, ccxt_client: tuple[SimServer, Any]
) -> None:
    sim, exchange = ccxt_client
    client = await harness.client(sim, symbols=[BTC])
    await until(lambda: BTC in client.books and client.books[BTC].synced, "a synced book")
    ticket = Ticket(BTC, "Ask", size="0.01", trigger="90000").with_kind("stop-market")
    stop = await send(client, ticket)
    assert stop.status == "TriggerPending"
    [seen] = await exchange.fetch_open_orders(PERP)
    assert seen["id"] == stop.id and seen["side"] == "sell"
    assert Decimal(str(seen["triggerPrice"])) == Decimal(90000)
    [raw] = await exchange.privateGetApiV1Orders({"symbol": BTC})
    assert (raw["status"], raw["triggerQuantity"], raw["reduceOnly"]) == (
        "TriggerPending",
        "0.01000",
        None,
    )
    positions = await exchange.fetch_positions([PERP])
    assert all(not float(p["contracts"] or 0) for p in positions)  # nothing until it fires
