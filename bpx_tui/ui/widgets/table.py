"""A DataTable that is only ever told "here is the whole table now".

Any ``update_cell`` invalidates every render cache of a DataTable (docs/PERFORMANCE.md
"Textual: DataTable"), so this class compares the new contents with what it already
shows and touches only the cells that changed, with fixed column widths (no
re-measure). Rows are rebuilt only when the set or order of rows changes (an order
placed or filled, a position opened or closed), which is rare next to price changes.

A narrow table drops its least important columns first (``Column.drop_rank``) rather
than cutting any: and a value wider than its column widens the column, so no number is
ever shown cut in the middle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from bpx_tui.ui.widgets.unchanged import set_titles


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    """The width of the widest value expected; a wider one widens the column."""
    right: bool = True
    drop_rank: int = 0
    """0: always shown. Otherwise, when the table is too narrow, the column with the
    highest rank is dropped first."""


GAP = 1  # blank cells between two columns (the DataTable's own padding is off)


def fit_columns(columns: Sequence[Column], widths: Sequence[int], room: int) -> tuple[int, ...]:
    """The indices of the columns shown in ``room`` cells, most important kept.

    Columns leave in descending ``drop_rank``; rank 0 never leaves, even when what is
    left is still too wide (the table then scrolls sideways instead of hiding a number).
    """
    shown = list(range(len(columns)))
    droppable = sorted(
        (i for i, column in enumerate(columns) if column.drop_rank),
        key=lambda i: (-columns[i].drop_rank, -i),
    )
    for index in droppable:
        if sum(widths[i] + GAP for i in shown) <= room:
            break
        shown.remove(index)
    return tuple(shown)


Cell = tuple[str, str]  # (text, component class suffix or "")
Cells = tuple[Cell, ...]


class Keyed(Protocol):
    """A view value that is one table row: ``key`` is its row key."""

    @property
    def key(self) -> str: ...


R = TypeVar("R", bound=Keyed)


class CellMemo(Generic[R]):
    """Each row's cells from its view value, formatted again only when the value changed.

    The tables redraw on a clock and most rows are the same as last frame (a mark moves
    about once a second, the pump runs four times); comparing a frozen value is cheaper
    than formatting its numbers again, and a reused cells tuple is what
    :meth:`DiffTable.sync` skips fastest. Rows that left are forgotten on each call.
    """

    __slots__ = ("_last", "_render")

    def __init__(self, render: Callable[[R], Cells]) -> None:
        self._render = render
        self._last: dict[str, tuple[R, Cells]] = {}

    def __call__(self, rows: Iterable[R]) -> dict[str, Cells]:
        """``{row key: cells}`` in the order of ``rows``."""
        last = self._last
        kept: dict[str, tuple[R, Cells]] = {}
        cells: dict[str, Cells] = {}
        for row in rows:
            key = row.key
            seen = last.get(key)
            if seen is None or seen[0] != row:
                seen = (row, self._render(row))
            kept[key] = seen
            cells[key] = seen[1]
        self._last = kept
        return cells


class DiffTable(DataTable[Text]):
    """Shows ``{row_key: cells}``; see :meth:`sync`."""

    DEFAULT_CSS = """
    DiffTable { padding: 0; }
    """

    COLUMNS: ClassVar[Sequence[Column]] = ()
    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "diff-table--up",
        "diff-table--down",
        "diff-table--muted",
        "diff-table--active",
        "diff-table--alarm",
        "diff-table--warn",
        "diff-table--stale",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id, classes=classes, cursor_type="row", zebra_stripes=False, cell_padding=0
        )
        self._shown: dict[str, Cells] = {}
        self._widths = [column.width for column in self.COLUMNS]
        self._visible: tuple[int, ...] = ()

    def on_mount(self) -> None:
        self._lay_out_columns()

    def on_resize(self) -> None:
        self._lay_out_columns()

    @property
    def visible_columns(self) -> tuple[str, ...]:
        """The keys of the columns shown at the table's current width."""
        return tuple(self.COLUMNS[i].key for i in self._visible)

    def _lay_out_columns(self, *, force: bool = False) -> None:
        """Choose the columns that fit; rebuild the table only when that choice changed."""
        room = self.scrollable_content_region.width or self.size.width
        visible = fit_columns(self.COLUMNS, self._widths, room) if room else self._visible
        if not room and not self._visible:
            visible = tuple(range(len(self.COLUMNS)))
        if visible == self._visible and not force:
            return
        self._visible = visible
        selected = self.selected_key
        self.clear(columns=True)
        for i in visible:
            column = self.COLUMNS[i]
            self.add_column(
                self._justified(Text(column.label), column),
                width=self._widths[i] + GAP,
                key=column.key,
            )
        rows, self._shown = self._shown, {}
        self._rebuild(rows, selected)

    def _widen(self, rows: dict[str, Cells]) -> bool:
        """Make every column at least as wide as its widest value; True if one grew."""
        grew = False
        for cells in rows.values():
            for i, (text, _style) in enumerate(cells):
                if len(text) > self._widths[i]:
                    self._widths[i] = len(text)
                    grew = True
        return grew

    @staticmethod
    def _justified(text: Text, column: Column) -> Text:
        """Each column is :data:`GAP` wider than its widest value and the gap is always
        on its left: numbers stay flush right, and a left-aligned column after a number
        (``Filled`` then ``Status``) still starts one blank cell after it."""
        if column.right:
            text.justify = "right"
            return text
        gapped = Text(" " * GAP) + text
        gapped.justify = "left"
        gapped.no_wrap = text.no_wrap
        return gapped

    def _text(self, cell: Cell, column: Column) -> Text:
        text, style_name = cell
        style = (
            self.get_component_rich_style(f"diff-table--{style_name}", partial=True)
            if style_name
            else ""
        )
        return self._justified(Text(text, style=style, no_wrap=True), column)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self._shown or self.cursor_row < 0:
            return None
        try:
            return str(self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value)
        except Exception:
            return None

    def sync(self, rows: dict[str, Cells]) -> None:
        """Make the table show ``rows`` (in order) changing as few cells as possible."""
        changed = {key: cells for key, cells in rows.items() if cells != self._shown.get(key)}
        if self._widen(changed):
            self._shown = dict(rows)
            self._lay_out_columns(force=True)
            return
        if list(rows) != list(self._shown):
            self._rebuild(rows)
            return
        columns = self.COLUMNS
        for key, cells in changed.items():
            before = self._shown[key]
            for i in self._visible:
                if cells[i] != before[i]:
                    self.update_cell(key, columns[i].key, self._text(cells[i], columns[i]))
            self._shown[key] = cells

    def _rebuild(self, rows: dict[str, Cells], selected: str | None = None) -> None:
        selected = selected or self.selected_key
        self.clear()
        columns = self.COLUMNS
        for key, cells in rows.items():
            self.add_row(*(self._text(cells[i], columns[i]) for i in self._visible), key=key)
        self._shown = dict(rows)
        if selected in rows:
            self.move_cursor(row=list(rows).index(selected), animate=False)


