"""Section ``sim``: what the local exchange costs while a demo watches its default markets.

The venue lists 32 markets but re-quotes the watched ones at the full rate and the rest
one step in :data:`~bpx_tui.sim.synthetic.schedule.COLD_EVERY` (see
``sim/synthetic/schedule.py``), so the demo's CPU should not grow with the listing.
This runs ``bpx-tui sim`` as a child process at the demo's rate, subscribes what the
console subscribes for the default watchlist (depth and ticker of each market, trades
of the active one), and reads over a window of wall time

- the child's CPU seconds per second (``/proc/<pid>/stat``; Linux only), and
- depth updates per second of the watched markets and of the others (each market's
  ``lastUpdateId`` from REST before and after), which is how often each is quoted.

Reported, not checked against a target: a shared VM's CPU figure is noise-prone, and
the schedule's ratio is asserted by count in ``tests/sim/test_universe.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bpx_tui.benchmarks.common import Data, Plan, Row
from bpx_tui.config import DEFAULT_SYMBOL, DEFAULT_WATCHLIST

SECTION = "sim"
DEMO_RATE = 100.0  # SimServer's default, what ``bpx-tui --demo`` runs
SETTLE_S = 1.0  # subscriptions in and the first second's feeds out before the window


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of ``pid`` so far, or None where ``/proc`` is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _update_ids(http: aiohttp.ClientSession, rest: str) -> dict[str, int]:
    async with http.get(rest + "/api/v1/markets") as resp:
        symbols = [market["symbol"] for market in await resp.json()]
    ids = {}
    for symbol in symbols:
        async with http.get(rest + "/api/v1/depth", params={"symbol": symbol}) as resp:
            ids[symbol] = int((await resp.json())["lastUpdateId"])
    return ids


async def _watch(info: dict[str, Any], pid: int, window_s: float) -> dict[str, Any]:
    """Subscribe like the console, then count CPU and depth updates over ``window_s``."""
    streams = [f"{kind}.{symbol}" for symbol in DEFAULT_WATCHLIST for kind in ("depth", "ticker")]
    streams.append(f"trade.{DEFAULT_SYMBOL}")
    async with aiohttp.ClientSession() as http, http.ws_connect(info["ws"]) as ws:
        await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}))
        frames = 0

        async def drain() -> None:
            nonlocal frames
            async for _ in ws:
                frames += 1

        reader = asyncio.create_task(drain())
        await asyncio.sleep(SETTLE_S)
        before, cpu_before = await _update_ids(http, info["rest"]), cpu_seconds(pid)
        started, frames_before = time.perf_counter(), frames
        await asyncio.sleep(window_s)
        cpu_after, elapsed = cpu_seconds(pid), time.perf_counter() - started
        received = frames - frames_before
        after = await _update_ids(http, info["rest"])
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    per_s = {symbol: (after[symbol] - before[symbol]) / elapsed for symbol in before}
    watched = [per_s[s] for s in DEFAULT_WATCHLIST if s in per_s]
    others = [rate for symbol, rate in per_s.items() if symbol not in DEFAULT_WATCHLIST]
    cpu = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / elapsed
    return {
        "cpu": cpu,
        "watched": statistics.mean(watched),
        "others": statistics.mean(others) if others else 0.0,
        "markets": len(per_s),
        "frames_per_s": received / elapsed,
        "window_s": round(elapsed, 2),
    }


def measure(window_s: float) -> dict[str, Any]:
    """Run ``bpx-tui sim`` at the demo's rate and measure it while it is watched."""
    command = [sys.executable, "-m", "bpx_tui", "sim", "--rate", str(DEMO_RATE)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        return asyncio.run(_watch(info, process.pid, window_s))
    finally:
        process.terminate()
        try:
            process.wait(10.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5.0)


def run(plan: Plan, data: Data) -> list[Row]:
    result = measure(plan.sim_window_s)
    detail = {key: result[key] for key in ("markets", "window_s")}
    note = f"bpx-tui sim --rate {DEMO_RATE:g}, default watchlist subscribed"
    rows = [
        Row(
            SECTION,
            "sim CPU while the demo watches",
            None if result["cpu"] is None else round(result["cpu"] * 100, 1),
            "% of a core",
            detail=detail,
            note=note if result["cpu"] is not None else "no /proc: CPU not measured",
        ),
        Row(SECTION, "depth updates, watched market", round(result["watched"], 1), "/s"),
        Row(SECTION, "depth updates, unwatched market", round(result["others"], 2), "/s"),
        Row(SECTION, "frames sent to the watcher", round(result["frames_per_s"]), "/s"),
    ]
    return rows
