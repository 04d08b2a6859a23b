"""Funding, liquidation and trigger orders: time- and price-driven work of the exchange,
as the real client sees it over its stream and by REST.

Prices move only when a test pins an index (``engine.set_index`` also runs the
exchange's mark-driven checks at once), and funding time passes only when a test moves
the exchange clock, so every amount below is exact.
"""

from __future__ import annotations

from decimal import Decimal

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.events import LiquidationReported
from bpx_tui.exchange.models import Liquidation
from bpx_tui.exchange.rest import RestClient
from bpx_tui.sim.server import SimServer
from tests.conftest import eventually, until
from tests.integration.conftest import BTC, TAKER_FEE, Harness, Recorder, place

FUNDING_SPEEDUP = 4  # a 15-minute funding interval: none falls due by itself mid-test


async def open_long(client: BackpackClient, maker: RestClient, qty: str, price: str) -> None:
    """Buy ``qty`` at market from a resting ask of the maker account at ``price``."""
    await maker.execute_order(
        {"symbol": BTC, "side": "Ask", "orderType": "Limit", "quantity": qty, "price": price}
    )
    order = await place(client, BTC, "Bid", "Market", Decimal(qty))
    assert (order.status, order.executed_quantity) == ("Filled", Decimal(qty))
    await until(lambda: BTC in client.positions, "the long position on the stream")


async def pay_funding(sim: SimServer, client: BackpackClient, next_funding_ms: int) -> None:
    """Move the exchange clock just past the funding time it published; wait for the
    payment to be in the account's history."""
    sim.clock.advance((next_funding_ms - sim.clock.now_ms()) / 1000 + 0.01)

    async def paid() -> bool:
        return bool(await client.rest.funding_history())

    await eventually(paid, "a funding payment in the account's history")


async def test_funding_payment_long_pays_short(harness: Harness) -> None:
    sim = await harness.sim(funding_speedup=FUNDING_SPEEDUP)
    client = await harness.client(sim)
    short = await harness.rest(sim, sim.create_account())
    await open_long(client, short, "0.1", "97000")

    [mark] = await client.rest.mark_prices(BTC)
    rate = mark.funding_rate
    assert rate is not None and rate != 0  # the carry is the market's own (seeded)
    assert mark.mark_price == Decimal("97000")
    value_before = (await client.rest.collateral()).assets_value
    assert await client.rest.funding_history() == []
    assert mark.next_funding_ms is not None

    await pay_funding(sim, client, mark.next_funding_ms)
    [ours] = await client.rest.funding_history(symbol=BTC)
    [theirs] = await short.funding_history(symbol=BTC)
    assert ours.interval_end_ms == theirs.interval_end_ms == mark.next_funding_ms
    assert ours.funding_rate == theirs.funding_rate == rate
    amount = (rate * mark.mark_price * Decimal("0.1")).quantize(Decimal("1e-6"))  # USDC
    assert amount != 0
    assert ours.quantity == -amount  # the long pays a positive rate (receives a negative one)
    assert theirs.quantity == amount  # and the short the other way
    total = ours.quantity

    [position] = await client.rest.positions(BTC)
    assert position.cumulative_funding == total
    assert (await client.rest.collateral()).assets_value == value_before + total
    # The stream carries no funding figure; the client's REST re-read brings it in.
    await client.refresh_account()
    assert client.positions[BTC].cumulative_funding == total


async def test_liquidation_closes_the_position(harness: Harness) -> None:
    sim = await harness.sim()
    poor = sim.create_account(usdc=Decimal("300"))
    sim.engine.update_account(poor.account_id, {"leverageLimit": "50"})  # ~32x below
    client = await harness.client(sim, poor)
    seen = Recorder(client)
    # The public liquidation feed is subscribed only once someone asks for its events.
    feed: list[Liquidation] = []
    client.subscribe(LiquidationReported, lambda event: feed.append(event.liquidation))
    await until(lambda: sim.hub.subscribers("liquidation"), "the liquidation subscription")
    maker = await harness.rest(sim, sim.create_account())
    # The liquidation closes at market, so someone must bid.
    await maker.execute_order(
        {"symbol": BTC, "side": "Bid", "orderType": "Limit", "quantity": "0.1", "price": "94000"}
    )
    await open_long(client, maker, "0.1", "97000")

    fee = Decimal("97000") * Decimal("0.1") * TAKER_FEE
    equity = Decimal("300") - fee
    mmf = Decimal("0.0125")  # the BTC maintenance base dominates at this size
    expected_liq = (Decimal("0.1") * Decimal("97000") - equity) / (Decimal("0.1") * (1 - mmf))
    [position] = await client.rest.positions(BTC)
    assert position.est_liquidation_price is not None
    assert abs(position.est_liquidation_price - expected_liq) < Decimal("0.001")
    assert Decimal("95200") < expected_liq < Decimal("95300")

    sim.engine.set_index(BTC, Decimal("95300"))  # above the liquidation price: survives
    [position] = await client.rest.positions(BTC)
    assert position.net_quantity == Decimal("0.1")
    assert position.mark_price == Decimal("95300")
    assert BTC in client.positions

    sim.engine.set_index(BTC, Decimal("95200"))  # equity 115.15 < maintenance 119
    await until(lambda: BTC not in client.positions, "the liquidated position to close")
    closing = [f for f in seen.fills if f.raw.get("O") == "LIQUIDATION_AUTOCLOSE"]
    assert [(f.side, Decimal(f.raw["l"]), Decimal(f.raw["L"])) for f in closing] == [
        ("Ask", Decimal("0.1"), Decimal("94000"))
    ]
    assert seen.positions[-1].net_quantity == 0
    await until(lambda: feed, "the public liquidation event")
    assert [(e.symbol, e.side, e.quantity, e.price) for e in feed] == [
        (BTC, "Ask", Decimal("0.1"), Decimal("94000"))
    ]
    assert feed[0].timestamp_ms is not None
    assert await client.rest.positions() == []
    [liquidation] = await client.rest.fill_history(fill_type="BookLiquidation")
    assert (liquidation.side, liquidation.quantity, liquidation.price) == (
        "Ask",
        Decimal("0.1"),
        Decimal("94000"),
    )
    # The maker took the other side and is flat again.
    assert await maker.positions(BTC) == []


