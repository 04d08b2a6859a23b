"""Helpers of the trading tests against the local exchange (fixtures: conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.events import OrderUpdated
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.order import NewOrder, OrderIntent, build_order

D = Decimal
BTC = "BTC_USDC_PERP"
SOL = "SOL_USDC_PERP"


async def eventually(
    condition: Callable[[], bool], what: str, sim: SimServer | None = None
) -> None:
    for _ in range(300):
        if condition():
            return
        if sim is not None:
            sim.step(1)
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def resting_bid(client: BackpackClient, symbol: str = BTC, qty: str = "0.01") -> NewOrder:
    """A limit bid 20 ticks under the best bid: rests, well inside the band."""
    book = client.books[symbol]
    best = book.best_bid_price()
    assert best is not None
    price = best - 20 * client.market(symbol).tick_size
    intent = OrderIntent(symbol, "Bid", "Limit", quantity=D(qty), price=price)
    return build_order(intent, client.market(symbol))


def market(client: BackpackClient, symbol: str, side: str, qty: str, **kw: Any) -> NewOrder:
    intent = OrderIntent(symbol, side, "Market", quantity=D(qty), **kw)  # type: ignore[arg-type]
    return build_order(intent, client.market(symbol))


def order_updates(client: BackpackClient) -> list[tuple[str, str]]:
    """(order id, status) of every order update the client publishes, in order."""
    seen: list[tuple[str, str]] = []
    client.subscribe(OrderUpdated, lambda e: seen.append((e.order.id, e.order.status)))
    return seen
