"""A local exchange dressed up as a live one, and the console's screen as text.

The console must not know whether it talks to Backpack or to the sim (README.md
"Modes"): a live session here is just Settings with the sim's URLs and one of its
accounts' key pairs, run with ``live=True`` so loopback is not taken for the demo.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
