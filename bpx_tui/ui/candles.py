"""The candle chart's pure model: timeframes, the live last candle, price → row, glyphs.

No Textual here, so every rule is a unit test; ``ui/widgets/chart.py`` only paints the
:class:`ChartGrid` this module lays out, and ``ui/chart_source.py`` fetches the candles.

**The live last candle.** ``GET /api/v1/klines`` is the truth for every candle of the
timeframe, but it is a poll; the stream's ``kline.1m`` candles arrive with every trade.
:func:`overlay` lays the streamed minutes *from the REST read's minute on* over the read:
the high and low are the union (exact: both are the market's own extremes), the close is
the newest minute's, and the volume adds what each minute gained since the read (its
streamed volume minus what it had streamed when the read was answered). Minutes before
the read are the read's alone. A minute that starts a new bucket opens a new candle.
The next tail read (``chart_source.REPOLL_S``) replaces the overlay with the truth again.

**Drawing.** A cell holds two half-rows; each half is empty, wick or body, and the pair
picks one box-drawing glyph (``┃`` body, ``│`` wick, ``╻`` / ``╹`` half a body, ...), so
the vertical resolution is twice the row count. A body is at least one half tall, so a
doji still shows where it opened and closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bpx_tui.exchange.models import Kline

TIMEFRAMES: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h", "1d")
"""The chart's timeframes, shortest first (``[`` / ``]`` step through them)."""
SECONDS: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
DEFAULT_TIMEFRAME = "1m"
CANDLES_WANTED = 240
"""How many candles a read asks for: more than the widest chart shows."""

_EMPTY, _WICK, _BODY = 0, 1, 2
GLYPHS: dict[tuple[int, int], str] = {
    (_EMPTY, _EMPTY): " ",
    (_WICK, _WICK): "│",
    (_BODY, _BODY): "┃",
    (_EMPTY, _WICK): "╷",
    (_WICK, _EMPTY): "╵",
    (_EMPTY, _BODY): "╻",
    (_BODY, _EMPTY): "╹",
    (_WICK, _BODY): "╽",
    (_BODY, _WICK): "╿",
}
"""(top half, bottom half) → the cell's glyph."""
VOLUME_BLOCKS = " ▁▂▃▄▅▆▇█"
ZERO = Decimal(0)


class TimeframeError(ValueError):
    """Not one of :data:`TIMEFRAMES`; the message lists them."""


def parse_timeframe(text: str) -> str:
    """``text`` as a timeframe (case-insensitive: ``1H`` is ``1h``), or :class:`TimeframeError`."""
    word = text.strip().lower()
    if word not in SECONDS:
        raise TimeframeError(f"{text!r} is not a timeframe: one of {', '.join(TIMEFRAMES)}")
    return word


def step(timeframe: str, by: int) -> str:
    """The timeframe ``by`` places along :data:`TIMEFRAMES`, stopping at either end."""
    index = TIMEFRAMES.index(timeframe) + by
    return TIMEFRAMES[max(0, min(len(TIMEFRAMES) - 1, index))]


@dataclass(frozen=True, slots=True)
class Candle:
    start_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @property
    def rising(self) -> bool:
        return self.close >= self.open


def from_klines(klines: Iterable[Kline]) -> tuple[Candle, ...]:
    """The complete rows of a klines answer, oldest first (a row missing a price is
    skipped: there is nothing to draw for it)."""
    candles: dict[int, Candle] = {}
    for k in klines:
        if None in (k.start_ms, k.open, k.high, k.low, k.close):
            continue
        assert k.start_ms is not None and k.open is not None and k.high is not None
        assert k.low is not None and k.close is not None
        candles[k.start_ms] = Candle(k.start_ms, k.open, k.high, k.low, k.close, k.volume)
    return tuple(candles[key] for key in sorted(candles))


def bucket_ms(ms: int, timeframe: str) -> int:
    size = SECONDS[timeframe] * 1000
    return ms // size * size


def splice(old: Sequence[Candle], tail: Sequence[Candle]) -> tuple[Candle, ...]:
    """``old`` with everything from ``tail``'s first candle on replaced by ``tail``."""
    if not tail:
        return tuple(old)
    first = tail[0].start_ms
    return (*(c for c in old if c.start_ms < first), *tail)


