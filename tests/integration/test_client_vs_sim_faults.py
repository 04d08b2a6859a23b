"""Every fault the local exchange can inject, handled by the real client as issue [1]
specifies: reconnect + resubscribe, resync on a depth gap, backoff on 429, and no
duplicate order after a placement whose answer was lost.

These run with the market maker on (deep books) and the market paused; a test steps
the market by hand when it needs depth traffic.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from types import SimpleNamespace

import aiohttp
import pytest

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import RateLimitError, UnknownOrderOutcome
from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from bpx_tui.exchange.stream import ConnectionState
from bpx_tui.exchange.transport import TransportName
from bpx_tui.sim.server import SimServer
from tests.conftest import eventually, until
from tests.integration.conftest import (
    BTC,
    Harness,
    Recorder,
    book_rows,
    on_both_transports,
    place,
    rest_rows,
    wait_subscribed,
)

BOOK_LEVELS = 40


async def step_until(
    sim: SimServer, predicate: Callable[[], object], what: str, timeout: float = 5.0
) -> None:
    """Step the market until ``predicate()``: a paused market sends no depth deltas.

    One step moves one market in turn, so a round of steps touches every market once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        sim.step(len(sim.engine.symbols))
        await asyncio.sleep(0.03)


async def book_matches_exchange(client: BackpackClient, symbol: str) -> None:
    """The client's book ends equal, level for level, to the exchange's REST depth."""

    async def same() -> bool:
        return book_rows(client, symbol) == rest_rows(await client.rest.depth(symbol, 1000))

    await eventually(same, f"the {symbol} book to equal the exchange's depth")
    bids, asks = book_rows(client, symbol)
    assert len(bids) > 10 and len(asks) > 10  # a real book, not two empty lists


def own_orders(sim: SimServer, client_id: int) -> list[dict[str, object]]:
    """Every order of the demo account with ``client_id``, resting or finished."""
    history = sim.engine.order_history(sim.demo.account_id, {"symbol": BTC, "limit": "1000"})
    return [row for row in history if row["clientId"] == client_id]


@on_both_transports
async def test_drop_reconnects_resubscribes_and_resyncs(
    harness: Harness, ws_transport: TransportName
) -> None:
    sim = await harness.sim(book_levels=BOOK_LEVELS)
    client = await harness.client(sim, symbols=[BTC])
    assert client.stream.transport == ws_transport  # the parameter reached the socket
    seen = Recorder(client)
    await step_until(sim, lambda: client.books[BTC].synced, "the first book sync")
    seen.book_states.clear()

    assert await sim.drop_connections() == 1
    await until(lambda: ConnectionState.RECONNECTING in seen.states, "RECONNECTING")
    await until(
        lambda: seen.states[-1] is ConnectionState.CONNECTED, "CONNECTED after RECONNECTING"
    )
    assert seen.states.index(ConnectionState.RECONNECTING) < len(seen.states) - 1
    assert client.stream.reconnects == 1
    await wait_subscribed(sim, sim.demo, [BTC])  # public and signed private streams again

    await step_until(sim, lambda: client.books[BTC].synced, "the book to resync")
    # The book was thrown away on reconnect (deltas were missed) and synced afresh.
    assert seen.book_states[0] == (BTC, False)
    assert seen.book_states[-1] == (BTC, True)
    await book_matches_exchange(client, BTC)

    # The private stream really is live again: a new order produces its updates.
    order = await place(client, BTC, "Bid", "Limit", Decimal("0.001"), Decimal("90000"))
    await until(lambda: seen.events("orderAccepted", order.id), "orderAccepted after reconnect")
    await client.cancel_order(BTC, order.id)
    await until(lambda: seen.events("orderCancelled", order.id), "orderCancelled after reconnect")
    assert client.open_orders == {}


@on_both_transports
async def test_depth_gap_is_detected_and_resynced(harness: Harness) -> None:
    sim = await harness.sim(book_levels=BOOK_LEVELS)
    client = await harness.client(sim, symbols=[BTC])
    book = client.books[BTC]
    await step_until(sim, lambda: book.synced, "the first book sync")
    await book_matches_exchange(client, BTC)
    assert book.resyncs == 0

    sim.skip_depth(BTC, 1)
    await step_until(sim, lambda: book.resyncs == 1, "the gap to be detected")
    await step_until(sim, lambda: book.synced, "the book to sync from a fresh snapshot")
    await book_matches_exchange(client, BTC)
    assert book.resyncs == 1


@pytest.fixture
async def traced_session() -> AsyncIterator[SimpleNamespace]:
    """An HTTP session that records the status of every answer it received."""
    statuses: list[int] = []

    async def on_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        statuses.append(params.response.status)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield SimpleNamespace(session=session, statuses=statuses)


