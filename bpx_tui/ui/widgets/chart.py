"""A price chart of the active market: 1m closes when there are candles, else recent trades.

Drawn with the Line API as a multi-row block sparkline. Textual's ``Sparkline`` widget
renders through Rich on every paint (tens of milliseconds for a panel this size); here
the strips are built once per new series and reused until the data changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from bpx_tui.exchange.models import Kline, Trade

_BLOCKS = " ▁▂▃▄▅▆▇█"


def column_heights(values: Sequence[float], columns: int, rows: int) -> list[int]:
    """Each column's bar height in eighths of a row (the last ``columns`` values)."""
    data = list(values[-columns:]) if columns > 0 else []
    if not data:
        return []
    low, high = min(data), max(data)
    span = high - low
    full = rows * 8
    if span <= 0:
        return [full // 2] * len(data)
    return [1 + round((v - low) / span * (full - 1)) for v in data]


class PriceChart(Widget):
    """Caption line (last, range, change) over block bars."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "price-chart--caption",
        "price-chart--up",
        "price-chart--down",
    }

    DEFAULT_CSS = """
    PriceChart { height: 6; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.series: tuple[float, ...] = ()
        self.caption = "waiting for prices"
        self._strips: list[Strip] = []
        self._lines_key: object = None

    def reset(self, symbol: str) -> None:
        self.border_title = f"{symbol} · 1m"
        self.series = ()
        self.caption = "waiting for prices"
        self._lines_key = None
        self.refresh()

    def show(self, candles: Iterable[Kline], trades: Iterable[Trade], decimals: int) -> None:
        closes = [float(k.close) for k in candles if k.close is not None]
        source = "1m closes" if len(closes) >= 2 else "trades"
        series = tuple(closes if len(closes) >= 2 else (float(t.price) for t in trades))
        if series == self.series or not series:
            return
        self.series = series
        data = series[-max(1, self.size.width) :]
        low, high, first, last = min(data), max(data), data[0], data[-1]
        change = (last - first) / first * 100 if first else 0.0
        self.caption = (
            f"last {last:,.{decimals}f}  lo {low:,.{decimals}f}  hi {high:,.{decimals}f}  "
            f"{change:+.2f}%  ({len(data)} {source})"
        )
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines_key = None

    def _build(self, width: int, height: int) -> list[Strip]:
        base = self.rich_style
        caption = base + self.get_component_rich_style("price-chart--caption")
        data = self.series
        rising = len(data) < 2 or data[-1] >= data[0]
        bar = base + self.get_component_rich_style(f"price-chart--{'up' if rising else 'down'}")
        lines = [Strip([Segment(self.caption[:width], caption)]).crop_extend(0, width, base)]
        rows = max(0, height - 1)
        heights = column_heights(data, width, rows)
        for row in range(rows):
            floor = (rows - 1 - row) * 8  # eighths below this row
            text = "".join(_BLOCKS[max(0, min(8, h - floor))] for h in heights)
            lines.append(Strip([Segment(text, bar)]).crop_extend(0, width, base))
        return lines

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        key = (self.series, self.caption, width, height)
        if key != self._lines_key:
            self._strips = self._build(width, height)
            self._lines_key = key
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)
