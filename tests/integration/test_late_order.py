"""A placement that reaches the exchange after the client stopped waiting is found, not lost.

A TCP proxy in front of the local exchange holds every ``POST /api/v1/order`` for 3.5 s
against a client that waits 2 s: the client's answer is lost while the request is still
on its way, and the order only rests after the first lookups have found nothing. The one
send path must say "outcome unknown", keep looking, and hand back the order — one order
on the exchange, never "not placed".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal

import pytest

from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from tests.conftest import until
from tests.integration.conftest import BTC, Harness, place

HOLD_S = 3.5
CLIENT_TIMEOUT_S = 2.0


class HoldingProxy:
    """Forwards bytes both ways; a chunk that starts an order placement waits first."""

    def __init__(self, port: int) -> None:
        self.upstream_port = port
        self.held = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def upward() -> None:
            while data := await reader.read(65536):
                if b"POST /api/v1/order " in data:
                    self.held += 1
                    await asyncio.sleep(HOLD_S)  # the request is late, not lost
                up_writer.write(data)
                await up_writer.drain()

        async def downward() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()

        with contextlib.suppress(OSError, ConnectionError):
            await asyncio.gather(upward(), downward())
        for end in (writer, up_writer):
            end.close()


async def test_an_order_that_lands_late_is_reported_unknown_then_found(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sim = await harness.sim(book_levels=40)
    proxy = HoldingProxy(int(sim.rest_url.rsplit(":", 1)[1]))
    url = await proxy.start()
    try:
        rest = RestClient(url, Signer(sim.demo.api_secret), timeout=CLIENT_TIMEOUT_S)
        client = await harness.client(sim, rest=rest, symbols=[BTC])
        await until(lambda: client.books[BTC].synced, "the book")
        best = client.books[BTC].best_bid_price()
        assert best is not None
        price = best - 50 * client.market(BTC).tick_size

        order = await place(client, BTC, "Bid", "Limit", Decimal("0.001"), price)

        assert proxy.held == 1
        assert order.status == "New" and order.client_id is not None
        assert "outcome is unknown" in caplog.text  # the answer was lost first...
        assert "open (resting as" in caplog.text  # ...and the order found afterwards
        history = sim.engine.order_history(sim.demo.account_id, {"symbol": BTC, "limit": "100"})
        ours = [row for row in history if row["clientId"] == order.client_id]
        assert [row["id"] for row in ours] == [order.id]  # exactly one order, never re-sent
    finally:
        await proxy.close()
