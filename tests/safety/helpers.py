"""A local exchange dressed up as a live one, and the console's screen as text.

The console must not know whether it talks to Backpack or to the sim (DESIGN.md
"Modes"): a live session here is just Settings with the sim's URLs and one of its
accounts' key pairs, run with ``live=True`` so loopback is not taken for the demo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from textual.pilot import Pilot

from bpx_tui.config import Secret, Settings
from bpx_tui.exchange.numbers import round_to_step
from bpx_tui.exchange.rest import RestClient
from bpx_tui.sim.server import DemoAccount, SimServer
from bpx_tui.ui.app import BpxApp

BTC = "BTC_USDC_PERP"
SIZE = (120, 40)


def live_settings(sim: SimServer, account: DemoAccount, **changes: Any) -> Settings:
    """What ``load_settings`` would build from a config naming the sim as the exchange."""
    values: dict[str, Any] = {
        "api_key": account.api_key,
        "api_secret": Secret(account.api_secret),
        "base_url": sim.rest_url,
        "ws_url": sim.ws_url,
        "watchlist": (BTC,),
    }
    values.update(changes)
    return Settings(**values)


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], object], what: str, timeout: float = 10.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.03)


async def wait_console(pilot: Pilot[Any]) -> BpxApp:
    """Until the console is up (live or demo) with the active market's book live."""
    app = pilot.app
    assert isinstance(app, BpxApp)

    def up() -> bool:
        client = app.client
        book = client.books.get(app.active) if client is not None else None
        return app.ready and book is not None and book.synced

    await wait_for(pilot, up, "the console and its first book", timeout=15)
    await pilot.pause(0.1)
    return app


def screen_text(app: BpxApp) -> str:
    """Every character on screen, the modal and the screens under it."""
    parts = []
    for screen in app.screen_stack:
        strips = screen._compositor.render_strips()
        parts.append("\n".join(strip.text for strip in strips))
    return "\n\f\n".join(parts)


async def resting_bid_payload(rest: RestClient, symbol: str = BTC) -> dict[str, Any]:
    """A limit bid 1 % under mark: inside the price band, far from any ask."""
    market = await rest.market(symbol)
    marks = await rest.mark_prices(symbol)
    price = round_to_step(marks[0].mark_price * Decimal("0.99"), market.tick_size)
    return {
        "symbol": symbol,
        "side": "Bid",
        "orderType": "Limit",
        "quantity": str(market.min_quantity or Decimal("0.01")),
        "price": str(price),
    }
