"""Entry point of the console for ``bpx-tui`` / ``bpx-tui --demo`` (wired by ``cli.py``).

Builds the settings, the logging and the app with the same factory the tests use, then
runs the app inside this process's one event loop; every socket is closed on the way
out, however the app ended.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bpx_tui.config import ConfigError, Settings, load_settings
from bpx_tui.logsetup import setup_for, teardown_logging
from bpx_tui.ui import collector
from bpx_tui.ui.app import BpxApp


def make_app(
    settings: Settings,
    demo: bool,
    *,
    seed: int | None = None,
    log_ring: Any = None,
    live: bool | None = None,
) -> BpxApp:
    """The console for ``settings``: against Backpack, or the in-process local exchange.

    ``demo`` is forced when there are no credentials (README.md "Modes"). The local
    exchange is started by the app itself, inside the app's event loop. ``live`` is
    passed to :class:`BpxApp` (None: a loopback ``base_url`` counts as the demo).
    """
    if demo or not settings.has_credentials:
        from bpx_tui.sim.config import SimConfig
        from bpx_tui.sim.server import SimServer

        config = SimConfig(
            seed=seed if seed is not None else 1, starting_usdc=settings.demo_collateral
        )
        sim = SimServer(config)
        return BpxApp(settings, sim=sim, log_ring=log_ring)
    from bpx_tui.exchange.client import BackpackClient

    assert settings.api_secret is not None
    client = BackpackClient(
        settings.base_url,
        settings.ws_url,
        settings.api_key,
        settings.api_secret.reveal(),
        ws_transport=settings.ws_transport,
    )
    return BpxApp(settings, client=client, log_ring=log_ring, live=live)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Config file + environment, then the command line on top."""
    config = getattr(args, "config", None)
    settings = load_settings(
        Path(config).expanduser() if config else None, getattr(args, "profile", None)
    )
    changes: dict[str, Any] = {}
    symbol = getattr(args, "symbol", None)
    if symbol:
        changes["symbol"] = symbol.strip()
    refresh = getattr(args, "refresh_hz", None)
    if refresh is not None:
        if not 1 <= refresh <= 60:
            raise ConfigError(f"--refresh-hz: expected 1..60, got {refresh}")
        changes["refresh_hz"] = refresh
    level = getattr(args, "log_level", None)
    if level:
        changes["log_level"] = level.upper()
    return replace(settings, **changes)


async def run(app: BpxApp) -> int:
    """Run ``app`` in the current loop; always close its connections."""
    try:
        result = await app.run_async()
    finally:
        await app.shutdown()
    return int(result or 0)


def run_console(args: argparse.Namespace) -> int:
    """``bpx-tui [--demo]``: returns the process exit code."""
    try:
        settings = settings_from_args(args)
    except ConfigError as exc:
        print(f"bpx-tui: configuration problem:\n{exc}", file=sys.stderr)
        return 2
    logs = setup_for(settings)
    try:
        app = make_app(
            settings,
            bool(getattr(args, "demo", False)),
            seed=getattr(args, "seed", None),
            log_ring=logs.ring,
        )
        collector.starting()
        return asyncio.run(run(app))
    except KeyboardInterrupt:
        return 130
    finally:
        teardown_logging()
