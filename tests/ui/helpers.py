"""Shared pieces of the console tests: the real local exchange + the real client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Label

from bpx_tui.config import Settings
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimClock, SimServer
from bpx_tui.ui.app import BpxApp

SEED = 7
FROZEN_US = 1_763_942_400_000_000  # 2025-11-24 00:00 UTC: a fixed instant for snapshots
SIZE = (120, 40)  # behaviour tests; the snapshots use 160x48 and 80x24


def make_demo_app(
    tmp_path: Path,
    *,
    rate: float = 0.0,
    frozen: bool = False,
    settings: Settings | None = None,
) -> tuple[BpxApp, SimServer]:
    """The console on a local exchange that the app starts in its own loop.

    ``rate`` 0 pauses the synthetic market so a resting order stays resting; the mark
    feed keeps ticking (once per exchange second) so risk checks see fresh data.
    """
    clock = SimClock()
    if frozen:
        clock.freeze(FROZEN_US)
    sim = SimServer(SimConfig(seed=SEED), rate=rate, clock=clock)
    app = BpxApp(
        settings or Settings(),
        sim=sim,
        journal_path=tmp_path / "journal.sqlite3",
        wall_ms=clock.now_ms,
    )
    return app, sim


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], object], what: str, timeout: float = 10.0
) -> None:
    """Let the app run until ``predicate()`` holds (fails with ``what`` otherwise)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.03)


async def wait_ready(pilot: Pilot[Any], renudge_after: float = 1.0) -> BpxApp:
    """Until the console is up and the active market's book is live.

    The client fetches a book snapshot once a delta is buffered, and a paused market
    sends none: once the client is subscribed, the market is stepped once, and again
    only after ``renudge_after`` seconds without a book (snapshot tests wait long so
    the book is the same every run).
    """
    app = pilot.app
    assert isinstance(app, BpxApp) and app.sim is not None
    sim = app.sim
    symbol = app.settings.symbol
    stream = f"depth.{symbol}"
    await wait_for(pilot, lambda: sim.hub.subscribers(stream) > 0, f"a {stream} subscriber")
    book = app.client.books[symbol] if app.client else None
    assert book is not None
    loop = asyncio.get_running_loop()
    nudged = 0.0

    def ready() -> bool:
        nonlocal nudged
        if not book.synced and loop.time() - nudged > renudge_after:
            sim.step(1)
            nudged = loop.time()
        return app.ready and book.synced

    await wait_for(pilot, ready, "the console and its first book", timeout=max(15, renudge_after))
    await pilot.pause(0.1)
    return app


def label_text(app: App[Any], selector: str) -> str:
    return str(app.query_one(selector, Label).content)
