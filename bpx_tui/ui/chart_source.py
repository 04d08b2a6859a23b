"""Where the candle chart's candles come from: klines reads, bounded and coalesced.

The chart shows one market in one timeframe (``ui/candles.py`` for the timeframes and
the drawing). This collaborator of the app owns the reads: a full read of
:data:`~bpx_tui.ui.candles.CANDLES_WANTED` candles when a market or timeframe is first
shown, then a read of the tail only (from the last candle's start) at most every
:data:`REPOLL_S`, and never two reads at once — a slow exchange gets fewer requests,
not a queue. Between reads the stream's 1 m candles move the last candle
(:func:`~bpx_tui.ui.candles.overlay`). Read series are kept per (market, timeframe),
so switching back is instant and only the tail is read again.

No Textual here: the app calls :meth:`ChartSource.due` from its slow clock and runs
:meth:`ChartSource.read` as a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from bpx_tui.exchange.errors import BackpackError
from bpx_tui.exchange.models import Kline
from bpx_tui.exchange.rest import RestClient
from bpx_tui.ui import candles
from bpx_tui.ui.candles import Candle, ChartView, PriceLine

log = logging.getLogger("bpx_tui.ui.chart")

REPOLL_S = 10.0
"""The tail of the shown series is read again this often (one small request)."""
RETRY_S = 5.0
"""After a failed read, the next one waits this long."""


@dataclass(slots=True)
class Series:
    """One market's candles in one timeframe, as last read, and when."""

    candles: tuple[Candle, ...] = ()
    read_ms: int = 0  # the wall clock when the read was answered (0: never read)
    baseline: dict[int, Decimal] = field(default_factory=dict)  # minute → streamed volume then
    failed_ms: int = 0


class ChartSource:
    """The active chart's timeframe and the read candle series behind it."""

    def __init__(self, wall_ms: Callable[[], int]) -> None:
        self._wall_ms = wall_ms
        self.timeframe = candles.DEFAULT_TIMEFRAME
        self.series: dict[tuple[str, str], Series] = {}
        self.reading = False
        self.reads = 0  # requests sent: what a test counts to prove the bound

    def set_timeframe(self, timeframe: str) -> bool:
        """Switch; False when it already was that timeframe."""
        if timeframe == self.timeframe:
            return False
        self.timeframe = timeframe
        return True

    def due(self, symbol: str) -> bool:
        """Whether a read of ``symbol`` in the current timeframe should start now."""
        if self.reading:
            return False
        now = self._wall_ms()
        series = self.series.get((symbol, self.timeframe))
        if series is None:
            return True
        if series.failed_ms:
            return now - series.failed_ms >= RETRY_S * 1000
        return now - series.read_ms >= REPOLL_S * 1000

    async def read(
        self, rest: RestClient, symbol: str, streamed: Callable[[], Iterable[Kline]]
    ) -> bool:
        """Read the current timeframe's candles (the tail once some are held); True when
        something arrived. ``streamed`` gives the stream's 1 m candles at answer time,
        whose volumes become the overlay's baseline."""
        if self.reading:
            return False
        timeframe = self.timeframe
        key = (symbol, timeframe)
        series = self.series.setdefault(key, Series())
        seconds = candles.SECONDS[timeframe]
        if series.candles:
            start_s = series.candles[-1].start_ms // 1000
        else:
            now_s = self._wall_ms() // 1000
            start_s = now_s // seconds * seconds - candles.CANDLES_WANTED * seconds
        self.reading = True
        self.reads += 1
        try:
            rows = await rest.klines(symbol, timeframe, start_s)
        except BackpackError as exc:
            log.warning("klines %s %s failed: %s", symbol, timeframe, exc)
            series.failed_ms = self._wall_ms()
            return False
        finally:
            self.reading = False
        series.failed_ms = 0
        series.read_ms = self._wall_ms()
        series.candles = candles.splice(series.candles, candles.from_klines(rows))
        series.baseline = {k.start_ms: k.volume for k in streamed() if k.start_ms is not None}
        return True

    def view(
        self,
        symbol: str,
        streamed: Iterable[Kline],
        decimals: int,
        lines: tuple[PriceLine, ...],
    ) -> ChartView:
        """What the chart draws now: the read series with the stream laid over it."""
        timeframe = self.timeframe
        series = self.series.get((symbol, timeframe))
        if series is None or not series.read_ms:
            note = "klines read failed; retrying" if series and series.failed_ms else "loading…"
            return ChartView(symbol, timeframe, (), decimals, lines, note=note)
        shown = candles.overlay(
            series.candles, streamed, timeframe, series.read_ms, series.baseline
        )
        return ChartView(symbol, timeframe, shown, decimals, lines, note="no candles yet")
