"""What every bench section shares: the synthetic data, repetitions, results, RSS.

Why a shared data cache: generating and encoding the synthetic depth stream costs
tens of seconds on the 2-core VM, more than several sections take to run, so it is
built once per ``bpx-tui bench`` and handed to every section.
"""

from __future__ import annotations

import gc
import os
import statistics
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from bpx_tui.benchmarks.book_synth import SynthStream, synth_stream
from bpx_tui.sim.synthetic.blast import BlastFeed, encode_feed
from bpx_tui.sim.venue.universe import MARKETS

SYMBOL = "BTC_USDC_PERP"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Plan:
    """How big a run is: ``--quick`` shrinks every count, never the method."""

    quick: bool = False
    messages: int = 200_000  # synthetic depth messages generated (and replayed)
    reps: int = 5
    memory_messages: int = 1_000_000
    ui_window_s: float = 2.0
    sim_window_s: float = 10.0  # the sim section's measured window of demo time
    orders: int = 20  # orders per repetition
    seed: int = 1
    refresh_hz: int | None = None  # the console's pump rate in the UI section (None: default)

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        if quick:
            return cls(
                quick=True,
                messages=40_000,
                reps=3,
                memory_messages=200_000,
                ui_window_s=1.0,
                sim_window_s=4.0,
                orders=8,
            )
        return cls()


@dataclass
class Row:
    """One line of the table (and one object of the JSON)."""

    section: str
    metric: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    calibration_us: tuple[float, float] | None = None
    """:func:`calibration_us` just before and just after the section that made this row."""

    @classmethod
    def against(
        cls,
        section: str,
        metric: str,
        value: float,
        unit: str,
        target: float,
        *,
        floor: bool = False,
        digits: int | None,
        detail: dict[str, Any] | None = None,
        note: str = "",
    ) -> Row:
        """A figure checked against its target: a ceiling (a time, a size), or with
        ``floor`` a minimum (a rate, a ratio). ``digits`` None shows a whole number."""
        met = value >= target if floor else value <= target
        shown = round(value) if digits is None else round(value, digits)
        target_text = f"{'>=' if floor else '<='} {_limit(target)}"
        return cls(section, metric, shown, unit, target_text, met, detail or {}, note)

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "ok": self.ok,
            "detail": self.detail,
            "note": self.note,
            "sum_1000_us": None if self.calibration_us is None else list(self.calibration_us),
        }


def _limit(limit: float) -> str:
    """``60,000`` for a count, ``1.3`` or ``4`` for a measure, as the table prints targets."""
    return f"{limit:,}" if isinstance(limit, int) else f"{limit:g}"


class Data:
    """The synthetic stream, its blast encoding and the market row, built on first use.

    Everything built here lives for the whole run and is frozen out of the garbage
    collector (``gc.freeze``): the console never holds millions of objects, so the
    collector walking them during a measurement would charge the product for the bench.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    @staticmethod
    def _frozen(value: _T) -> _T:
        gc.collect()
        gc.freeze()
        return value

    @cached_property
    def stream(self) -> SynthStream:
        return self._frozen(synth_stream(self.plan.messages, self.plan.seed, symbol=SYMBOL))

    @cached_property
    def market(self) -> dict[str, Any]:
        return next(spec for spec in MARKETS if spec.symbol == SYMBOL).to_json()

    @cached_property
    def feed(self) -> BlastFeed:
        return self._frozen(encode_feed(self.stream, self.market))

    @cached_property
    def frames(self) -> list[dict[str, Any]]:
        """The stream as decoded WebSocket frames (what a client's handler receives)."""
        stream = f"depth.{SYMBOL}"
        return self._frozen([{"stream": stream, "data": m} for m in self.stream.messages])


def calibration_us() -> float:
    """µs for ``sum()`` of a list of 1,000 ints, the yardstick printed beside every figure.

    Why beside every figure and not once per run: on the shared 2-core VM another
    process can halve the CPU for one section and not the next, and this number moves
    with it, so a slow figure next to a slow yardstick is load, not a regression. The
    reference figures were taken where it was 9.7 µs (docs/PERFORMANCE.md "Reference
    machine and noise"); the best of 5 is taken so a single preemption does not count.
    """
    best = min(timeit.repeat("sum(values)", "values = list(range(1000))", number=2000, repeat=5))
    return round(best / 2000 * 1e6, 2)


def repeat(
    run: Callable[[], float], reps: int, *, warmup: Callable[[], object] | None = None
) -> list[float]:
    """One discarded run (``warmup`` if given, else ``run``), then ``reps`` measured ones.

    The garbage of one run is collected before the next so no run pays for another.
    """
    (warmup or run)()
    results = []
    for _ in range(reps):
        gc.collect()
        results.append(run())
    return results


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a p99 is a sample that happened)."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def rss_bytes() -> int:
    """Resident set size now (Linux ``/proc``; the peak from ``getrusage`` elsewhere)."""
    try:
        with Path("/proc/self/statm").open() as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
