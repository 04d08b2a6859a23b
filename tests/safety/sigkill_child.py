"""Child process of ``test_sigkill``: the real client, journal and order service.

Reads everything from the environment like the console does (``BPX_BASE_URL``,
``BPX_WS_URL``, ``BPX_API_SECRET``, ``BPX_TUI_HOME``), submits one resting limit bid and
waits for an answer the exchange never sends, until the test kills it with SIGKILL.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bpx_tui.config import load_settings
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.numbers import round_to_step
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.order import OrderIntent
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.risk import RiskGate

SYMBOL = "BTC_USDC_PERP"


async def main() -> None:
    settings = load_settings()
    assert settings.api_secret is not None
    client = BackpackClient(
        settings.base_url, settings.ws_url, settings.api_key, settings.api_secret.reveal()
    )
    await client.start([SYMBOL])
    for _ in range(500):
        book = client.books.get(SYMBOL)
        if book is not None and book.synced and SYMBOL in client.marks:
            break
        await asyncio.sleep(0.02)
    market = client.market(SYMBOL)
    mark = client.marks[SYMBOL].mark_price
    intent = OrderIntent(
        symbol=SYMBOL,
        side="Bid",
        order_type="Limit",
        quantity=market.min_quantity,
        price=round_to_step(mark * Decimal("0.99"), market.tick_size),
    )
    service = OrderService(client, RiskGate(), Journal(), settings.limits_for)
    await service.submit(service.build(intent))  # the exchange accepts it and never answers


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), 60))
