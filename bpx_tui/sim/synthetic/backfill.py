"""History from before the venue opened, so charts and funding tables are full at once.

A live market has a past: a chart asks for a day of candles, a funding view for a week
of rates, a trades tape for the last few minutes. A fresh venue has none, so on start
the synthetic market invents one from its seed: per base asset, a random walk of
one-minute candles walked *backwards* from the opening index (the last candle closes
exactly where the live market starts, so there is no jump), a tape of trades inside the
last minutes' candles, and hourly funding rates near the base carry.

It uses its own generator (seeded from the market's seed), so the live market's random
stream -- and every deterministic test of it -- is the same with or without a past.
Everything is built once at start with plain floats and integer ticks; about 0.1 s for
the default markets.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal

from bpx_tui.sim.venue.engine import Engine
from bpx_tui.sim.venue.marketdata import Candle, PastTrade
from bpx_tui.sim.venue.markets import FUNDING_INTERVAL_MS, MarketSpec
from bpx_tui.sim.venue.prices import BASE_FUNDING

MINUTES = 1440
"""One day of one-minute candles: at least 1000 of them, and a full 24 h ticker window."""
FUNDING_INTERVALS = 8 * 24
"""Eight days of hourly rates: a week's table with room to spare."""
TAPE_MINUTES = 5
TRADES_PER_MINUTE = 30
FUNDING_NOISE = 0.00001
WICK = 0.3  # typical high/low excursion beyond open/close, in one minute's volatility
Path = list[tuple[float, float, float, float]]


def backfill(engine: Engine, seed: int) -> None:
    """Give every market of ``engine`` a past ending at its current prices."""
    rng = random.Random(f"bpx-tui-backfill-{seed}")
    now_us = engine.now_us()
    first_minute_s = now_us // 60_000_000 * 60 - MINUTES * 60
    for states in engine.prices.by_base.values():
        lead = states[0]
        path = _walk(rng, lead.index, lead.spec.vol_per_sqrt_s * math.sqrt(60.0))
        for state in states:
            spec = state.spec
            candles, trades = _candles(rng, spec, path, first_minute_s)
            engine.data[spec.symbol].backfill(candles, trades)
    for symbol, spec in engine.specs.items():
        if spec.is_perp:
            engine.funding.backfill(symbol, _funding_rates(rng, spec, now_us))


def _walk(rng: random.Random, close: float, vol: float) -> Path:
    """(open, high, low, close) per minute, oldest first, the last closing at ``close``."""
    minutes: Path = []
    for _ in range(MINUTES):
        opened = close / math.exp(vol * rng.gauss(0.0, 1.0))
        top, bottom = max(opened, close), min(opened, close)
        high = top * math.exp(vol * WICK * abs(rng.gauss(0.0, 1.0)))
        low = bottom / math.exp(vol * WICK * abs(rng.gauss(0.0, 1.0)))
        minutes.append((opened, high, low, close))
        close = opened
    minutes.reverse()
    return minutes


def _candles(
    rng: random.Random, spec: MarketSpec, path: Path, first_minute_s: int
) -> tuple[dict[str, list[Candle]], list[PastTrade]]:
    """Last, mark and index candles of one market, and the trades of its last minutes.

    The index and mark candles have the traded candles' prices and no volume: the venue
    samples them from the same walk, and nothing trades an index.
    """
    scale = 10**spec.price_decimals
    kinds: dict[str, list[Candle]] = {"Last": [], "Mark": [], "Index": []}
    trades: list[PastTrade] = []
    tape_from = len(path) - TAPE_MINUTES
    for minute, prices in enumerate(path):
        ticks = [max(1, round(price * scale)) for price in prices]
        start_s = first_minute_s + minute * 60
        for candles in kinds.values():
            candles.append(_candle(spec, start_s, ticks))
        last = kinds["Last"][-1]
        if minute >= tape_from:
            tape = _tape(rng, spec, ticks, start_s)
            trades.extend(tape)
            volume_steps = sum(qty for _, qty, _, _ in tape)
            quote_units = sum(price * qty for price, qty, _, _ in tape)
            last.trades = len(tape)
        else:
            volume_steps = spec.touch_size_steps * rng.randint(5, 60)
            quote_units = volume_steps * (ticks[0] + ticks[3]) // 2
            last.trades = rng.randint(3, 40)
        last.volume = spec.qty_dec(volume_steps)
        last.quote_volume = spec.notional_dec(quote_units)
    return kinds, trades


def _candle(spec: MarketSpec, start_s: int, ticks: list[int]) -> Candle:
    opened, high, low, close = ticks
    candle = Candle(start_s, spec.price_dec(opened))
    candle.high = spec.price_dec(max(high, opened, close))
    candle.low = spec.price_dec(min(low, opened, close))
    candle.close = spec.price_dec(close)
    return candle


def _tape(rng: random.Random, spec: MarketSpec, ticks: list[int], start_s: int) -> list[PastTrade]:
    """Trades inside one candle: the first at its open, the last at its close."""
    opened, high, low, close = ticks
    low, high = min(low, opened, close), max(high, opened, close)
    count = TRADES_PER_MINUTE
    start_us = start_s * 1_000_000
    spacing = 60_000_000 // (count + 1)
    tape: list[PastTrade] = []
    for i in range(count):
        price = opened if i == 0 else close if i == count - 1 else rng.randint(low, high)
        qty = max(spec.min_quantity_steps, spec.touch_size_steps * rng.randint(1, 4))
        tape.append((price, qty, start_us + (i + 1) * spacing, rng.random() < 0.5))
    return tape


def _funding_rates(rng: random.Random, spec: MarketSpec, now_us: int) -> list[tuple[int, Decimal]]:
    """Hourly rates of the intervals that ended before ``now_us``, oldest first."""
    assert spec.funding_upper_bps is not None and spec.funding_lower_bps is not None
    interval_us = FUNDING_INTERVAL_MS * 1000
    last_end = now_us // interval_us * interval_us
    upper, lower = spec.funding_upper_bps / 10_000, spec.funding_lower_bps / 10_000
    base = float(BASE_FUNDING)
    rates = []
    for back in range(FUNDING_INTERVALS, 0, -1):
        rate = min(max(base + FUNDING_NOISE * rng.gauss(0.0, 1.0), lower), upper)
        end_us = last_end - (back - 1) * interval_us
        rates.append((end_us, Decimal(repr(rate)).quantize(Decimal("1e-10"))))
    return rates
