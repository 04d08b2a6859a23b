"""The watchlist folded to one line: the active market, for terminals too short for the
table (under 40 rows).

It draws the same :class:`~bpx_tui.ui.views.WatchRow` the table does, so the two can
never disagree; the parts a funding trader reads first (price, funding rate, APR,
countdown) come first, and a part that does not fit is left out whole, never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from bpx_tui.ui import fmt
from bpx_tui.ui.views import WatchRow

SEPARATOR = "  "


def line_parts(row: WatchRow, others: int) -> list[tuple[str, str]]:
    """``(text, style)`` pieces, most important first."""
    decimals = row.price_decimals
    rate = row.funding_rate
    rate_style = "" if not rate else ("up" if rate > 0 else "down")
    change = row.change
    change_style = "" if not change else ("up" if change > 0 else "down")
    stale = "" if row.fresh.live else row.fresh.label
    parts: list[tuple[str, str]] = [
        (f"▶ {row.symbol}", "strong"),
        (fmt.num(row.last, decimals), "stale" if stale else "strong"),
    ]
    if stale:
        parts.append((stale, "alarm"))
    if rate is not None:
        parts.append((f"fund {fmt.pct(rate, 4)} APR {fmt.pct(row.funding_apr, 1)}", rate_style))
    if row.next_funding_s is not None:
        parts.append((fmt.countdown(row.next_funding_s * 1000), "muted"))
    parts.append((f"24h {fmt.pct(change)}", change_style))
    if row.mark is not None:
        parts.append((f"mark {fmt.num(row.mark, decimals)}", ""))
    if others:
        parts.append((f"+{others} more (/)", "muted"))
    return parts


def fit_parts(parts: Sequence[tuple[str, str]], width: int) -> list[tuple[str, str]]:
    """The leading parts that fit ``width`` cells, whole."""
    kept: list[tuple[str, str]] = []
    used = 0
    for text, style in parts:
        extra = len(text) + (len(SEPARATOR) if kept else 0)
        if used + extra > width:
            break
        kept.append((text, style))
        used += extra
    return kept


class WatchLine(Static):
    """One line; redrawn only when what it shows changed. Colours are component
    classes, so they follow the theme like the tables' do."""

    DEFAULT_CSS = """
    WatchLine { height: 1; padding: 0 1; background: $panel; }
    WatchLine > .watch-line--strong { text-style: bold; }
    WatchLine > .watch-line--up { color: $bid; }
    WatchLine > .watch-line--down { color: $ask; }
    WatchLine > .watch-line--muted { color: $text-muted; }
    WatchLine > .watch-line--stale { color: $text-disabled; }
    WatchLine > .watch-line--alarm { color: $error; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"watch-line--{name}" for name in ("strong", "up", "down", "muted", "stale", "alarm")
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._parts: list[tuple[str, str]] = []

    def show(self, rows: Sequence[WatchRow]) -> None:
        active = next((row for row in rows if row.active), None)
        parts = [] if active is None else line_parts(active, len(rows) - 1)
        if parts != self._parts:
            self._parts = parts
            self._draw()

    def on_resize(self) -> None:
        self._draw()

    @property
    def text(self) -> str:
        """What the line says now (for tests and the palette)."""
        return SEPARATOR.join(text for text, _style in self._fitted())

    def _fitted(self) -> list[tuple[str, str]]:
        return fit_parts(self._parts, self.content_region.width or self.size.width)

    def _draw(self) -> None:
        line = Text(no_wrap=True, overflow="crop")
        for text, style in self._fitted():
            if line.plain:
                line.append(SEPARATOR)
            rich = self.get_component_rich_style(f"watch-line--{style}") if style else ""
            line.append(text, style=rich)
        self.update(line)
