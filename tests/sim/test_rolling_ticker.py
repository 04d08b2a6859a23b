"""The local exchange's 24 h ticker keeps the merge of its closed candles between calls:
it must equal the ticker merged from scratch at every second, across minute boundaries,
the window's lower edge passing candles, and trades landing in the live candle."""

from __future__ import annotations

import random
from decimal import Decimal

from bpx_tui.sim.venue.marketdata import DAY_S, MarketData, _merge
from bpx_tui.sim.venue.universe import CORE

SPEC = CORE[2]  # SOL_USDC_PERP
START_S = 1_760_000_000


def _from_scratch(data: MarketData, now_s: int) -> tuple[Decimal, ...] | None:
    window = [c for c in data.candles["Last"] if now_s - DAY_S + 1 <= c.start_s < now_s + 60]
    if not window:
        return None
    m = _merge(window[0].start_s, window)
    return (m.open, m.high, m.low, m.close, m.volume, m.quote_volume, Decimal(m.trades))


def _ticker(data: MarketData, now_s: int) -> tuple[Decimal, ...] | None:
    day = data._rolling_day(now_s - DAY_S + 1, now_s + 60)
    if day is None:
        return None
    return (
        day.open, day.high, day.low, day.close, day.volume, day.quote_volume, Decimal(day.trades)
    )  # fmt: skip


def test_the_kept_merge_equals_a_merge_from_scratch_every_second() -> None:
    rng = random.Random(7)
    data = MarketData(SPEC)
    assert _ticker(data, START_S) is None
    price = 150_000  # ticks
    # A day and a half of trades, a few a minute, then read every second for 3 minutes
    # while trades keep landing (the window's lower edge passes candles all the time).
    now_s = START_S
    for _ in range(36 * 60 * 3):
        now_s += rng.randint(5, 35)
        price += rng.randint(-40, 40)
        data.record_trade(price, rng.randint(1, 50), price * 10, now_s * 1_000_000, False)
    for second in range(180):
        t = now_s + second
        if second % 7 == 0:
            price += rng.randint(-40, 40)
            data.record_trade(price, 3, price * 3, t * 1_000_000, True)
        assert _ticker(data, t) == _from_scratch(data, t), second
    body = data.ticker(t * 1_000_000, Decimal(1))
    assert Decimal(body["high"]) == _from_scratch(data, t)[1]  # type: ignore[index]
