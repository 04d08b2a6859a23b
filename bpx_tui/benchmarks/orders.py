"""Section ``orders``: key press -> order request received by the local exchange.

The real console (headless, Pilot key presses) trades against the local exchange
running in its own process (:mod:`.stamped_venue`), as every real exchange does; that
process stamps the arrival of each ``POST /api/v1/order`` on the machine's monotonic
clock, and the press is stamped on the same clock just before ``pilot.press("enter")``
on an open limit ticket. The path measured is the product's: ticket -> risk gate ->
journal -> signing -> REST -> loopback -> the exchange's HTTP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from bpx_tui.benchmarks.common import SYMBOL, Data, Plan, Row, median, percentile
from bpx_tui.benchmarks.stamped_venue import ARRIVAL, monotonic_s
from bpx_tui.config import Settings
from bpx_tui.exchange.client import BackpackClient

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from bpx_tui.ui.app import BpxApp

TARGET_P99_MS = 10.0
READY_TIMEOUT_S = 20.0
ANSWER_TIMEOUT_S = 5.0
CANCEL_EVERY = 10
SEED = 7


@contextlib.asynccontextmanager
async def _venue() -> AsyncIterator[tuple[dict[str, str], list[float]]]:
    """The stamped exchange's connection and the arrival times it reports, as they come."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bpx_tui.benchmarks.stamped_venue",
        str(SEED),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    stdout = process.stdout
    arrivals: list[float] = []

    async def read_arrivals() -> None:
        while line := await stdout.readline():
            kind, _, value = line.decode().partition(" ")
            if kind == ARRIVAL:
                arrivals.append(float(value))

    try:
        first = await asyncio.wait_for(stdout.readline(), READY_TIMEOUT_S)
        if not first:
            raise RuntimeError("the local exchange did not start")
        info = orjson.loads(first)
        reader = asyncio.create_task(read_arrivals())
        try:
            yield info, arrivals
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10.0)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_above(count: Callable[[], int], floor: int, what: str) -> None:
    deadline = time.perf_counter() + ANSWER_TIMEOUT_S
    while count() <= floor:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def _measure(reps: int, per_rep: int, journal: Path) -> list[list[float]]:
    from bpx_tui.ui.app import BpxApp

    async with _venue() as (info, arrivals):
        client = BackpackClient(info["rest"], info["ws"], info["api_key"], info["api_secret"])
        app = BpxApp(Settings(), client=client, journal_path=journal, live=False)
        async with app.run_test(headless=True, size=(160, 48)) as pilot:
            return await _orders(app, client, pilot, arrivals, reps, per_rep)


async def _orders(
    app: BpxApp,
    client: BackpackClient,
    pilot: Pilot[Any],
    arrivals: list[float],
    reps: int,
    per_rep: int,
) -> list[list[float]]:
    started = time.perf_counter()
    # A quiet market sends no delta: the client takes its snapshot alone after a second.
    while not (app.ready and (book := client.books.get(SYMBOL)) is not None and book.synced):
        await asyncio.sleep(0.02)
        if time.perf_counter() - started > READY_TIMEOUT_S:
            raise RuntimeError("the console never showed a book")
    runs: list[list[float]] = []
    await pilot.pause(0.1)
    for rep in range(reps + 1):  # the first is the warm-up
        latencies: list[float] = []
        for _ in range(per_rep):
            await pilot.press("b")
            await pilot.pause()
            before = len(arrivals)
            orders = len(client.open_orders)
            pressed = monotonic_s()
            await pilot.press("enter")
            await _wait_above(arrivals.__len__, before, "the order request")
            latencies.append((arrivals[before] - pressed) * 1e3)
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