async def test_stop_trigger_waits_then_closes_the_position(harness: Harness) -> None:
    sim = await harness.sim()
    client = await harness.client(sim)
    seen = Recorder(client)
    maker = await harness.rest(sim, sim.create_account())
    await open_long(client, maker, "0.05", "97000")

    stop = await place(
        client,
        BTC,
        "Ask",
        "Market",
        Decimal("0.05"),
        reduce_only=True,
        trigger_price=Decimal("96000"),
        trigger_by="MarkPrice",
    )
    assert stop.status == "TriggerPending"
    await until(lambda: seen.events("triggerPlaced", stop.id), "triggerPlaced on the stream")
    cached = client.open_orders[stop.id]
    assert (cached.status, cached.trigger_price, cached.reduce_only) == (
        "TriggerPending",
        Decimal("96000"),
        True,
    )
    [resting] = await client.rest.open_orders(BTC)
    assert (resting.id, resting.status) == (stop.id, "TriggerPending")

    await maker.execute_order(
        {"symbol": BTC, "side": "Bid", "orderType": "Limit", "quantity": "0.05", "price": "95500"}
    )
    sim.engine.set_index(BTC, Decimal("96500"))  # mark above the stop: nothing happens
    [resting] = await client.rest.open_orders(BTC)
    assert resting.status == "TriggerPending"
    assert client.positions[BTC].net_quantity == Decimal("0.05")

    sim.engine.set_index(BTC, Decimal("95900"))  # the mark crosses the stop
    await until(lambda: stop.id not in client.open_orders, "the stop to leave open orders")
    await until(lambda: BTC not in client.positions, "the position to close on the stream")
    fills = seen.fills_of(stop.id)
    assert sum(Decimal(f.raw["l"]) for f in fills) == Decimal("0.05")
    assert {Decimal(f.raw["L"]) for f in fills} == {Decimal("95500")}
    assert fills[-1].status == "Filled"
    assert await client.rest.open_orders() == []
    assert await client.rest.positions() == []
    [history] = [o for o in await client.rest.order_history(symbol=BTC) if o.id == stop.id]
    assert (history.status, history.executed_quantity) == ("Filled", Decimal("0.05"))


async def test_the_client_rereads_positions_for_what_the_stream_lacks(harness: Harness) -> None:
    """Liquidation price and funding paid come only by REST on live Backpack: the
    client re-reads positions after a fill and on its clock while one is open."""
    sim = await harness.sim(funding_speedup=FUNDING_SPEEDUP)
    poor = sim.create_account(usdc=Decimal("2000"))
    client = await harness.client(sim, poor)
    short = await harness.rest(sim, sim.create_account())
    reads = client.account_reads
    await open_long(client, short, "0.1", "97000")
    [rest_position] = await client.rest.positions(BTC)
    assert rest_position.est_liquidation_price and rest_position.est_liquidation_price > 0
    await until(lambda: client.account_reads > reads, "a re-read after the fill")
    assert client.positions[BTC].est_liquidation_price == rest_position.est_liquidation_price

    [mark] = await client.rest.mark_prices(BTC)
    assert mark.next_funding_ms is not None
    await pay_funding(sim, client, mark.next_funding_ms)
    [payment] = await client.rest.funding_history(symbol=BTC)
    # No refresh_account here: the client's own clock brings the figure in.
    await until(
        lambda: client.positions[BTC].cumulative_funding == payment.quantity,
        "the funding paid in the client's position",
        timeout=10,
    )
