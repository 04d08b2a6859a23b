"""The real client against the real local exchange, over loopback sockets.

Nothing here is a fake: every test starts a :class:`SimServer` on 127.0.0.1 port 0 and
talks to it with a :class:`BackpackClient` (REST + one WebSocket) or a bare
:class:`RestClient`, exactly as the console does. The synthetic market is paused
(``rate=0``) so the only trades are the ones a test makes, and prices move only when a
test pins an index; the exchange clock runs (signatures stay valid) and a test moves it
forward with ``sim.clock.advance`` when it needs time to pass (funding).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any

import pytest

from bpx_tui.exchange.client import PRIVATE_STREAMS, BackpackClient
from bpx_tui.exchange.events import (
    BookStateChanged,
    ConnectionChanged,
    ErrorReported,
    OrderFilled,
    OrderUpdated,
    PositionUpdated,
)
from bpx_tui.exchange.models import Order, Position
from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from bpx_tui.exchange.stream import ConnectionState
from bpx_tui.exchange.transport import DEFAULT_TRANSPORT, TRANSPORTS, TransportName
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import DemoAccount, SimServer
from bpx_tui.trading.dispatch import OrderDispatch
from bpx_tui.trading.order import OrderIntent, build_order
from tests.conftest import until

BTC = "BTC_USDC_PERP"
ETH = "ETH_USDC_PERP"
SEED = 11
MAKER_FEE = SimConfig().maker_fee
TAKER_FEE = SimConfig().taker_fee

on_both_transports = pytest.mark.parametrize("ws_transport", TRANSPORTS)
"""For tests of the stream's behaviour: they must hold on each WebSocket library (the
``ws_transport`` fixture below is overridden by this parameter)."""


async def place(
    client: BackpackClient,
    symbol: str,
    side: str,
    order_type: str,
    quantity: Decimal | None = None,
    price: Decimal | None = None,
    *,
    client_id: int | None = None,
    **terms: Any,
) -> Order:
    """One order the way every order goes: built once, sent by the one dispatch (which
    settles a lost answer by clientId)."""
    intent = OrderIntent(symbol, side, order_type, quantity, price=price, **terms)  # type: ignore[arg-type]
    order = build_order(intent, client.market(symbol))
    if client_id is not None:
        order = order.with_client_id(client_id)
    return await OrderDispatch(client).send(order)


class Recorder:
    """Everything one client's callbacks reported, in order.

    Only stream-borne order updates are kept in ``updates`` (they carry the event name
    ``e``); the copies the client emits for its own REST answers are not, so a test
    can tell "the exchange told us" from "we told ourselves".
    """

    def __init__(self, client: BackpackClient) -> None:
        self.updates: list[Order] = []
        self.fills: list[Order] = []
        self.positions: list[Position] = []
        self.states: list[ConnectionState] = []
        self.errors: list[str] = []
        self.book_states: list[tuple[str, bool]] = []  # (symbol, synced) on every change
        client.subscribe(OrderUpdated, self._order)
        client.subscribe(OrderFilled, lambda event: self.fills.append(event.order))
        client.subscribe(PositionUpdated, lambda event: self.positions.append(event.position))
        client.subscribe(ConnectionChanged, lambda event: self.states.append(event.state))
        client.subscribe(ErrorReported, lambda event: self.errors.append(event.message))
        client.subscribe(
            BookStateChanged, lambda event: self.book_states.append((event.symbol, event.synced))
        )

    def _order(self, event: OrderUpdated) -> None:
        if event.order.raw.get("e"):
            self.updates.append(event.order)

    def events(self, event: str, order_id: str | None = None) -> list[Order]:
        return [
            o
            for o in self.updates
            if o.raw.get("e") == event and (order_id is None or o.id == order_id)
        ]

    def fills_of(self, order_id: str) -> list[Order]:
        return [o for o in self.fills if o.id == order_id]


class Harness:
    """Creates servers and clients for one test and closes every one of them after it."""

    def __init__(self, ws_transport: TransportName = DEFAULT_TRANSPORT) -> None:
        self.ws_transport = ws_transport
        self.sims: list[SimServer] = []
        self.clients: list[BackpackClient] = []
        self.rests: list[RestClient] = []

    async def sim(self, *, book_levels: int = 0, funding_speedup: float = 1.0) -> SimServer:
        """A started exchange; ``book_levels=0`` leaves the books empty (no market maker)."""
        config = SimConfig(seed=SEED, book_levels=book_levels, funding_speedup=funding_speedup)
        server = SimServer(config, rate=0)
        self.sims.append(server)
        await server.start()
        return server

    async def rest(self, sim: SimServer, account: DemoAccount, **options: Any) -> RestClient:
        """A signed REST client for ``account`` with its clock synced to the exchange."""
        rest = RestClient(sim.rest_url, Signer(account.api_secret), **options)
        self.rests.append(rest)
        await rest.sync_clock()
        return rest

    async def client(
        self,
        sim: SimServer,
        account: DemoAccount | None = None,
        *,
        symbols: Iterable[str] = (),
        rest: RestClient | None = None,
    ) -> BackpackClient:
        """A started client whose private (and given public) streams are live on the server.

        ``start`` returns once the socket is open; the subscribe frames may still be in
        flight, and an order placed before the server has them would leave no update.
        """
        account = account or sim.demo
        client = BackpackClient(
            sim.rest_url,
            sim.ws_url,
            account.api_key,
            account.api_secret,
            rest=rest,
            ws_transport=self.ws_transport,
        )
        self.clients.append(client)
        symbols = list(symbols)
        await client.start(symbols)
        await wait_subscribed(sim, account, symbols)
        return client

    async def aclose(self) -> None:
        for client in self.clients:
            await client.close()
        for rest in self.rests:
            await rest.close()
        for server in self.sims:
            await server.stop()


async def wait_subscribed(sim: SimServer, account: DemoAccount, symbols: Iterable[str]) -> None:
    await until(
        lambda: (
            all(sim.hub.subscribers(s, account.account_id) for s in PRIVATE_STREAMS)
            and all(sim.hub.subscribers(f"depth.{s}") for s in symbols)
        ),
        "the server to hold the client's subscriptions",
    )


@pytest.fixture
def ws_transport() -> TransportName:
    """The default library; :data:`on_both_transports` runs a test on each."""
    return DEFAULT_TRANSPORT


@pytest.fixture
async def harness(ws_transport: TransportName) -> AsyncIterator[Harness]:
    h = Harness(ws_transport)
    try:
        yield h
    finally:
        await h.aclose()


def book_rows(client: BackpackClient, symbol: str) -> tuple[list[list[str]], list[list[str]]]:
    """The client's book as the exchange's text rows, best first."""
    book = client.books[symbol]
    bids = [[level.price_text, level.size_text] for level in book.bids(10_000)]
    asks = [[level.price_text, level.size_text] for level in book.asks(10_000)]
    return bids, asks


def rest_rows(raw: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    """A REST ``/depth`` body (both sides ascending) in the same best-first order."""
    return list(reversed(raw["bids"])), list(raw["asks"])
