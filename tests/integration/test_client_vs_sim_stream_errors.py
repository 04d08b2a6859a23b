"""Stream errors reach the client's consumers, over real sockets to the local exchange.

A refused private subscription must not leave the caches silently stale: the client
says so (``StreamRefused``), polls orders, positions and balances by REST until a later
private subscription holds (``StreamRestored``), and then stops. A silent connection
is found by the client's own pings and replaced.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from bpx_tui.exchange.client import PRIVATE_STREAMS, BackpackClient
from bpx_tui.exchange.events import ConnectionChanged, StreamRefused, StreamRestored
from bpx_tui.exchange.stream import ConnectionState
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from bpx_tui.sim.wire.websocket import INVALID_SIGNATURE, PRIVATE_REFUSED_MESSAGE
from tests.conftest import until
from tests.integration.conftest import (
    BTC,
    SEED,
    Harness,
    on_both_transports,
    place,
    wait_subscribed,
)


def unstarted(harness: Harness, sim: SimServer, **options: Any) -> BackpackClient:
    """A client for the demo account that the test starts itself, so its handlers see
    start-up, and that is not awaited on the server (a refused subscription never shows
    there)."""
    demo = sim.demo
    options.setdefault("ws_transport", harness.ws_transport)
    client = BackpackClient(sim.rest_url, sim.ws_url, demo.api_key, demo.api_secret, **options)
    harness.clients.append(client)
    return client


@on_both_transports
async def test_refused_private_stream_polls_the_account_until_it_is_back(
    harness: Harness,
) -> None:
    sim = await harness.sim()
    sim.refuse_private(1)
    # A long retry: the stream comes back only by the reconnect below.
    client = unstarted(harness, sim, private_settle=0.3, private_retry=600)
    refusals: list[StreamRefused] = []
    restored: list[StreamRestored] = []
    client.subscribe(StreamRefused, refusals.append)
    client.subscribe(StreamRestored, restored.append)
    await client.start()

    await until(lambda: refusals, "the refusal")
    assert refusals == [StreamRefused(PRIVATE_STREAMS, INVALID_SIGNATURE, PRIVATE_REFUSED_MESSAGE)]
    assert refusals[0].private
    assert client.account_stream_refused == PRIVATE_REFUSED_MESSAGE
    assert not any(sim.hub.subscribers(s, sim.demo.account_id) for s in PRIVATE_STREAMS)

    # Our resting bid, filled by another account: no stream update can tell the client.
    placed = await place(client, BTC, "Bid", "Limit", Decimal("0.01"), Decimal("96000"))
    assert placed.id in client.open_orders
    seller = await harness.rest(sim, sim.create_account())
    await seller.execute_order(
        {"symbol": BTC, "side": "Ask", "orderType": "Limit", "quantity": "0.01", "price": "96000"}
    )
    reads = client.fallback_reads
    await until(lambda: client.fallback_reads >= reads + 2, "two fallback reads", timeout=10)
    # At most two polls after the fill (one may have been in flight when it happened).
    assert placed.id not in client.open_orders
    assert client.positions[BTC].net_quantity == Decimal("0.01")

    # A reconnect re-sends the private subscription; this time it is accepted.
    assert await sim.drop_connections() == 1
    await until(lambda: restored, "the stream to be restored", timeout=10)
    assert restored == [StreamRestored(PRIVATE_STREAMS)]
    assert client.account_stream_refused is None
    await wait_subscribed(sim, sim.demo, [])

    # The ordinary poll goes on; the fallback one does not.
    client.account_poll_s = 0.05
    after = client.account_reads
    await until(lambda: client.account_reads >= after + 1, "a poll after the restore")
    fallback = client.fallback_reads  # a poll in flight at the restore is over now
    after = client.account_reads
    await until(lambda: client.account_reads >= after + 3, "three more polls")
    assert client.fallback_reads == fallback
    assert len(refusals) == 1


@on_both_transports
async def test_a_refused_private_stream_is_retried_on_the_same_connection(
    harness: Harness,
) -> None:
    sim = await harness.sim()
    sim.refuse_private(2)
    client = unstarted(harness, sim, private_settle=0.2, private_retry=0.2)
    refusals: list[StreamRefused] = []
    restored: list[StreamRestored] = []
    states: list[ConnectionState] = []
    client.subscribe(StreamRefused, refusals.append)
    client.subscribe(StreamRestored, restored.append)
    client.subscribe(ConnectionChanged, lambda event: states.append(event.state))
    await client.start()

    await until(lambda: restored, "the retried subscription to hold", timeout=10)
    assert [r.streams for r in refusals] == [PRIVATE_STREAMS, PRIVATE_STREAMS]
    assert client.stream.reconnects == 0
    assert ConnectionState.RECONNECTING not in states
    await wait_subscribed(sim, sim.demo, [])
    assert client.account_stream_refused is None


@on_both_transports
async def test_an_unknown_public_stream_is_reported_without_touching_the_account(
    harness: Harness,
) -> None:
    sim = await harness.sim()
    client = await harness.client(sim)
    refusals: list[StreamRefused] = []
    client.subscribe(StreamRefused, refusals.append)

    client.stream.subscribe(["depth.NOPE_USDC"])
    await until(lambda: refusals, "the refusal")
    assert refusals == [StreamRefused((), 4006, "Invalid stream")]
    assert not refusals[0].private
    assert client.account_stream_refused is None


@on_both_transports
async def test_a_silent_connection_is_found_by_its_pings_and_replaced(harness: Harness) -> None:
    sim = await harness.sim()
    client = unstarted(harness, sim, silence_timeout=1.0)
    states: list[tuple[ConnectionState, str | None]] = []
    client.subscribe(ConnectionChanged, lambda event: states.append((event.state, event.reason)))
    await client.start([BTC])
    await wait_subscribed(sim, sim.demo, [BTC])

    sim.go_silent(2.0)  # no data, no pings, no pongs
    await until(
        lambda: any(state is ConnectionState.RECONNECTING for state, _ in states),
        "the silent connection to be dropped",
    )
    reason = next(r for s, r in states if s is ConnectionState.RECONNECTING)
    assert reason is not None and "no data or pong" in reason
    await until(lambda: client.connection is ConnectionState.CONNECTED, "the reconnect", timeout=15)
    assert client.stream.reconnects >= 1
    await wait_subscribed(sim, sim.demo, [BTC])


@on_both_transports
async def test_a_quiet_but_live_connection_is_kept(harness: Harness) -> None:
    """No data at all (paused market, no public streams) but pings answered: the
    watchdog's probes get their pongs, so nothing is torn down."""
    # Timeouts with room for a loaded 2-core machine: a starved loop answering a ping
    # late is not what this checks.
    sim = SimServer(SimConfig(seed=SEED), rate=0, ping_interval=0.2, pong_timeout=2.0)
    harness.sims.append(sim)
    await sim.start()
    client = unstarted(harness, sim, silence_timeout=1.5)
    states: list[ConnectionState] = []
    client.subscribe(ConnectionChanged, lambda event: states.append(event.state))
    await client.start()
    await wait_subscribed(sim, sim.demo, [])
    messages = client.stream.messages

    await asyncio.sleep(4.5)  # three silence timeouts of nothing but pings and pongs
    assert client.stream.messages == messages  # truly no frames arrived
    assert client.stream.reconnects == 0
    assert states == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
