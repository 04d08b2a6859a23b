"""A lost answer is settled by one owner: found, proven absent after the window, or unknown.

Over real loopback sockets against the recording fake exchange: what was asked, how
often, and what the caller is told. The late order (the request reaches the engine
after the client gave up waiting) is the case that matters: it must be found, never
called "not placed".
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import OrderNotPlaced, ReplaceAborted, UnknownOrderOutcome
from bpx_tui.exchange.models import Market
from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from bpx_tui.trading.dispatch import OrderDispatch
from bpx_tui.trading.order import NewOrder, OrderIntent, build_order
from bpx_tui.trading.outcome import local_ms
from tests.conftest import load_fixture
from tests.fakes.rest_server import TEST_SECRET, FakeRestServer

D = Decimal
BTC = "BTC_USDC_PERP"
MARKET = next(Market.from_api(m) for m in load_fixture("rest_markets.json") if m["symbol"] == BTC)
WINDOW_MS = 400  # a short signature window keeps "until it can no longer execute" short


@pytest.fixture
async def server() -> AsyncIterator[FakeRestServer]:
    async with FakeRestServer() as fake:
        yield fake


@pytest.fixture
async def client(server: FakeRestServer) -> AsyncIterator[BackpackClient]:
    signer = Signer(TEST_SECRET, window=WINDOW_MS)
    rest = RestClient(server.url, signer, max_retries=1, timeout=1.0, backoff_base=0.01)
    async with BackpackClient(
        server.url, "ws://127.0.0.1:9", api_secret=TEST_SECRET, rest=rest
    ) as never_started:
        yield never_started


def dispatch(client: BackpackClient) -> OrderDispatch:
    return OrderDispatch(client, settle_waits=(0.05, 0.1), grace_ms=0)


def order(kind: str = "Limit") -> NewOrder:
    price = D("96000") if kind == "Limit" else None
    intent = OrderIntent(BTC, "Bid", kind, quantity=D("0.01"), price=price)  # type: ignore[arg-type]
    return build_order(intent, MARKET)


def lookups(server: FakeRestServer) -> tuple[int, int]:
    return len(server.calls("GET", "/api/v1/order")), len(
        server.calls("GET", "/wapi/v1/history/orders")
    )


async def test_accepted_then_503_is_found_resting(
    client: BackpackClient, server: FakeRestServer
) -> None:
    server.accept_then_fail("POST", "/api/v1/order", status=503)
    placed = await dispatch(client).send(order())
    assert placed.id == server.state.placed[0]["id"] and placed.status == "New"
    assert len(server.calls("POST", "/api/v1/order")) == 1  # never re-sent
    [lookup] = server.calls("GET", "/api/v1/order")
    assert lookup.verified and lookup.query == {"symbol": BTC, "clientId": str(placed.client_id)}
    assert placed.id in client.open_orders  # adopted like an answered order


async def test_accepted_then_timeout_is_found_in_history(
    client: BackpackClient, server: FakeRestServer
) -> None:
    server.accept_then_fail("POST", "/api/v1/order", hang=True)
    placed = await dispatch(client).send(order("Market"))
    assert placed.status == "Filled" and placed.id == server.state.placed[0]["id"]
    assert lookups(server) == (1, 1)


async def test_a_late_order_is_found_not_called_absent(
    client: BackpackClient, server: FakeRestServer
) -> None:
    """The exchange had not executed it yet when the first lookups ran."""
    server.fail("POST", "/api/v1/order", status=503)  # refused now...
    sent: list[dict[str, Any]] = []

    async def lands_late() -> None:
        while not server.calls("POST", "/api/v1/order"):  # noqa: ASYNC110 - polls the fake
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.25)  # ...and executed later, inside its window
        body = server.calls("POST", "/api/v1/order")[0].json()
        sent.append(body)
        resting = {**copy.deepcopy(server.state.resting[0]), "id": "9001"}
        resting.update(clientId=body["clientId"], createdAt=local_ms())
        server.state.resting.append(resting)

    landing = asyncio.create_task(lands_late())
    placed = await dispatch(client).send(order())
    await landing
    assert placed.id == "9001" and placed.client_id == sent[0]["clientId"]
    open_lookups, _ = lookups(server)
    assert open_lookups >= 2  # "not found" at first did not end it


async def test_absent_only_once_the_request_can_no_longer_execute(
    client: BackpackClient, server: FakeRestServer
) -> None:
    server.fail("POST", "/api/v1/order", status=503)
    started = local_ms()
    with pytest.raises(OrderNotPlaced, match="was not placed") as info:
        await dispatch(client).send(order())
    assert local_ms() - started >= WINDOW_MS
    assert "SERVER_ERROR" in str(info.value)  # the cause is kept
    assert server.state.placed == []
    assert lookups(server)[0] >= 2


async def test_old_orders_reusing_the_client_id_are_not_taken_for_ours(
    client: BackpackClient, server: FakeRestServer
) -> None:
    desk = dispatch(client)
    cid = 424242
    old = {**load_fixture("rest_history_orders.json")[0], "clientId": cid}
    server.state.history.insert(0, old)  # created 2025-11-23, long before this attempt
    server.fail("POST", "/api/v1/order", status=503)
    with pytest.raises(OrderNotPlaced):  # the only match is someone older
        await desk.send(order().with_client_id(cid))

    server.state.resting.append({**load_fixture("rest_orders_open.json")[0], "clientId": cid})
    server.fail("POST", "/api/v1/order", status=503)
    with pytest.raises(UnknownOrderOutcome, match="older resting order"):
        await desk.send(order().with_client_id(cid))
    assert len(server.calls("POST", "/api/v1/order")) == 2


@pytest.mark.parametrize("broken", ["/api/v1/order", "/wapi/v1/history/orders"])
async def test_a_lookup_that_keeps_failing_leaves_the_outcome_unknown(
    client: BackpackClient, server: FakeRestServer, broken: str
) -> None:
    server.accept_then_fail("POST", "/api/v1/order", status=503)
    server.fail("GET", broken, status=500, times=None)
    with pytest.raises(UnknownOrderOutcome) as info:
        await dispatch(client).send(order("Market"))
    assert info.value.symbol == BTC and info.value.client_id is not None
    assert "lookup failed" in str(info.value)
    assert len(server.calls("POST", "/api/v1/order")) == 1
    assert len(server.calls("GET", broken)) >= 4  # looked again (each a retried GET)


async def test_cancel_replace_cancels_first_and_stops_when_the_cancel_fails(
    client: BackpackClient, server: FakeRestServer
) -> None:
    resting = server.state.resting[0]
    replacement = build_order(
        OrderIntent(
            BTC, "Bid", "Limit", quantity=D("0.01"), price=D("96100"), replaces=resting["id"]
        ),
        MARKET,
    )
    placed = await dispatch(client).send(replacement)
    assert [r.method for r in server.requests if r.path.endswith("/order")] == ["DELETE", "POST"]
    assert placed.price == D("96100")
    with pytest.raises(Exception, match="Order not found"):
        await dispatch(client).send(replacement)  # the old one is gone: nothing is sent
    assert len(server.calls("POST", "/api/v1/order")) == 1


async def test_a_replacement_of_another_size_than_the_cancelled_rest_is_not_placed(
    client: BackpackClient, server: FakeRestServer
) -> None:
    """The cancel's answer is the truth about the old order: if its unfilled size is not
    the replacement's (it filled while being moved), placing would trade too much."""
    resting = server.state.resting[0]
    replacement = build_order(
        OrderIntent(
            BTC, "Bid", "Limit", quantity=D("0.02"), price=D("96100"), replaces=resting["id"]
        ),
        MARKET,
    )
    with pytest.raises(ReplaceAborted, match="filled while being moved"):
        await dispatch(client).send(replacement)
    assert len(server.calls("DELETE", "/api/v1/order")) == 1
    assert server.calls("POST", "/api/v1/order") == []