def overlay(
    read: Sequence[Candle],
    minutes: Iterable[Kline],
    timeframe: str,
    read_ms: int,
    baseline: dict[int, Decimal],
) -> tuple[Candle, ...]:
    """``read`` (a klines answer received at ``read_ms``) with the streamed 1 m candles
    laid over its last bucket and any newer ones (module docstring). ``baseline`` is each
    minute's streamed volume when the read was answered."""
    since = bucket_ms(read_ms, "1m")
    live = sorted(
        (k for k in minutes if k.start_ms is not None and k.start_ms >= since and _whole(k)),
        key=lambda k: k.start_ms or 0,
    )
    candles = list(read)
    for k in live:
        assert k.start_ms is not None and k.open is not None and k.close is not None
        assert k.high is not None and k.low is not None
        start = bucket_ms(k.start_ms, timeframe)
        gained = max(ZERO, k.volume - baseline.get(k.start_ms, ZERO))
        last = candles[-1] if candles else None
        if last is not None and last.start_ms == start:
            candles[-1] = Candle(
                start,
                last.open,
                max(last.high, k.high),
                min(last.low, k.low),
                k.close,
                last.volume + gained,
            )
        elif last is None or start > last.start_ms:
            candles.append(Candle(start, k.open, k.high, k.low, k.close, gained))
    return tuple(candles)


def _whole(k: Kline) -> bool:
    return None not in (k.open, k.high, k.low, k.close)


# ----------------------------------------------------------------------------- layout


@dataclass(frozen=True, slots=True)
class PriceLine:
    """A horizontal line across the chart at a price: the position's entry or liquidation."""

    price: Decimal
    label: str  # "entry", "liq"
    kind: Literal["entry", "liq"]


@dataclass(frozen=True, slots=True)
class ChartView:
    """What the chart draws: handed to the widget, compared to skip a repaint."""

    symbol: str
    timeframe: str
    candles: tuple[Candle, ...]
    decimals: int
    lines: tuple[PriceLine, ...] = ()
    note: str = ""
    """What the chart says when there are no candles (loading, failed, none)."""


@dataclass(frozen=True, slots=True)
class Scale:
    """Prices ``low``..``high`` over ``halves`` half-rows, top (0) = ``high``."""

    low: float
    high: float
    halves: int

    def half(self, price: Decimal | float) -> int:
        """The half-row of ``price``, clamped into the area."""
        if self.halves <= 1 or self.high <= self.low:
            return self.halves // 2
        share = (self.high - float(price)) / (self.high - self.low)
        return max(0, min(self.halves - 1, round(share * (self.halves - 1))))

    def row(self, price: Decimal | float) -> int:
        return self.half(price) // 2

    def inside(self, price: Decimal) -> bool:
        return self.low <= float(price) <= self.high


def scale_of(candles: Sequence[Candle], rows: int) -> Scale:
    """The candles' whole range over ``rows`` rows (a flat range gets a sliver around it,
    so it is drawn mid-height instead of dividing by zero)."""
    low = min((float(c.low) for c in candles), default=0.0)
    high = max((float(c.high) for c in candles), default=0.0)
    if high <= low:
        pad = abs(high) * 1e-4 or 1.0
        low, high = low - pad, high + pad
    return Scale(low, high, rows * 2)


def column(candle: Candle, scale: Scale, rows: int) -> list[str]:
    """The candle's glyph in each of ``rows`` rows, top first."""
    wick_top, wick_bottom = scale.half(candle.high), scale.half(candle.low)
    body_top = scale.half(max(candle.open, candle.close))
    body_bottom = scale.half(min(candle.open, candle.close))

    def state(half: int) -> int:
        if body_top <= half <= body_bottom:
            return _BODY
        if wick_top <= half <= wick_bottom:
            return _WICK
        return _EMPTY

    return [GLYPHS[state(2 * row), state(2 * row + 1)] for row in range(rows)]