class TablePanel(Vertical):
    """A :class:`DiffTable`, or one centred sentence when it has no rows.

    Subclasses name the table class, the title, the empty sentence and an id stem; the
    children get the ids ``<stem>-table`` and ``<stem>-empty`` that the styles use.
    """

    DEFAULT_CSS = """
    TablePanel > Static { height: 1fr; content-align: center middle; }
    """

    TABLE: ClassVar[type[DiffTable]]
    TITLE: ClassVar[str]
    EMPTY: ClassVar[str]
    STEM: ClassVar[str]

    def compose(self) -> ComposeResult:
        yield self.TABLE(id=f"{self.STEM}-table")
        yield Static(self.EMPTY, id=f"{self.STEM}-empty")

    def on_mount(self) -> None:
        self.border_title = self.TITLE
        self.query_one(self.TABLE).display = False

    @property
    def table(self) -> DiffTable:
        return self.query_one(self.TABLE)

    def show_rows(self, rows: dict[str, Cells], subtitle: str) -> None:
        """Diff the rows in; swap table and sentence only when emptiness changes."""
        table = self.query_one(self.TABLE)
        table.sync(rows)
        empty = not rows
        if table.display == empty:
            table.display = not empty
            self.query_one(f"#{self.STEM}-empty", Static).display = empty
        set_titles(self, subtitle=subtitle if rows else "")
