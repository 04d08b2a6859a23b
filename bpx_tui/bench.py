"""``bpx-tui bench``: the performance targets (README.md "Performance"), measured here.

Each section lives in :mod:`bpx_tui.benchmarks` and returns table rows; this module
only picks sections, builds the shared synthetic data once, prints one table and
writes the JSON. Figures are medians of repetitions after a warm-up; the machine's
load is recorded next to them because a shared 2-core VM easily halves a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bpx_tui.benchmarks.common import Data, Plan, Row, calibration_us
from bpx_tui.choices import refusal

Section = Callable[[Plan, Data], list[Row]]

FAILED = "failed"
SECTIONS = (
    "book",
    "pipeline",
    "ui",
    "markets",
    "orders",
    "startup",
    "memory",
    "sim",
    "ccxt",
    "pipeline-vs-ccxt",
)


def _section(name: str) -> Section:
    """Import a section only when it runs (the UI sections pull in Textual)."""
    if name == "book":
        from bpx_tui.benchmarks import book

        return book.run
    if name in ("pipeline", "memory"):
        from bpx_tui.benchmarks import pipeline

        return pipeline.run_pipeline if name == "pipeline" else pipeline.run_memory
    if name == "ui":
        from bpx_tui.benchmarks import ui

        return ui.run
    if name == "markets":
        from bpx_tui.benchmarks import markets

        return markets.run
    if name == "orders":
        from bpx_tui.benchmarks import orders

        return orders.run
    if name == "startup":
        from bpx_tui.benchmarks import startup

        return startup.run
    if name == "sim":
        from bpx_tui.benchmarks import sim_cpu

        return sim_cpu.run
    if name == "ccxt":
        from bpx_tui.benchmarks import ccxt_side

        return ccxt_side.run
    if name == "pipeline-vs-ccxt":
        from bpx_tui.benchmarks import pipeline_ccxt

        return pipeline_ccxt.run
    raise ValueError(f"unknown section {name!r}; sections: {', '.join(SECTIONS)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bpx-tui bench",
        description=(
            "Measure the performance targets on this machine: order book, WebSocket "
            "pipeline, UI paint rate and staleness, order latency, start-up, memory, "
            "and ccxt.pro side by side (in process, and over one loopback server with a "
            "bare reader as the floor). Each figure is a median of repetitions, printed "
            "beside the sum(1000) calibration measured before and after its section."
        ),
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--markdown", metavar="FILE", help="also write the table as Markdown (the README's)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer messages and 3 repetitions (< 2 min)"
    )
    parser.add_argument(
        "--only",
        metavar="SECTION",
        action="append",
        help=f"run only these sections (repeat or comma-separate): {', '.join(SECTIONS)}",
    )
    parser.add_argument("--messages", type=int, help="synthetic depth messages (override)")
    parser.add_argument("--reps", type=int, help="measured repetitions (override)")
    parser.add_argument(
        "--refresh-hz", type=int, help="the console's repaint rate for the ui section (1-60)"
    )
    return parser


def _selected(only: list[str] | None) -> list[str]:
    if not only:
        return list(SECTIONS)
    wanted = [name.strip() for item in only for name in item.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        raise ValueError(f"--only: {refusal(unknown[0], SECTIONS)}")
    return [name for name in SECTIONS if name in wanted]


def machine() -> dict[str, Any]:
    """What the figures depend on; ``sum_1000_us`` compares CPUs (see ``calibration_us``)."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "sum_1000_us": calibration_us(),
    }


def _calibration(pair: tuple[float, float] | None) -> str:
    """``3.0->3.4``: the yardstick before and after the row's section (load moved it)."""
    if pair is None:
        return ""
    before, after = pair
    return f"{before:g}" if before == after else f"{before:g}->{after:g}"


def format_table(rows: list[Row]) -> str:
    header = ("section", "metric", "value", "unit", "target", "ok", "sum(1000) µs")
    body = [
        (
            row.section,
            row.metric,
            "n/a" if row.value is None else f"{row.value:,}",
            row.unit,
            row.target,
            {True: "yes", False: "NO", None: ""}[row.ok],
            _calibration(row.calibration_us),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in (header, *body)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def headline(plan: Plan, info: dict[str, Any]) -> str:
    return (
        f"bpx-tui bench ({'quick' if plan.quick else 'full'}; median of {plan.reps} after a "
        f"warm-up) on {info['cpus']} CPUs, python {info['python']}, "
        f"load {info['load_average'][0]} -> {info['load_average_end'][0]}, "
        f"sum(1000) {info['sum_1000_us']} µs"
    )


def format_markdown(rows: list[Row], plan: Plan, info: dict[str, Any]) -> str:
    """The run as the README's performance table: what ``--markdown`` writes, so the
    table in the README is one run's output, pasted, never figures typed by hand."""
    lines = [
        headline(plan, info) + ":",
        "",
        "| section | metric | value | target | met | sum(1000) µs |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        value = "n/a" if row.value is None else f"{row.value:,} {row.unit}".rstrip()
        met = {True: "yes", False: "**no**", None: ""}[row.ok]
        target = row.target.replace(">=", "≥").replace("<=", "≤")
        metric = row.metric.replace("|", "\\|")
        cells = (row.section, metric, value, target, met, _calibration(row.calibration_us))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(sections: Sequence[str], plan: Plan, echo: Callable[[str], None]) -> dict[str, Any]:
    data = Data(plan)
    info = machine()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    for name in sections:
        echo(f"bench: {name} ...")
        started = time.perf_counter()
        before = calibration_us()
        try:
            made = _section(name)(plan, data)
        except Exception as exc:  # one broken section must not hide the others
            made = [Row(name, FAILED, None, "", ok=False, note=f"{type(exc).__name__}: {exc}")]
        after = calibration_us()
        for row in made:
            row.calibration_us = (before, after)
        rows.extend(made)
        timings[name] = round(time.perf_counter() - started, 1)
    info["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    return {
        "machine": info,
        "plan": {"quick": plan.quick, "messages": plan.messages, "reps": plan.reps},
        "seconds": timings,
        "results": [row.as_json() for row in rows],
        "rows": rows,
    }


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        sections = _selected(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    plan = Plan.for_mode(args.quick)
    if args.messages is not None:
        if args.messages < 1000:
            parser.error("--messages must be at least 1000")
        plan = replace(plan, messages=args.messages)
    if args.reps is not None:
        if args.reps < 1:
            parser.error("--reps must be at least 1")
        plan = replace(plan, reps=args.reps)
    if args.refresh_hz is not None:
        if not 1 <= args.refresh_hz <= 60:
            parser.error("--refresh-hz must be 1..60")
        plan = replace(plan, refresh_hz=args.refresh_hz)

    def echo(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    report = run(sections, plan, echo)
    rows: list[Row] = report.pop("rows")
    info = report["machine"]
    print(headline(plan, info))
    print(format_table(rows))
    for row in rows:
        if row.metric == FAILED:
            print(f"  {row.section}: {row.note}")
    outputs = []
    if args.json:
        outputs.append((args.json, json.dumps(report, indent=2, ensure_ascii=False) + "\n"))
    if args.markdown:
        outputs.append((args.markdown, format_markdown(rows, plan, info)))
    for name, text in outputs:
        try:
            Path(name).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"bpx-tui bench: cannot write {name}: {exc}", file=sys.stderr)
            return 2
    return 1 if any(row.metric == FAILED for row in rows) else 0