def volume_column(volume: Decimal, most: Decimal, rows: int) -> list[str]:
    """A volume bar in eighths of a row, top first (the largest volume fills ``rows``)."""
    if rows <= 0:
        return []
    eighths = 0 if most <= 0 else round(float(volume / most) * rows * 8)
    if volume > 0:
        eighths = max(1, eighths)
    cells = []
    for row in range(rows):
        floor = (rows - 1 - row) * 8
        cells.append(VOLUME_BLOCKS[max(0, min(8, eighths - floor))])
    return cells


Tone = Literal["up", "down", "axis", "entry", "liq", "caption", "last", ""]


@dataclass(frozen=True, slots=True)
class ChartGrid:
    """The chart laid out as rows of ``(text, tone)`` runs, ready to paint."""

    rows: tuple[tuple[tuple[str, Tone], ...], ...]


MIN_PLOT_ROWS = 3  # fewer rows than this draw a sparkline of the closes instead
VOLUME_SHARE = 5  # one row in five is volume, when there are at least VOLUME_MIN_HEIGHT
VOLUME_MIN_HEIGHT = 8
STRIDE_MIN_CANDLES = 16  # below this many 2-column candles, candles touch (1 column each)
MIN_PLOT_COLUMNS = 8  # narrower than this with an axis: the axis goes
LINE_GLYPHS = {"entry": "◆", "liq": "✖"}
Cell = tuple[str, Tone]


