"""Shared test helpers: the Backpack fixtures copied from the protocol reference."""

from __future__ import annotations

import asyncio
import contextlib
import decimal
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bpx_tui.sim.server import SimServer

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> Any:
    """A JSON fixture by file name (``rest_depth.json``) or a text one (``rest_time.txt``)."""
    path = FIXTURES / name
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else text.strip()


@pytest.fixture
def fixture() -> Any:
    return load_fixture


@pytest.fixture(autouse=True)
def _isolated_decimal_context() -> Iterator[None]:
    """ccxt sets the thread's decimal rounding to HALF_UP (and traps Underflow) on every
    call and never restores it; without this, tests after the ccxt ones would see
    different rounding in display formatting."""
    saved = decimal.getcontext().copy()
    yield
    decimal.setcontext(saved)


async def until(predicate: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Let the loop run until ``predicate()`` is true; fail naming ``what`` otherwise.

    The bound is generous because the machine is shared; nothing asserts how long it took.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 5.0) -> None:
    """Like :func:`until` for a condition that needs a REST call to evaluate."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(server: SimServer) -> AsyncIterator[SimServer]:
    """``server`` started, and stopped (its memory freed) however the test ends."""
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
