"""Shared pieces of the console tests: the real local exchange + the real client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.command import CommandList
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
    live: bool | None = None,
    backfill: bool = True,
) -> tuple[BpxApp, SimServer]:
    """The console on a local exchange that the app starts in its own loop.

    ``rate`` 0 pauses the synthetic market so a resting order stays resting; the mark
    feed keeps ticking (once per exchange second) so risk checks see fresh data.
    ``live`` True trades it with the live safeguards (the first order asks).
    ``backfill`` False starts the exchange without a past (no 24 h change, no candles).
    """
    clock = SimClock()
    if frozen:
        clock.freeze(FROZEN_US)
    sim = SimServer(SimConfig(seed=SEED, backfill=backfill), rate=rate, clock=clock)
    app = BpxApp(
        settings or Settings(),
        sim=sim,
        journal_path=tmp_path / "journal.sqlite3",
        wall_ms=clock.now_ms,
        live=live,
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


async def wait_ready(pilot: Pilot[Any]) -> BpxApp:
    """Until the console is up (live or demo) and the active market's book is live.

    Nothing is stepped: a paused market sends no deltas and the client syncs it from the
    REST snapshot alone, so the exchange's random state is the same every run.
    """
    app = pilot.app
    assert isinstance(app, BpxApp)

    def up() -> bool:
        client = app.client
        book = client.books.get(app.active) if client is not None and app.ready else None
        return book is not None and book.synced

    await wait_for(pilot, up, "the console and its first book", timeout=15)
    await pilot.pause(0.1)
    return app


def label_text(app: App[Any], selector: str) -> str:
    return str(app.query_one(selector, Label).content)


async def palette_lines(pilot: Pilot[Any], first: str = "") -> list[str]:
    """The palette's entries as plain text, once it lists something starting with ``first``."""
    commands = pilot.app.screen.query_one(CommandList)

    def lines() -> list[str]:
        return [
            str(getattr(option.prompt, "plain", option.prompt))
            for option in commands.options
            if not option.disabled
        ]

    await wait_for(
        pilot,
        lambda: commands.option_count and lines()[0].startswith(first),
        f"the palette to list {first or 'its commands'}",
    )
    await pilot.pause(0.4)  # the palette adds hits in batches; let the last one land
    return lines()