def layout(view: ChartView, width: int, height: int) -> ChartGrid:
    """The whole panel: a caption line, then candles with a price axis on the right and
    volume bars under them; labelled lines at the position's entry and liquidation.
    Degrades with size: no volume below :data:`VOLUME_MIN_HEIGHT` rows, no axis when it
    would leave fewer than :data:`MIN_PLOT_COLUMNS`, a one-row :func:`sparkline` of the
    closes below :data:`MIN_PLOT_ROWS` + 1 rows, the caption alone in one row."""
    if width <= 0 or height <= 0:
        return ChartGrid(())
    out: list[tuple[tuple[str, Tone], ...]] = [((caption(view)[:width].ljust(width), "caption"),)]
    body = height - 1
    if not view.candles:
        if body > 0:
            out.append(((view.note[:width].ljust(width), "axis"),))
        return ChartGrid(tuple(out))
    if body < MIN_PLOT_ROWS:
        out.extend(sparkline(view.candles, width, body))
        return ChartGrid(tuple(out))
    volume_rows = body // VOLUME_SHARE if height >= VOLUME_MIN_HEIGHT else 0
    price_rows = body - volume_rows
    axis_width = 3 + max(len(price_text(c.high, view.decimals)) for c in view.candles)
    if width - axis_width < MIN_PLOT_COLUMNS:
        axis_width = 0
    plot = width - axis_width
    stride = 2 if plot // 2 >= STRIDE_MIN_CANDLES else 1
    shown = view.candles[-max(1, plot // stride) :]
    scale = scale_of(shown, price_rows)
    blank: Cell = (" ", "")
    grid = [[blank] * plot for _ in range(price_rows + volume_rows)]
    _draw_lines(grid, view.lines, scale, plot, names=False)
    most = max(c.volume for c in shown)
    for index, candle in enumerate(shown):
        x, tone = index * stride, _tone(candle)
        for row, glyph in enumerate(column(candle, scale, price_rows)):
            if glyph != " ":
                grid[row][x] = (glyph, tone)
        for row, block in enumerate(volume_column(candle.volume, most, volume_rows)):
            grid[price_rows + row][x] = (block, tone)
    _draw_lines(grid, view.lines, scale, plot, names=True)
    labels = _axis(view, shown, scale, price_rows)
    if volume_rows:
        labels[price_rows] = (f"vol {_compact(most)}", "axis")
    for row, cells in enumerate(grid):
        if axis_width:
            text, tone = labels.get(row, ("", "axis"))
            cells.append((" " + text[: axis_width - 1].ljust(axis_width - 1), tone))
        out.append(_runs(cells))
    return ChartGrid(tuple(out))


def sparkline(shown: Sequence[Candle], width: int, rows: int) -> list[tuple[tuple[str, Tone], ...]]:
    """For a chart with no room for candles: each candle's close as a bar in eighths of
    a row within the closes' range, coloured by the candle's direction."""
    shown = shown[-width:]
    low = min(c.close for c in shown)
    span = max(c.close for c in shown) - low
    full = rows * 8
    heights = [
        full // 2 if span <= 0 else 1 + round(float((c.close - low) / span) * (full - 1))
        for c in shown
    ]
    out = []
    for row in range(rows):
        floor = (rows - 1 - row) * 8
        cells: list[Cell] = [
            (VOLUME_BLOCKS[max(0, min(8, h - floor))], _tone(c))
            for h, c in zip(heights, shown, strict=True)
        ]
        cells.append((" " * (width - len(shown)), ""))
        out.append(_runs(cells))
    return out


def _tone(candle: Candle) -> Tone:
    return "up" if candle.rising else "down"


def _draw_lines(
    grid: list[list[Cell]], lines: Sequence[PriceLine], scale: Scale, plot: int, *, names: bool
) -> None:
    """Each line in range as ``─`` across the plot (``names`` False: under the candles),
    then (``names`` True: over them) its name at the left end, over the oldest candles."""
    for line in lines:
        if not scale.inside(line.price):
            continue
        row = grid[scale.row(line.price)]
        if names:
            row[: len(line.label) + 1] = [(char, line.kind) for char in line.label + " "][:plot]
        else:
            row[:] = [("─", line.kind)] * plot


def _runs(cells: Iterable[Cell]) -> tuple[tuple[str, Tone], ...]:
    """Cells merged into runs of one tone (one Segment each)."""
    runs: list[tuple[str, Tone]] = []
    for text, tone in cells:
        if runs and runs[-1][1] == tone:
            runs[-1] = (runs[-1][0] + text, tone)
        else:
            runs.append((text, tone))
    return tuple(runs)


def _axis(
    view: ChartView, shown: Sequence[Candle], scale: Scale, rows: int
) -> dict[int, tuple[str, Tone]]:
    """Row → the axis label there. The position's lines in range at their rows first,
    then the last close, then a line off the range pinned to the edge it is beyond
    (``↑`` / ``↓``); each moves inward past a row already labelled, so none hides another.
    The range's top and bottom go on the rows still free."""
    d = view.decimals
    labels: dict[int, tuple[str, Tone]] = {}

    def put(row: int, inward: int, label: tuple[str, Tone]) -> None:
        while row in labels and 0 <= row + inward < rows:
            row += inward
        labels.setdefault(row, label)

    pinned = []
    for line in view.lines:
        glyph = LINE_GLYPHS[line.kind]
        if scale.inside(line.price):
            put(scale.row(line.price), 1, (glyph + price_text(line.price, d), line.kind))
        else:
            pinned.append((line, glyph))
    close = scale.row(shown[-1].close)
    put(close, -1 if close > rows // 2 else 1, (price_text(shown[-1].close, d), "last"))
    for line, glyph in pinned:
        top = float(line.price) > scale.high
        text = ("↑" if top else "↓") + glyph + price_text(line.price, d)
        put(0 if top else rows - 1, 1 if top else -1, (text, line.kind))
    labels.setdefault(0, (price_text(Decimal(repr(scale.high)), d), "axis"))
    labels.setdefault(rows - 1, (price_text(Decimal(repr(scale.low)), d), "axis"))
    return labels


def price_text(price: Decimal, decimals: int) -> str:
    return f"{price:,.{decimals}f}"


def _compact(value: Decimal) -> str:
    number = float(value)
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= size:
            return f"{number / size:.1f}{suffix}"
    return f"{number:.4g}"


def caption(view: ChartView) -> str:
    """The last candle's close and change first (what a narrow chart keeps), then its
    open, high, low and volume."""
    if not view.candles:
        return f"{view.timeframe} candles"
    last = view.candles[-1]
    d = view.decimals
    change = (last.close - last.open) / last.open * 100 if last.open else ZERO
    return (
        f"C {price_text(last.close, d)} {change:+.2f}%  O {price_text(last.open, d)} "
        f"H {price_text(last.high, d)} L {price_text(last.low, d)} V {_compact(last.volume)}"
    )