async def test_429_on_a_get_waits_retry_after_and_retries(
    harness: Harness, traced_session: SimpleNamespace
) -> None:
    sim = await harness.sim()
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(seconds)

    rest = RestClient(
        sim.rest_url, Signer(sim.demo.api_secret), session=traced_session.session, sleep=sleep
    )
    await rest.sync_clock()
    statuses: list[int] = traced_session.statuses
    statuses.clear()

    sim.throttle(1, "/api/v1/capital", retry_after=0.2)
    balances = await rest.balances()
    assert balances["USDC"].available == Decimal("100000")
    assert statuses == [429, 200]  # the exchange saw exactly two requests
    assert delays == [0.2]  # and the client waited what Retry-After said

    # A mutation is never retried blindly: the 429 comes back to the caller, once.
    statuses.clear()
    sim.throttle(1, "/api/v1/order", retry_after=0.2)
    payload = {"symbol": BTC, "side": "Bid", "orderType": "Limit", "quantity": "0.001"}
    with pytest.raises(RateLimitError) as refused:
        await rest.execute_order({**payload, "price": "90000", "clientId": 31})
    assert refused.value.retry_after == 0.2
    assert statuses == [429]
    assert own_orders(sim, 31) == []


async def fault_client(harness: Harness, sim: SimServer, max_retries: int = 4) -> BackpackClient:
    """A client whose REST calls give up after 1.5 s, so a hung placement times out."""
    signer = Signer(sim.demo.api_secret)
    rest = RestClient(sim.rest_url, signer, timeout=1.5, max_retries=max_retries)
    return await harness.client(sim, rest=rest)


async def test_hung_placement_is_found_by_client_id_not_resent(harness: Harness) -> None:
    sim = await harness.sim(book_levels=BOOK_LEVELS)
    client = await fault_client(harness, sim)
    seen = Recorder(client)

    sim.fail_next_order("hang", hang_seconds=10)
    order = await place(
        client, BTC, "Bid", "Limit", Decimal("0.001"), Decimal("90000"), client_id=4242
    )
    assert (order.client_id, order.status, order.price) == (4242, "New", Decimal("90000"))
    [row] = own_orders(sim, 4242)  # exactly one order exists: nothing was re-sent
    assert row["id"] == order.id
    assert [o.id for o in await client.rest.open_orders(BTC)] == [order.id]
    await until(lambda: seen.events("orderAccepted", order.id), "the order's update")
    assert len(seen.events("orderAccepted")) == 1
    assert order.id in client.open_orders


async def test_503_on_a_filled_market_order_is_found_in_history(harness: Harness) -> None:
    sim = await harness.sim(book_levels=BOOK_LEVELS)
    client = await fault_client(harness, sim)

    sim.fail_next_order("error", 503)
    order = await place(client, BTC, "Bid", "Market", Decimal("0.001"), client_id=777)
    assert (order.client_id, order.status) == (777, "Filled")
    assert order.executed_quantity == Decimal("0.001")
    [row] = own_orders(sim, 777)
    assert row["id"] == order.id
    fills = await client.rest.fill_history(symbol=BTC)
    assert {f.order_id for f in fills} == {order.id}
    assert sum(f.quantity for f in fills) == Decimal("0.001")  # bought once, not twice
    await until(lambda: BTC in client.positions, "the position")
    assert client.positions[BTC].net_quantity == Decimal("0.001")


async def test_unknown_outcome_only_when_the_lookup_cannot_tell(harness: Harness) -> None:
    sim = await harness.sim(book_levels=BOOK_LEVELS)
    client = await fault_client(harness, sim, max_retries=1)

    sim.fail_next_order("hang", hang_seconds=10)
    placing = asyncio.create_task(
        place(client, BTC, "Bid", "Limit", Decimal("0.001"), Decimal("90000"), client_id=99)
    )

    async def accepted() -> bool:
        return bool(own_orders(sim, 99))

    await eventually(accepted, "the exchange to accept the order")
    sim.throttle(100, "/api/v1/order", retry_after=0)  # the lookup by clientId now fails too
    with pytest.raises(UnknownOrderOutcome) as unknown:
        await placing
    assert unknown.value.client_id == 99
    sim.faults.clear()
    assert len(own_orders(sim, 99)) == 1
    [resting] = await client.rest.open_orders(BTC)
    assert resting.client_id == 99


@on_both_transports
async def test_fill_missed_while_disconnected_is_recovered_on_reconnect(harness: Harness) -> None:
    sim = await harness.sim()
    client = await harness.client(sim)
    seen = Recorder(client)
    seller = sim.create_account()
    order = await place(client, BTC, "Bid", "Limit", Decimal("0.01"), Decimal("96000"))
    await until(lambda: seen.events("orderAccepted", order.id), "orderAccepted")

    assert await sim.drop_connections() == 1
    # Filled while the client is away (no await in between: it cannot have reconnected),
    # so the private updates for it go nowhere.
    sim.engine.execute_order(
        seller.account_id,
        {"symbol": BTC, "side": "Ask", "orderType": "Market", "quantity": "0.01"},
    )
    await until(
        lambda: (
            ConnectionState.RECONNECTING in seen.states
            and seen.states[-1] is ConnectionState.CONNECTED
        ),
        "the reconnect",
    )
    await until(
        lambda: order.id not in client.open_orders and BTC in client.positions,
        "the account re-read after the reconnect",
    )
    assert seen.events("orderFill", order.id) == []  # it really was missed on the stream
    position = client.positions[BTC]
    assert (position.net_quantity, position.entry_price) == (Decimal("0.01"), Decimal("96000"))
