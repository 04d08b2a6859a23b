"""History from before the venue opened, so charts and funding tables are full at once.

A live market has a past: a chart asks for a day of candles, a funding view for a week
of rates, a trades tape for the last few minutes. A fresh venue has none, so on start
the synthetic market invents one from its seed: per base asset, a random walk of
one-minute candles walked *backwards* from the opening index (the last candle closes
exactly where the live market starts, so there is no jump), a tape of trades inside the
last minutes' candles, and hourly funding rates around each perp's carry schedule
(:mod:`.funding_carry`), which it leaves set to the current hour's.

It uses its own generators (seeded from the market's seed and the base asset, market
or perp they make), so the live market's random stream -- and every deterministic test
of it -- is the same with or without a past, and a market's past is the same whichever
market is asked for first.

Nothing is built at start: each market's candles and tape, and each perp's funding
rates, are made when first read (:meth:`MarketData.defer_past`,
:meth:`Funding.defer_backfill`), the walk of a base asset once for all its markets. The
32 markets' pasts together cost ~0.35 s of plain floats and integer ticks; a start
only records where each one must end (the opening price and minute).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from bpx_tui.sim.synthetic.funding_carry import FundingCarry
from bpx_tui.sim.venue.engine import Engine
from bpx_tui.sim.venue.marketdata import Candle, Past, PastTrade
from bpx_tui.sim.venue.markets import FUNDING_INTERVAL_MS, MarketSpec

MINUTES = 1440
"""One day of one-minute candles: at least 1000 of them, and a full 24 h ticker window."""
FUNDING_INTERVALS = 8 * 24
"""Eight days of hourly rates: a week's table with room to spare."""
TAPE_MINUTES = 5
TRADES_PER_MINUTE = 30
FUNDING_NOISE = 0.00001
WICK = 0.3  # typical high/low excursion beyond open/close, in one minute's volatility
Path = list[tuple[float, float, float, float]]
Ticks = tuple[int, int, int, int]


def backfill(engine: Engine, seed: int, carry: FundingCarry) -> None:
    """Give every market of ``engine`` a past ending at its current prices, made on demand."""
    now_us = engine.now_us()
    first_minute_s = now_us // 60_000_000 * 60 - MINUTES * 60
    for base, states in engine.prices.by_base.items():
        lead = states[0]
        path = _deferred_walk(
            f"bpx-tui-backfill-{seed}-{base}",
            lead.index,
            lead.spec.vol_per_sqrt_s * math.sqrt(60.0),
        )
        shared: dict[int, list[Candle]] = {}  # price decimals -> the base's mark/index candles
        for state in states:
            spec = state.spec
            engine.data[spec.symbol].defer_past(
                _market_past(seed, spec, path, shared, first_minute_s),
                TAPE_MINUTES * TRADES_PER_MINUTE,
                spec.price_dec(_on_grid(spec, lead.index)),
            )
    for symbol, spec in engine.specs.items():
        if spec.is_perp:
            rng = random.Random(f"bpx-tui-funding-{seed}-{symbol}")
            engine.funding.defer_backfill(symbol, partial(_funding_rates, rng, spec, carry, now_us))
            engine.prices.states[symbol].set_carry(carry.at(symbol, now_us))


def _deferred_walk(name: str, close: float, vol: float) -> Callable[[], Path]:
    """The base's walk, drawn from its own generator the first time a market needs it."""
    made: list[Path] = []

    def path() -> Path:
        if not made:
            made.append(_walk(random.Random(name), close, vol))
        return made[0]

    return path


def _market_past(
    seed: int,
    spec: MarketSpec,
    path: Callable[[], Path],
    shared: dict[int, list[Candle]],
    first_minute_s: int,
) -> Callable[[], Past]:
    """What one market's :meth:`MarketData.defer_past` runs when its past is first read.

    Markets of one base on the same price grid share their mark/index candle objects
    (``shared``): the venue never changes a candle it did not open itself.
    """

    def make() -> Past:
        ticks = _ticks(spec, path())
        rng = random.Random(f"bpx-tui-backfill-{seed}-{spec.symbol}")
        last, trades = _last_candles(rng, spec, ticks, first_minute_s)
        priced = shared.get(spec.price_decimals)
        if priced is None:
            priced = shared[spec.price_decimals] = _price_candles(spec, ticks, first_minute_s)
        return {"Last": last, "Mark": priced, "Index": priced}, trades

    return make


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


