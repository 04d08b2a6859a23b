"""Section ``markets``: the console with the whole universe streaming, and the demo at rest.

Busy: the real :class:`BpxApp` headless (as the ``ui`` section runs it) against a blast
server that pushes the active market's depth at :data:`RATE` messages a second while
every other market of the local exchange's universe (31 of them) streams its mark and
ticker once a second (:mod:`~bpx_tui.sim.synthetic.side_markets`) — what the console
subscribes for the funding board. The console must keep painting at ``refresh_hz``
with p99 staleness within 100 ms on at most half a core.

Idle: ``bpx-tui --demo`` as a user starts it (a child on a 160x48 pty, the local
exchange in its process, terminal output read and dropped), nothing pressed. Its CPU
over a window after the first price must stay within a tenth of a core: a console left
open all day must not cost a core for markets that do nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
import time

from bpx_tui.benchmarks import startup, ui
from bpx_tui.benchmarks.common import SYMBOL, Data, Plan, Row, median
from bpx_tui.benchmarks.sim_cpu import cpu_seconds
from bpx_tui.config import Settings
from bpx_tui.sim.synthetic.blast import serve_in_subprocess
from bpx_tui.sim.synthetic.side_markets import side_markets

SECTION = "markets"
RATE = 5_000
TARGET_CPU = 50.0  # % of one core, the whole console process
TARGET_IDLE_CPU = 10.0
IDLE_SETTLE_S = 3.0  # after the first price: start-up's last reads and the first paints


def busy(plan: Plan, data: Data) -> list[Row]:
    settings = Settings() if plan.refresh_hz is None else Settings(refresh_hz=plan.refresh_hz)
    side = side_markets(SYMBOL)
    seconds = ui.WARMUP_S + plan.reps * plan.ui_window_s + 10.0
    with serve_in_subprocess(data.feed, total=int(RATE * seconds), rate=RATE, side=side) as info:
        windows = asyncio.run(ui.measure(info, settings, plan.reps, plan.ui_window_s))
    rows = ui.rows_of(RATE, windows, settings.refresh_hz, section=SECTION, cpu_target=TARGET_CPU)
    priced = round(median([w["priced"] for w in windows]))
    side_rate = median([w["side_msgs"] for w in windows])
    note = f"{len(side.listing)} other markets listed, marks and tickers at 1/s each"
    rows.append(Row(SECTION, "markets streaming marks/tickers", priced, "markets", note=note))
    rows.append(Row(SECTION, "mark and ticker messages", round(side_rate, 1), "/s"))
    return rows


def idle(plan: Plan) -> Row:
    window = plan.sim_window_s
    with (
        tempfile.TemporaryDirectory(prefix="bpx-bench-home-") as home,
        startup.on_pty(startup.DEMO_COMMAND, startup.demo_env(home)) as console,
    ):
        console.wait_for_price()
        console.drain(IDLE_SETTLE_S)
        pid = console.process.pid
        before, started = cpu_seconds(pid), time.perf_counter()
        console.drain(window)
        after, elapsed = cpu_seconds(pid), time.perf_counter() - started
    metric = "bpx-tui --demo at rest: CPU of one core"
    if before is None or after is None:
        return Row(SECTION, metric, None, "%", note="no /proc: CPU not measured")
    cpu = 100.0 * (after - before) / elapsed
    note = f"{window:g} s after the first price, 160x48 pty, nothing pressed"
    return Row.against(SECTION, metric, cpu, "%", TARGET_IDLE_CPU, digits=1, note=note)


def run(plan: Plan, data: Data) -> list[Row]:
    return [*busy(plan, data), idle(plan)]
