"""``BackpackClient``: caches, callbacks, book sync and recovery, over loopback fakes."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import orjson
import pytest

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.events import (
    BookChanged,
    BookStateChanged,
    ConnectionChanged,
    ErrorReported,
    MarkUpdated,
    OrderFilled,
    OrdersRefreshed,
    OrderUpdated,
    PositionUpdated,
)
from bpx_tui.exchange.models import MarkPrice, Order, Position
from bpx_tui.exchange.stream import ConnectionState
from tests.conftest import load_fixture, until
from tests.fakes.rest_server import FakeRestServer
from tests.fakes.ws_server import FakeWsServer

KEY = load_fixture("signing_vectors.json")["key"]
BTC = "BTC_USDC_PERP"


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeRestServer, FakeWsServer]]:
    async with FakeRestServer() as rest, FakeWsServer() as ws:
        yield rest, ws


@pytest.fixture
async def client(servers: tuple[FakeRestServer, FakeWsServer]) -> AsyncIterator[BackpackClient]:
    rest, ws = servers
    c = BackpackClient(rest.url, ws.url, KEY["apiKeyBase64"], KEY["secretBase64"])
    yield c
    await c.close()


def depth(
    u_from: int, u_to: int, bids: list[list[str]] | None = None, asks: list[list[str]] | None = None
) -> dict[str, Any]:
    return {
        "e": "depth",
        "E": 1763900000200000,
        "s": BTC,
        "U": u_from,
        "u": u_to,
        "b": bids or [],
        "a": asks or [],
        "T": 1,
    }


async def synced_client(client: BackpackClient, ws: FakeWsServer) -> None:
    """Start, then feed the delta that continues the REST fixture snapshot until synced."""
    await client.start([BTC])
    await ws.wait_until(lambda: f"depth.{BTC}" in ws.subscribed())
    frame = load_fixture("ws_depth.json")
    await ws.push(frame["stream"], frame["data"])
    await until(lambda: client.books[BTC].synced, "book sync")


async def test_start_loads_markets_account_and_subscribes(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, ws = servers
    await client.start([BTC])
    assert set(client.markets) == {"SOL_USDC", BTC, "SOL_USDC_PERP"}
    assert set(client.open_orders) == {"6142011842", "6142011950"}
    assert client.positions[BTC].net_quantity == Decimal("0.02")
    assert client.positions["SOL_USDC_PERP"].side == "SHORT"
    assert client.balances["USDC"].available > 0 and client.collateral is not None
    await ws.wait_until(
        lambda: (
            {f"depth.{BTC}", f"markPrice.{BTC}", "account.orderUpdate", "account.positionUpdate"}
            <= ws.subscribed()
        )
    )
    private = [f for f in ws.subscribe_frames() if "signature" in f]
    assert private and set(private[0]["params"]) == {
        "account.orderUpdate",
        "account.positionUpdate",
    }
    assert any(r.path == "/api/v1/time" for r in rest.requests)  # clock synced before signing


async def test_book_syncs_from_snapshot_and_deltas(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    _, ws = servers
    updates: list[str] = []
    client.subscribe(BookChanged, lambda event: updates.append(event.symbol))
    await synced_client(client, ws)
    book = client.books[BTC]
    assert book.last_update_id == 2204871166
    assert updates and updates[-1] == BTC
    best_bid, best_ask = book.best_bid_price(), book.best_ask_price()
    assert best_bid is not None and best_ask is not None and best_bid < best_ask


async def test_gap_triggers_resync(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, ws = servers
    states: list[BookStateChanged] = []
    client.subscribe(BookStateChanged, states.append)
    await synced_client(client, ws)
    snapshots_before = sum(r.path == "/api/v1/depth" for r in rest.requests)
    await ws.push(f"depth.{BTC}", depth(2204871170, 2204871171, bids=[["97000.0", "1"]]))
    await until(lambda: client.books[BTC].resyncs == 1, "gap detection")
    assert not client.books[BTC].synced
    # The REST snapshot (2204871163) is now older than the buffer, so the client keeps
    # fetching; once a snapshot that lines up is served, the book is synced again.
    snapshot = load_fixture("rest_depth.json")
    snapshot["lastUpdateId"] = "2204871170"
    rest.respond("GET", "/api/v1/depth", snapshot)
    await ws.push(f"depth.{BTC}", depth(2204871172, 2204871172, asks=[["97013.0", "2"]]))
    await until(lambda: client.books[BTC].synced, "resync")
    assert sum(r.path == "/api/v1/depth" for r in rest.requests) > snapshots_before
    assert client.books[BTC].last_update_id == 2204871172
    # Went unsynced, came back: each change is announced with the state it reached.
    assert BookStateChanged(BTC, False) in states and states[-1] == BookStateChanged(BTC, True)


async def test_reconnect_resyncs_books_and_rereads_account(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, ws = servers
    seen: list[ConnectionChanged] = []
    client.subscribe(ConnectionChanged, seen.append)
    await synced_client(client, ws)
    account_reads = sum(r.path == "/api/v1/orders" and r.method == "GET" for r in rest.requests)
    await ws.drop_all()
    await until(lambda: not client.books[BTC].synced, "book reset on reconnect")
    await ws.wait_until(
        lambda: len(ws.connections) == 2 and f"depth.{BTC}" in ws.connections[1].streams
    )
    await until(lambda: client.connection is ConnectionState.CONNECTED, "reconnect")
    states = [change.state for change in seen]
    assert ConnectionState.RECONNECTING in states and states[-1] is ConnectionState.CONNECTED
    await until(
        lambda: (
            sum(r.path == "/api/v1/orders" and r.method == "GET" for r in rest.requests)
            > account_reads
        ),
        "account re-read",
    )
    frame = load_fixture("ws_depth.json")
    await ws.push(frame["stream"], frame["data"])
    await until(lambda: client.books[BTC].synced, "resync after reconnect")


async def test_order_and_position_updates_keep_caches(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    _, ws = servers
    orders: list[Order] = []
    fills: list[Order] = []
    positions: list[Position] = []
    client.subscribe(OrderUpdated, lambda event: orders.append(event.order))
    client.subscribe(OrderFilled, lambda event: fills.append(event.order))
    client.subscribe(PositionUpdated, lambda event: positions.append(event.position))
    await client.start([BTC])
    await ws.wait_until(lambda: "account.orderUpdate" in ws.subscribed())
    accepted = load_fixture("ws_account_orderUpdate_accepted.json")
    await ws.push(accepted["stream"], accepted["data"])
    order_id = accepted["data"]["i"]
    await until(lambda: order_id in client.open_orders, "order accepted")
    cancelled = load_fixture("ws_account_orderUpdate_cancelled.json")
    await ws.push(cancelled["stream"], cancelled["data"])
    await until(lambda: cancelled["data"]["i"] not in client.open_orders, "order cancelled")
    fill = load_fixture("ws_account_orderUpdate_fill.json")
    await ws.push(fill["stream"], fill["data"])
    await until(lambda: bool(fills), "fill callback")
    assert fills[0].executed_quantity == Decimal("0.02") and fills[0].status == "Filled"
    adjusted = load_fixture("ws_account_positionUpdate_adjusted.json")
    closed = copy.deepcopy(adjusted)
    closed["data"]["q"] = "0"
    symbol = adjusted["data"]["s"]
    # The client subscribes to the all-markets stream; the fixture shows the per-symbol one.
    await ws.push("account.positionUpdate", adjusted["data"])
    expected = Decimal(adjusted["data"]["q"])
    await until(
        lambda: symbol in client.positions and client.positions[symbol].net_quantity == expected,
        "position",
    )
    await ws.push("account.positionUpdate", closed["data"])
    await until(lambda: symbol not in client.positions, "position closed")
    assert positions[-1].net_quantity == 0


async def test_broken_callback_is_reported_and_feed_continues(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    _, ws = servers
    errors: list[str] = []
    marks: list[MarkPrice] = []

    def broken(_: MarkUpdated) -> None:
        raise RuntimeError("widget exploded")

    client.subscribe(MarkUpdated, broken)
    client.subscribe(MarkUpdated, lambda event: marks.append(event.mark))
    client.subscribe(ErrorReported, lambda event: errors.append(event.message))
    await client.start([BTC])
    await ws.wait_until(lambda: f"markPrice.{BTC}" in ws.subscribed())
    frame = load_fixture("ws_markPrice.json")
    for price in ("97000.1", "97000.2"):
        frame["data"]["p"] = price
        await ws.push(frame["stream"], frame["data"])
    await until(
        lambda: BTC in client.marks and client.marks[BTC].mark_price == Decimal("97000.2"), "marks"
    )
    pushed = [Decimal("97000.1"), Decimal("97000.2")]
    # Both pushed marks reached the second consumer although the first one raised each time.
    assert [m.mark_price for m in marks if m.mark_price in pushed] == pushed
    assert client.callback_errors >= 2
    assert any("widget exploded" in e for e in errors)


async def test_a_removed_handler_hears_nothing_more(client: BackpackClient) -> None:
    heard: list[OrdersRefreshed] = []
    remove = client.subscribe(OrdersRefreshed, heard.append)
    client.events.publish(OrdersRefreshed())
    remove()
    remove()  # twice is harmless
    client.events.publish(OrdersRefreshed())
    assert heard == [OrdersRefreshed()]


async def test_submit_sends_the_payload_as_it_is_and_caches_the_open_order(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    """The client checks nothing again: the order value already put it on the grid."""
    rest, _ = servers
    await client.start()
    payload = {
        "symbol": BTC,
        "side": "Bid",
        "orderType": "Limit",
        "quantity": "0.01234",
        "price": "96500",
        "postOnly": True,
        "clientId": 12,
    }
    order = await client.submit(payload)
    assert order.is_open and order.id in client.open_orders
    assert orjson.loads(next(r.body for r in rest.requests if r.method == "POST")) == payload


async def test_cancel_all_without_symbol_covers_every_market(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    await client.start()
    cancelled = await client.cancel_all()
    assert {o.id for o in cancelled} == {"6142011842", "6142011950"}
    assert client.open_orders == {}
    assert [orjson.loads(r.body) for r in rest.requests if r.method == "DELETE"] == [
        {"symbol": BTC}
    ]


async def test_cancel_all_answered_202_keeps_the_orders_until_a_re_read_finds_them_gone(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer], monkeypatch: Any
) -> None:
    """A 202 is "accepted, not yet done": the orders may still fill, so they stay."""
    monkeypatch.setattr("bpx_tui.exchange.client.CANCEL_CONFIRM_S", 0.05)
    rest, _ = servers
    await client.start()
    before = set(client.open_orders)
    assert before
    refreshed: list[OrdersRefreshed] = []
    client.subscribe(OrdersRefreshed, refreshed.append)
    rest.fail("DELETE", "/api/v1/orders", status=202, body=b"")
    assert await client.cancel_all(BTC) == []
    assert set(client.open_orders) == before  # nothing taken for gone on a 202
    rest.respond("GET", "/api/v1/orders", [])
    await until(lambda: not client.open_orders, "the re-read after the 202")
    assert len(refreshed) == 2  # the 202 itself, then the re-read that found them gone


async def test_public_only_client_needs_no_credentials(
    servers: tuple[FakeRestServer, FakeWsServer],
) -> None:
    rest, ws = servers
    async with BackpackClient(rest.url, ws.url) as public:
        await public.start([BTC])
        await ws.wait_until(lambda: f"ticker.{BTC}" in ws.subscribed())
        assert "account.orderUpdate" not in ws.subscribed()
        assert not any(r.instruction for r in rest.requests)


async def test_quiet_market_syncs_from_the_snapshot_alone(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    rest, _ = servers
    await client.start([BTC])
    # No depth message ever arrives: the book must still sync from REST.
    await until(lambda: client.books[BTC].synced, "snapshot-only sync", timeout=4.0)
    assert client.books[BTC].last_update_id == 2204871163
    assert any(r.path == "/api/v1/depth" for r in rest.requests)


async def test_the_fee_tier_is_read_at_start(
    client: BackpackClient, servers: tuple[FakeRestServer, FakeWsServer]
) -> None:
    """The preview's maker/taker fee comes from GET /account, not from defaults."""
    from bpx_tui.ui.ticket_model import fees_from_account

    await client.start()
    assert client.account_info["futuresMakerFee"] == "2"
    fees = fees_from_account(client.account_info, perp=True)
    assert (fees.maker, fees.taker, fees.known) == (Decimal("0.0002"), Decimal("0.0005"), True)
    spot = fees_from_account(client.account_info, perp=False)
    assert (spot.maker, spot.taker) == (Decimal("0.0008"), Decimal("0.001"))
