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

from bpx_tui.benchmarks.common import Data, Plan, Row, median

TARGET_S = 2.0
TIMEOUT_S = 30.0
_PRICE = re.compile(rb"\d{1,3}(?:,\d{3})+\.\d+")
_ESCAPES = re.compile(
    rb"\x1b(?:\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|.)"
)


def first_price_seconds(command: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``command`` on a pty until a price is painted."""
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
    seen = b""
    try:
        while True:
            left = TIMEOUT_S - (time.perf_counter() - start)
            if left <= 0:
                raise RuntimeError("no price on screen within the timeout")
            ready, _, _ = select.select([master], [], [], min(left, 0.5))
            if not ready:
                if process.poll() is not None:
                    raise RuntimeError(f"the console exited early ({process.returncode})")
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                raise RuntimeError("the console closed its terminal") from None
            # Keep a tail so a price split across two reads is still found.
            seen = seen[-64:] + chunk
            if _PRICE.search(_ESCAPES.sub(b"", seen)):
                return time.perf_counter() - start
    finally:
        _stop(process, master)


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
    command = [sys.executable, "-m", "bpx_tui", "--demo"]
    with tempfile.TemporaryDirectory(prefix="bpx-bench-home-") as home:
        env = dict(os.environ, BPX_TUI_HOME=home, TERM="xterm-256color", COLUMNS="160", LINES="48")
        for name in ("BPX_API_KEY", "BPX_API_SECRET", "BPX_BASE_URL", "BPX_WS_URL"):
            env.pop(name, None)
        first_price_seconds(command, env)  # warm-up: page cache, .pyc files
        runs = [first_price_seconds(command, env) for _ in range(plan.reps)]
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
