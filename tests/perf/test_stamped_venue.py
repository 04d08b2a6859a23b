"""The ``orders`` section's exchange runs in its own process and stamps order arrivals on
the machine's monotonic clock: an order sent at a known time must be stamped between the
send and its answer, and only order requests are stamped."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bpx_tui.benchmarks.orders import _venue
from bpx_tui.benchmarks.stamped_venue import monotonic_s
from bpx_tui.exchange.client import BackpackClient


async def test_an_order_is_stamped_between_its_send_and_its_answer() -> None:
    async with _venue() as (info, arrivals):
        client = BackpackClient(info["rest"], info["ws"], info["api_key"], info["api_secret"])
        try:
            await client.rest.markets()  # not an order: no stamp
            book = await client.rest.depth("SOL_USDC_PERP")
            price = Decimal(book["bids"][-1][0]) - Decimal("1")  # rests, never fills
            sent = monotonic_s()
            await client.rest.execute_order(
                {
                    "symbol": "SOL_USDC_PERP",
                    "side": "Bid",
                    "orderType": "Limit",
                    "price": str(price),
                    "quantity": "0.1",
                }
            )
            answered = monotonic_s()
            for _ in range(500):  # the stamp line crosses a pipe: allow it 5 s
                if arrivals:
                    break
                await asyncio.sleep(0.01)
        finally:
            await client.close()
        assert len(arrivals) == 1
        assert sent < arrivals[0] < answered
