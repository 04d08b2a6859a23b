"""The active market's candle chart: OHLC candles, volume, the position's entry and liquidation.

Drawn with the Line API from the grid ``ui/candles.py`` lays out. The strips are built
once per new view (a changed candle, timeframe, size or theme) and every paint in
between returns the cached ones, so a repaint of the screen (the ladder's 20 a second)
costs the chart a list lookup. ``show`` with an equal view does nothing at all.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from bpx_tui.ui.candles import ChartView, Tone, layout

_CLASSES: dict[Tone, str] = {
    "up": "candle-chart--up",
    "down": "candle-chart--down",
    "axis": "candle-chart--axis",
    "last": "candle-chart--last",
    "entry": "candle-chart--entry",
    "liq": "candle-chart--liq",
    "caption": "candle-chart--caption",
}


class CandleChart(Widget):
    """Caption line over candles, a price axis on the right, volume bars under them."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(_CLASSES.values())

    DEFAULT_CSS = """
    CandleChart { height: 6; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: ChartView | None = None
        self.builds = 0  # strip builds: what a test counts to prove paints reuse them
        self._strips: list[Strip] = []
        self._lines_key: object = None

    def show(self, view: ChartView) -> None:
        """Draw ``view`` (nothing happens when it equals the one shown)."""
        if view == self.view:
            return
        title_changed = self.view is None or (view.symbol, view.timeframe) != (
            self.view.symbol,
            self.view.timeframe,
        )
        self.view = view
        if title_changed:
            self.border_title = f"{view.symbol} · {view.timeframe}"
            self.border_subtitle = "[ ] timeframe"
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines_key = None

    def _styles(self) -> dict[Tone, Style]:
        base = self.rich_style
        styles: dict[Tone, Style] = {"": base}
        for tone, name in _CLASSES.items():
            styles[tone] = base + self.get_component_rich_style(name)
        return styles

    def _build(self, width: int, height: int) -> list[Strip]:
        self.builds += 1
        if self.view is None:
            return []
        styles = self._styles()
        base = styles[""]
        return [
            Strip([Segment(text, styles[tone]) for text, tone in row]).crop_extend(0, width, base)
            for row in layout(self.view, width, height).rows
        ]

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        key = (self.view, width, height)
        if key != self._lines_key:
            self._strips = self._build(width, height)
            self._lines_key = key
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)
