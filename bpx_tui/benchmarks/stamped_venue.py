"""The local exchange of the ``orders`` section, in a process of its own.

Any real exchange runs in another process than the console, so this one does too: in
the console's own loop, the exchange would read a request only after whatever the
console does next (a repaint of the whole screen, ~8 ms at 160x48 on a slow machine),
which no exchange ever waits for. Run as ``python -m bpx_tui.benchmarks.stamped_venue``:
it prints its connection as one JSON line, then one line per ``POST /api/v1/order``
with the ``CLOCK_MONOTONIC`` time it arrived (the clock is the machine's, so the bench
process compares it with its own), and stops when its stdin closes.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer

ARRIVAL = "arrival"


def monotonic_s() -> float:
    """One clock for both processes (``perf_counter`` is not promised to be shared)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class StampedSim(SimServer):
    """The local exchange, writing the arrival time of every order request to stdout."""

    def build_app(self) -> web.Application:
        app = super().build_app()

        @web.middleware
        async def stamp(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            if request.method == "POST" and request.path == "/api/v1/order":
                sys.stdout.write(f"{ARRIVAL} {monotonic_s():.9f}\n")
                sys.stdout.flush()
            return await handler(request)

        app.middlewares.insert(0, stamp)
        return app


async def _serve(seed: int) -> None:
    sim = StampedSim(SimConfig(seed=seed), rate=0)
    await sim.start("127.0.0.1", 0)
    try:
        sys.stdout.write(orjson.dumps(sim.connection_info()).decode() + "\n")
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the bench closes it
    finally:
        await sim.stop()


def main() -> None:
    """``python -m bpx_tui.benchmarks.stamped_venue SEED`` (the bench passes its seed)."""
    asyncio.run(_serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
