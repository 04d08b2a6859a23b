"""Orders, fills, cancels and positions: the real client against the real local exchange.

Books start empty (no market maker), so every trade is between the test's own two
accounts and every price, quantity and fee below is known exactly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from types import SimpleNamespace

import aiohttp

from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from tests.conftest import eventually, until
from tests.integration.conftest import BTC, ETH, MAKER_FEE, TAKER_FEE, Harness, Recorder, place


async def test_limit_order_partial_then_full_fill(harness: Harness) -> None:
    sim = await harness.sim()
    client = await harness.client(sim)
    seen = Recorder(client)
    seller = await harness.rest(sim, sim.create_account())

    placed = await place(client, BTC, "Bid", "Limit", Decimal("0.01"), Decimal("96000"))
    assert placed.status == "New"
    await until(lambda: seen.events("orderAccepted", placed.id), "orderAccepted on the stream")
    cached = client.open_orders[placed.id]
    assert (cached.side, cached.price, cached.quantity) == (
        "Bid",
        Decimal("96000.0"),
        Decimal("0.01"),
    )

    # The second account sells into part of it: our order is the maker.
    taker = await seller.execute_order(
        {"symbol": BTC, "side": "Ask", "orderType": "Limit", "quantity": "0.004", "price": "96000"}
    )
    assert taker.status == "Filled"
    await until(lambda: len(seen.fills_of(placed.id)) == 1, "the first fill callback")
    partial = client.open_orders[placed.id]
    assert partial.status == "PartiallyFilled"
    assert partial.executed_quantity == Decimal("0.004")
    assert partial.remaining == Decimal("0.006")
    fill = seen.fills_of(placed.id)[0]
    assert (Decimal(fill.raw["l"]), Decimal(fill.raw["L"])) == (Decimal("0.004"), Decimal("96000"))
    assert fill.raw["m"] is True
    assert Decimal(fill.raw["n"]) == Decimal("96000") * Decimal("0.004") * MAKER_FEE

    await seller.execute_order(
        {"symbol": BTC, "side": "Ask", "orderType": "Limit", "quantity": "0.006", "price": "96000"}
    )
    await until(lambda: placed.id not in client.open_orders, "the filled order to leave the cache")
    assert len(seen.fills_of(placed.id)) == 2
    final = seen.fills_of(placed.id)[-1]
    assert final.status == "Filled"
    assert final.executed_quantity == Decimal("0.01")
    assert final.executed_quote_quantity == Decimal("960")

    fills = await client.rest.fill_history(symbol=BTC)
    ours = sorted((f for f in fills if f.order_id == placed.id), key=lambda f: f.quantity)
    assert [(f.quantity, f.price, f.side, f.is_maker) for f in ours] == [
        (Decimal("0.004"), Decimal("96000"), "Bid", True),
        (Decimal("0.006"), Decimal("96000"), "Bid", True),
    ]
    assert sum(f.fee for f in ours) == Decimal("960") * MAKER_FEE
    assert await client.rest.open_orders() == []
    # The seller sees its own side of the same two trades.
    theirs = await seller.fill_history(symbol=BTC)
    assert sorted(f.quantity for f in theirs) == [Decimal("0.004"), Decimal("0.006")]
    assert {f.trade_id for f in theirs} == {f.trade_id for f in ours}
    assert all(f.side == "Ask" and not f.is_maker for f in theirs)


async def test_cancel_one_then_cancel_all_markets(harness: Harness) -> None:
    sim = await harness.sim()
    client = await harness.client(sim)
    seen = Recorder(client)

    first = await place(client, BTC, "Bid", "Limit", Decimal("0.001"), Decimal("95000"))
    second = await place(client, BTC, "Ask", "Limit", Decimal("0.002"), Decimal("99000"))
    third = await place(client, ETH, "Bid", "Limit", Decimal("0.5"), Decimal("3500"))
    ids = {first.id, second.id, third.id}
    await until(lambda: len(seen.events("orderAccepted")) == 3, "three orderAccepted updates")
    assert set(client.open_orders) == ids
    assert {o.id for o in await client.rest.open_orders()} == ids

    cancelled = await client.cancel_order(BTC, first.id)
    assert (cancelled.id, cancelled.status) == (first.id, "Cancelled")
    assert first.id not in client.open_orders
    await until(lambda: seen.events("orderCancelled", first.id), "orderCancelled for the first")
    assert first.id not in client.open_orders
    assert {o.id for o in await client.rest.open_orders()} == {second.id, third.id}

    everything = await client.cancel_all(None)
    assert {o.id for o in everything} == {second.id, third.id}
    assert {o.status for o in everything} == {"Cancelled"}
    assert client.open_orders == {}
    await until(lambda: len(seen.events("orderCancelled")) == 3, "orderCancelled for the rest")
    assert client.open_orders == {}
    assert await client.rest.open_orders() == []
    # A stream-driven re-read agrees with what the cancels left behind.
    await client.refresh_account()
    assert client.open_orders == {}


async def test_market_order_position_and_realised_pnl(harness: Harness) -> None:
    sim = await harness.sim()
    client = await harness.client(sim)
    seen = Recorder(client)
    maker = await harness.rest(sim, sim.create_account())
    mark = (await client.rest.mark_prices(BTC))[0].mark_price
    assert mark == Decimal("97000")
    start_value = (await client.rest.collateral()).assets_value

    await maker.execute_order(
        {"symbol": BTC, "side": "Ask", "orderType": "Limit", "quantity": "0.02", "price": "97100"}
    )
    bought = await place(client, BTC, "Bid", "Market", Decimal("0.02"))
    assert (bought.status, bought.executed_quantity) == ("Filled", Decimal("0.02"))
    await until(lambda: BTC in client.positions, "the position from the stream")

    streamed = client.positions[BTC]
    [rest_position] = await client.rest.positions(BTC)
    expected_upnl = (mark - Decimal("97100")) * Decimal("0.02")
    for position in (streamed, rest_position):
        assert position.net_quantity == Decimal("0.02")
        assert position.entry_price == Decimal("97100")
        assert position.mark_price == mark
        assert position.pnl_unrealized == expected_upnl == Decimal("-2")
        assert position.pnl_realized == 0
    assert streamed.position_id == rest_position.position_id

    # Close reduce-only into a higher bid: +200 per BTC on 0.02.
    await maker.execute_order(
        {"symbol": BTC, "side": "Bid", "orderType": "Limit", "quantity": "0.02", "price": "97300"}
    )
    closed = await place(client, BTC, "Ask", "Market", Decimal("0.02"), reduce_only=True)
    assert (closed.status, closed.reduce_only) == ("Filled", True)
    await until(lambda: BTC not in client.positions, "the position to close on the stream")
    last = seen.positions[-1]
    assert (last.symbol, last.net_quantity) == (BTC, Decimal(0))
    realised = (Decimal("97300") - Decimal("97100")) * Decimal("0.02")
    assert last.pnl_realized == realised == Decimal("4")
    assert await client.rest.positions() == []

    fees = (Decimal("97100") + Decimal("97300")) * Decimal("0.02") * TAKER_FEE
    assert sum(Decimal(f.raw["n"]) for f in seen.fills) == fees
    funding = sum((p.quantity for p in await client.rest.funding_history()), Decimal(0))

    async def settled() -> bool:
        value = (await client.rest.collateral()).assets_value
        return value - start_value == realised - fees + funding

    await eventually(settled, "collateral to move by realised PnL minus fees")
    # The client's own poller catches up too (balances have no stream).
    await until(
        lambda: (
            client.collateral is not None
            and client.collateral.assets_value - start_value == realised - fees + funding
        ),
        "the client's collateral cache",
        timeout=10,
    )


async def test_order_closed_on_the_stream_before_its_rest_answer_stays_closed(
    harness: Harness,
) -> None:
    """The stream often beats the REST answer; a late answer must not revive an order.

    The client's HTTP session holds the answer to our placement (a slow REST path) until
    the stream has reported the order filled by another account, then lets it through.
    """
    sim = await harness.sim()
    seller = await harness.rest(sim, sim.create_account())
    release: list[Callable[[], Awaitable[None]]] = []

    async def hold_order_answer(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if params.method == "POST" and params.url.path == "/api/v1/order" and release:
            await release.pop()()

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(hold_order_answer)
    session = aiohttp.ClientSession(trace_configs=[trace])
    try:
        rest = RestClient(sim.rest_url, Signer(sim.demo.api_secret), session=session)
        client = await harness.client(sim, rest=rest)
        seen = Recorder(client)

        async def fill_it_first() -> None:
            await seller.execute_order(
                {"symbol": BTC, "side": "Ask", "orderType": "Market", "quantity": "0.01"}
            )
            await until(lambda: seen.events("orderFill"), "the fill on the stream")

        release.append(fill_it_first)
        placed = await place(client, BTC, "Bid", "Limit", Decimal("0.01"), Decimal("96000"))
        assert placed.status == "New"  # the answer describes the order as it was placed
        [fill] = seen.events("orderFill", placed.id)
        assert fill.status == "Filled"
        assert await client.rest.open_orders() == []
        assert placed.id not in client.open_orders, "a filled order came back as open"
    finally:
        await session.close()
