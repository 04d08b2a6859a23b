"""The activity panel: the session's events, newest first, scrollable.

Drawn line by line from the :class:`~bpx_tui.ui.activity.ActivityLog` (a ScrollView's
``render_line``), so a session of thousands of entries costs only the lines on
screen. Columns that do not fit leave in rank order; the result takes what is left
and wraps at words onto the entry's next lines (an exchange's refusal is read whole),
up to :data:`LINES_PER_ENTRY`. Which entry a screen line shows is a binary search in
the running line counts, which grow by one number per new entry.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_right
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bpx_tui.ui import fmt
from bpx_tui.ui.activity import ActivityEntry, ActivityLog
from bpx_tui.ui.widgets.table import GAP, Column, fit_columns

EMPTY = "No activity yet: fills, orders, cancels, refusals and reconnects show here"
RESULT_MIN = 16
LINES_PER_ENTRY = 4
COLUMNS = (
    Column("time", "Time", 8, right=False),
    Column("event", "Event", 9, right=False),
    Column("market", "Market", 14, right=False, drop_rank=1),
    Column("side", "Side", 4, right=False, drop_rank=2),
    Column("size", "Size", 9, drop_rank=4),
    Column("price", "Price", 10, drop_rank=3),
)
RESULT = Column("result", "Result", RESULT_MIN, right=False)


def shorten(text: str, width: int) -> str:
    """``text`` in ``width`` cells: cut at a space and marked with an ellipsis, so a
    number is either whole or absent."""
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    return (text[:cut] if cut > 0 else "") + "…"


def result_lines(result: str, width: int) -> list[str]:
    """The result wrapped at words to ``width``; the last kept line says if more was cut."""
    lines = textwrap.wrap(result, width, break_on_hyphens=False) or [""]
    if len(lines) > LINES_PER_ENTRY:
        rest = " ".join(lines[LINES_PER_ENTRY - 1 :])
        lines = [*lines[: LINES_PER_ENTRY - 1], shorten(rest, width)]
    return lines


def entry_cells(entry: ActivityEntry) -> tuple[str, ...]:
    return (
        fmt.clock(entry.at_ms),
        entry.event,
        entry.market,
        entry.side,
        entry.size,
        entry.price,
    )


class ActivityPanel(ScrollView, can_focus=True):
    """Newest first; a trader scrolled back keeps seeing the same lines as new ones
    arrive above."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "activity--header",
        "activity--buy",
        "activity--sell",
        "activity--bad",
        "activity--warn",
        "activity--muted",
        "activity--empty",
    }
    DEFAULT_CSS = """
    ActivityPanel { scrollbar-size-vertical: 1; overflow-x: hidden; padding: 0 0 0 1; }
    ActivityPanel > .activity--header { color: $text-muted; text-style: bold; }
    ActivityPanel > .activity--buy { color: $bid; }
    ActivityPanel > .activity--sell { color: $ask; }
    ActivityPanel > .activity--bad { color: $alarm; text-style: bold; }
    ActivityPanel > .activity--warn { color: $warning; }
    ActivityPanel > .activity--muted { color: $text-muted; }
    ActivityPanel > .activity--empty { color: $text-muted; }
    """

    def __init__(self, activity: ActivityLog, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.activity = activity
        self._version = -1
        self._layout: tuple[tuple[int, ...], int] = ((), 0)
        # _starts[k]: the first line (oldest first) of the k-th oldest entry, for the
        # width and drop count they were counted at; one more number than entries.
        self._starts: list[int] = [0]
        self._counted_for: tuple[int, int] = (-1, -1)

    def on_mount(self) -> None:
        self.border_title = "Activity"

    def show(self) -> None:
        """Take in what was recorded since the last call (cheap when nothing was)."""
        activity = self.activity
        if activity.version == self._version:
            return
        self._version = activity.version
        before = self._starts[-1]
        self._count_lines()
        added = self._starts[-1] - before
        if added > 0 and self.scroll_offset.y > 0:
            # Scrolled back: the lines being read stay where they are.
            self.scroll_to(y=self.scroll_offset.y + added, animate=False, immediate=True)
        count = len(activity)
        self.border_subtitle = f"{count} event{'' if count == 1 else 's'}"
        self.refresh()

    def on_resize(self) -> None:
        self._count_lines()
        self.refresh()

    def _count_lines(self) -> None:
        """Bring the line counts up to date: extend for new entries, recount all only
        when the width changed or old entries were dropped."""
        activity = self.activity
        width = self.size.width
        if width <= 0:
            return  # hidden (a folded tab): counted when it shows, at its real width
        _shown, result_width = self._columns(width)
        if self._counted_for != (result_width, activity.dropped):
            self._counted_for = (result_width, activity.dropped)
            self._starts = [0]
        starts = self._starts
        for index in range(len(starts) - 1, len(activity)):
            starts.append(starts[-1] + len(result_lines(activity[index].result, result_width)))
        self.virtual_size = Size(width, starts[-1] + 1)

    def _line(self, line: int) -> tuple[ActivityEntry, int] | None:
        """The entry shown on ``line`` (0: the newest entry's first line) and which of
        its lines it is."""
        starts = self._starts
        total = starts[-1]
        if not 0 <= line < total:
            return None
        oldest_first = total - 1 - line
        index = bisect_right(starts, oldest_first) - 1
        top = total - starts[index + 1]  # where the entry's first line is drawn
        return self.activity[index], line - top

    @property
    def visible_columns(self) -> tuple[str, ...]:
        shown, _result = self._columns(self.size.width)
        return (*(COLUMNS[i].key for i in shown), RESULT.key)

    def _columns(self, width: int) -> tuple[tuple[int, ...], int]:
        """The columns shown and the result's width, for ``width`` cells."""
        if self._layout[1] != width or not self._layout[0]:
            widths = [column.width for column in COLUMNS]
            shown = fit_columns(COLUMNS, widths, width - RESULT_MIN)
            self._layout = (shown, width)
        shown = self._layout[0]
        used = sum(COLUMNS[i].width + GAP for i in shown)
        return shown, max(1, width - used)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"activity--{name}")

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        shown, result_width = self._columns(width)
        if y == 0:
            labels = tuple(column.label for column in COLUMNS)
            header = self._style("header")
            return self._strip(labels, RESULT.label, shown, width, header)
        if not len(self.activity):
            text = EMPTY if y == 2 else ""
            return Strip([Segment(shorten(text, width), self._style("empty"))]).crop_extend(
                0, width, None
            )
        if self._counted_for != (result_width, self.activity.dropped):
            self._count_lines()  # painted at a new width before on_resize ran
        found = self._line(self.scroll_offset.y + y - 1)
        if found is None:
            return Strip.blank(width)
        entry, part = found
        style = self._style(entry.tone) if entry.tone else Style()
        wrapped = result_lines(entry.result, result_width)
        result = wrapped[part] if part < len(wrapped) else ""
        cells = entry_cells(entry) if part == 0 else ("",) * len(COLUMNS)
        return self._strip(cells, result, shown, width, style)

    @staticmethod
    def _strip(
        cells: tuple[str, ...], result: str, shown: tuple[int, ...], width: int, style: Style
    ) -> Strip:
        parts = []
        for i in shown:
            column = COLUMNS[i]
            text = cells[i]
            cell = f"{text:>{column.width}}" if column.right else f"{text:<{column.width}}"
            parts.append(cell + " " * GAP)
        parts.append(result)
        return Strip([Segment("".join(parts), style)]).crop_extend(0, width, None)
