"""Section ``orders``: key press -> order request received by the local exchange.

The real console (headless, Pilot key presses) trades against an in-process
:class:`SimServer`. A middleware added to the exchange's aiohttp app *by this harness*
(a subclass overriding ``build_app``) stamps the arrival of every ``POST
/api/v1/order``; the press is stamped just before ``pilot.press("enter")`` on an open
limit ticket. Both stamps use one ``perf_counter`` in one process. The path measured
is the product's: ticket -> risk gate -> journal -> signing -> REST -> exchange.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bpx_tui.benchmarks.common import SYMBOL, Data, Plan, Row, median, percentile
from bpx_tui.config import Settings
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer

TARGET_P99_MS = 10.0
READY_TIMEOUT_S = 20.0
ANSWER_TIMEOUT_S = 5.0
CANCEL_EVERY = 10


class _StampedSim(SimServer):
    """The local exchange plus an arrival stamp per order request."""

    arrivals: list[float]

    def build_app(self) -> web.Application:
        self.arrivals = []
        app = super().build_app()

        @web.middleware
        async def stamp(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            if request.method == "POST" and request.path == "/api/v1/order":
                self.arrivals.append(time.perf_counter())
            return await handler(request)

        app.middlewares.insert(0, stamp)
        return app


async def _wait_above(count: Callable[[], int], floor: int, what: str) -> None:
    deadline = time.perf_counter() + ANSWER_TIMEOUT_S
    while count() <= floor:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def _measure(reps: int, per_rep: int, journal: Path) -> list[list[float]]:
    from bpx_tui.ui.app import BpxApp

    sim = _StampedSim(SimConfig(seed=7), rate=0)
    app = BpxApp(Settings(), sim=sim, journal_path=journal)
    runs: list[list[float]] = []
    async with app.run_test(headless=True, size=(160, 48)) as pilot:
        started = time.perf_counter()
        nudged = 0.0
        while not (app.ready and app.client and app.client.books.get(SYMBOL, None)):
            await asyncio.sleep(0.02)
            if time.perf_counter() - started > READY_TIMEOUT_S:
                raise RuntimeError("the console did not start")
        client = app.client
        book = client.books[SYMBOL]
        while not book.synced:  # a paused market sends no delta; step it once
            if time.perf_counter() - nudged > 1.0:
                sim.step(1)
                nudged = time.perf_counter()
            await asyncio.sleep(0.02)
            if time.perf_counter() - started > READY_TIMEOUT_S:
                raise RuntimeError("the console never showed a book")
        await pilot.pause(0.1)
        for rep in range(reps + 1):  # the first is the warm-up
            latencies: list[float] = []
            for _ in range(per_rep):
                await pilot.press("b")
                await pilot.pause()
                before = len(sim.arrivals)
                orders = len(client.open_orders)
                pressed = time.perf_counter()
                await pilot.press("enter")
                await _wait_above(sim.arrivals.__len__, before, "the order request")
                latencies.append((sim.arrivals[before] - pressed) * 1e3)
                await _wait_above(client.open_orders.__len__, orders, "the answer")
                if len(client.open_orders) >= CANCEL_EVERY:
                    await client.cancel_all(SYMBOL)
            if rep:
                runs.append(latencies)
        await client.cancel_all(SYMBOL)
        await app.shutdown()
    return runs


def run(plan: Plan, data: Data) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bpx-bench-") as tmp:
        runs = asyncio.run(_measure(plan.reps, plan.orders, Path(tmp) / "journal.sqlite3"))
    p50 = median([percentile(r, 50) for r in runs])
    p99 = median([percentile(r, 99) for r in runs])
    pooled = [value for r in runs for value in r]
    detail = {
        "orders": len(pooled),
        "pooled_p99_ms": round(percentile(pooled, 99), 2),
        "max_ms": round(max(pooled), 2),
        "runs_p99_ms": [round(percentile(r, 99), 2) for r in runs],
    }
    return [
        Row("orders", "key -> exchange p50", round(p50, 2), "ms", "", None, detail),
        Row.against(
            "orders", "key -> exchange p99", p99, "ms", TARGET_P99_MS, digits=2, detail=detail
        ),
    ]