def _on_grid(spec: MarketSpec, price: float) -> int:
    """``price`` in whole ticks of ``spec`` (at least one)."""
    return max(1, round(price * 10.0**spec.price_decimals))


def _ticks(spec: MarketSpec, path: Path) -> list[Ticks]:
    """The walk on one market's grid: (open, high, low, close) ticks, high/low covering both."""
    scale = 10**spec.price_decimals
    rows: list[Ticks] = []
    for prices in path:
        opened, high, low, close = (max(1, round(price * scale)) for price in prices)
        rows.append((opened, max(high, opened, close), min(low, opened, close), close))
    return rows


def _price_candles(spec: MarketSpec, ticks: list[Ticks], first_minute_s: int) -> list[Candle]:
    """Mark and index candles: the traded prices and no volume (nothing trades an index).

    One list serves both kinds (the past ends the minute before the venue opened).
    """
    decimal = _decimals(spec, ticks)
    return [
        _candle(start_s, row, decimal)
        for start_s, row in zip(
            range(first_minute_s, first_minute_s + 60 * MINUTES, 60), ticks, strict=True
        )
    ]


def _last_candles(
    rng: random.Random, spec: MarketSpec, ticks: list[Ticks], first_minute_s: int
) -> tuple[list[Candle], list[PastTrade]]:
    """Traded candles of one market, and the trades of its last minutes."""
    decimal = _decimals(spec, ticks)
    candles: list[Candle] = []
    trades: list[PastTrade] = []
    tape_from = len(ticks) - TAPE_MINUTES
    for minute, row in enumerate(ticks):
        start_s = first_minute_s + minute * 60
        last = _candle(start_s, row, decimal)
        candles.append(last)
        if minute >= tape_from:
            tape = _tape(rng, spec, row, start_s)
            trades.extend(tape)
            volume_steps = sum(qty for _, qty, _, _ in tape)
            quote_units = sum(price * qty for price, qty, _, _ in tape)
            last.trades = len(tape)
        else:
            volume_steps = spec.touch_size_steps * (5 + int(56 * rng.random()))
            quote_units = volume_steps * (row[0] + row[3]) // 2
            last.trades = 3 + int(38 * rng.random())  # randint is 3x slower
        last.volume = spec.qty_dec(volume_steps)
        last.quote_volume = spec.notional_dec(quote_units)
    return candles, trades


def _decimals(spec: MarketSpec, ticks: list[Ticks]) -> dict[int, Decimal]:
    """Every price the walk visits as a ``Decimal``, made once: a day revisits most."""
    price_dec = spec.price_dec
    return {price: price_dec(price) for price in {p for row in ticks for p in row}}


def _candle(start_s: int, row: Ticks, decimal: dict[int, Decimal]) -> Candle:
    opened, high, low, close = row
    candle = Candle(start_s, decimal[opened])
    candle.high = decimal[high]
    candle.low = decimal[low]
    candle.close = decimal[close]
    return candle


def _tape(rng: random.Random, spec: MarketSpec, row: Ticks, start_s: int) -> list[PastTrade]:
    """Trades inside one candle: the first at its open, the last at its close."""
    opened, high, low, close = row
    count = TRADES_PER_MINUTE
    start_us = start_s * 1_000_000
    spacing = 60_000_000 // (count + 1)
    tape: list[PastTrade] = []
    for i in range(count):
        price = opened if i == 0 else close if i == count - 1 else rng.randint(low, high)
        qty = max(spec.min_quantity_steps, spec.touch_size_steps * rng.randint(1, 4))
        tape.append((price, qty, start_us + (i + 1) * spacing, rng.random() < 0.5))
    return tape


def _funding_rates(
    rng: random.Random, spec: MarketSpec, carry: FundingCarry, now_us: int
) -> list[tuple[int, Decimal]]:
    """Hourly rates of the intervals that ended before ``now_us``, oldest first."""
    assert spec.funding_upper_bps is not None and spec.funding_lower_bps is not None
    interval_us = FUNDING_INTERVAL_MS * 1000
    last_end = now_us // interval_us * interval_us
    upper, lower = spec.funding_upper_bps / 10_000, spec.funding_lower_bps / 10_000
    rates = []
    for back in range(FUNDING_INTERVALS, 0, -1):
        end_us = last_end - (back - 1) * interval_us
        base = float(carry.at(spec.symbol, end_us - 1))
        rate = min(max(base + FUNDING_NOISE * rng.gauss(0.0, 1.0), lower), upper)
        rates.append((end_us, Decimal(repr(rate)).quantize(Decimal("1e-10"))))
    return rates
