"""Each perp's funding carry: a level of its own that wanders hour by hour, from the seed.

On live Backpack funding differs between markets and over time: majors sit near the
base rate, small caps swing further, and some pay shorts for days. The venue derives a
perp's rate from its premium plus a *carry* (:class:`~bpx_tui.sim.venue.prices.PriceState`);
this schedule is what the synthetic market sets that carry to. It is a pure function of
(seed, market, engine hour) -- a seeded level, a slow seeded wave and a hashed jitter per
hour -- so the backfilled funding history and the live rate agree, the same seed gives
the same rates, and it draws nothing from the live market's random stream.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from bpx_tui.sim.venue.markets import FUNDING_INTERVAL_MS, MarketSpec
from bpx_tui.sim.venue.prices import BASE_FUNDING

HOUR_US = FUNDING_INTERVAL_MS * 1000
SPREAD_PER_VOL = 0.15
"""Spread of carry levels per unit of volatility: BTC ~1.5e-5, a meme coin ~6e-5 per hour."""
RATE_QUANTUM = Decimal("1e-10")
_MASK = (1 << 64) - 1


def _unit(*parts: int) -> float:
    """A reproducible uniform in [-1, 1) from integers (splitmix64; no global state)."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB & _MASK
    return (x >> 11) / (1 << 52) - 1.0


@dataclass(frozen=True)
class _Shape:
    index: int
    level: float
    amplitude: float
    period_h: float
    phase: float
    jitter: float


class FundingCarry:
    """The carry of every perp at any engine time; O(1) and cached per market and hour."""

    def __init__(self, seed: int, specs: Iterable[MarketSpec]) -> None:
        self._seed = seed
        self._shapes: dict[str, _Shape] = {}
        for index, spec in enumerate(s for s in specs if s.is_perp):
            rng = random.Random(f"bpx-tui-carry-{seed}-{spec.symbol}")
            spread = spec.vol_per_sqrt_s * SPREAD_PER_VOL
            self._shapes[spec.symbol] = _Shape(
                index=index,
                level=float(BASE_FUNDING) + spread * rng.gauss(0.0, 1.0),
                amplitude=spread * rng.uniform(0.3, 1.0),
                period_h=rng.uniform(12.0, 72.0),
                phase=rng.uniform(0.0, 2 * math.pi),
                jitter=spread * 0.3,
            )
        self._cache: dict[str, tuple[int, Decimal]] = {}

    def at(self, symbol: str, ts_us: int) -> Decimal:
        """The carry of ``symbol`` during the funding hour that contains ``ts_us``."""
        hour = ts_us // HOUR_US
        cached = self._cache.get(symbol)
        if cached is not None and cached[0] == hour:
            return cached[1]
        value = self.hourly(symbol, hour)
        self._cache[symbol] = (hour, value)
        return value

    def hourly(self, symbol: str, hour: int) -> Decimal:
        shape = self._shapes[symbol]
        wave = math.sin(2 * math.pi * hour / shape.period_h + shape.phase)
        rate = (
            shape.level
            + shape.amplitude * wave
            + shape.jitter * _unit(self._seed, shape.index, hour)
        )
        return Decimal(repr(rate)).quantize(RATE_QUANTUM)
