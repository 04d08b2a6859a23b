"""Section ``startup``: process start -> first price on screen, ``bpx-tui --demo``.

The console runs as a child process on a pseudo-terminal (160x48), exactly as a user
starts it, with a throwaway ``BPX_TUI_HOME``; the clock starts just before the spawn
and stops when the terminal output first contains a formatted price (digits with a
thousands separator and decimals, e.g. ``97,000.1``: the start-up screen prints no such
text, the ladder and the watchlist do). No hook in product code is needed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bpx_tui.benchmarks.common import Data, Plan, Row, median

TARGET_S = 1.0
TIMEOUT_S = 30.0
_PRICE = re.compile(rb"\d{1,3}(?:,\d{3})+\.\d+")
_ESCAPES = re.compile(
    rb"\x1b(?:\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|.)"
)


@contextlib.contextmanager
def on_pty(command: list[str], env: dict[str, str]) -> Iterator[Console]:
    """``command`` spawned on a 160x48 pseudo-terminal, stopped (SIGTERM) on exit."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    try:
        yield Console(process, master, start)
    finally:
        _stop(process, master)


@dataclass
class Console:
    """A console running on a pty: its process, the pty's master side, when it started."""

    process: subprocess.Popen[bytes]
    master: int
    started: float

    def wait_for_price(self) -> float:
        """Seconds from the spawn until a price is painted."""
        seen = b""
        while True:
            left = TIMEOUT_S - (time.perf_counter() - self.started)
            if left <= 0:
                raise RuntimeError("no price on screen within the timeout")
            chunk = self._read(min(left, 0.5))
            # Keep a tail so a price split across two reads is still found.
            seen = seen[-64:] + chunk
            if _PRICE.search(_ESCAPES.sub(b"", seen)):
                return time.perf_counter() - self.started

    def drain(self, seconds: float) -> None:
        """Read (and drop) what it paints for ``seconds``, as a terminal would."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            self._read(min(left, 0.5))

    def _read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            if self.process.poll() is not None:
                raise RuntimeError(f"the console exited early ({self.process.returncode})")
            return b""
        try:
            return os.read(self.master, 65536)
        except OSError:
            raise RuntimeError("the console closed its terminal") from None


def first_price_seconds(command: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``command`` on a pty until a price is painted."""
    with on_pty(command, env) as console:
        return console.wait_for_price()


def demo_env(home: str) -> dict[str, str]:
    """The environment of a first-time user's ``bpx-tui --demo`` in a throwaway home.

    Bytecode is cached (in the home, not beside the sources) even where the shell says
    ``PYTHONDONTWRITEBYTECODE``: a user's install has its ``.pyc`` files (pip writes them,
    and Python does on the first start), and compiling 150 modules from source on every
    start is a cost of that shell, not of the console.
    """
    env = dict(
        os.environ,
        BPX_TUI_HOME=home,
        TERM="xterm-256color",
        COLUMNS="160",
        LINES="48",
        PYTHONPYCACHEPREFIX=str(Path(home) / "pycache"),
    )
    for name in ("BPX_API_KEY", "BPX_API_SECRET", "BPX_BASE_URL", "BPX_WS_URL"):
        env.pop(name, None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


DEMO_COMMAND = [sys.executable, "-m", "bpx_tui", "--demo"]


def _stop(process: subprocess.Popen[bytes], master: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    # Keep reading so the child never blocks on a full terminal while it exits.
    deadline = time.perf_counter() + 5.0
    while process.poll() is None and time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            with contextlib.suppress(OSError):
                os.read(master, 65536)
    if process.poll() is None:
        process.kill()
        process.wait(5.0)
    os.close(master)


def run(plan: Plan, data: Data) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bpx-bench-home-") as home:
        env = demo_env(home)
        first_price_seconds(DEMO_COMMAND, env)  # warm-up: page cache, .pyc files written
        runs = [first_price_seconds(DEMO_COMMAND, env) for _ in range(plan.reps)]
    value = median(runs)
    return [
        Row.against(
            "startup",
            "bpx-tui --demo: start -> first price",
            value,
            "s",
            TARGET_S,
            digits=2,
            detail={"runs_s": [round(r, 2) for r in runs]},
            note="child process on a 160x48 pty",
        )
    ]
