"""A DataTable that is only ever told "here is the whole table now".

Any ``update_cell`` invalidates every render cache of a DataTable (docs/PERFORMANCE.md
"Textual: DataTable"), so this class compares the new contents with what it already
shows and touches only the cells that changed, with fixed column widths (no
re-measure). Rows are rebuilt only when the set or order of rows changes (an order
placed or filled, a position opened or closed), which is rare next to price changes.
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


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    right: bool = True


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
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._shown: dict[str, Cells] = {}

    def on_mount(self) -> None:
        for column in self.COLUMNS:
            self.add_column(
                Text(column.label, justify="right" if column.right else "left"),
                width=column.width,
                key=column.key,
            )

    def _text(self, cell: Cell, column: Column) -> Text:
        text, style_name = cell
        style = (
            self.get_component_rich_style(f"diff-table--{style_name}", partial=True)
            if style_name
            else ""
        )
        return Text(text, style=style, justify="right" if column.right else "left", no_wrap=True)

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
        if list(rows) != list(self._shown):
            self._rebuild(rows)
            return
        for key, cells in rows.items():
            before = self._shown[key]
            if cells == before:
                continue
            for column, cell, old in zip(self.COLUMNS, cells, before, strict=True):
                if cell != old:
                    self.update_cell(key, column.key, self._text(cell, column))
            self._shown[key] = cells

    def _rebuild(self, rows: dict[str, Cells]) -> None:
        selected = self.selected_key
        self.clear()
        for key, cells in rows.items():
            self.add_row(
                *(
                    self._text(cell, column)
                    for column, cell in zip(self.COLUMNS, cells, strict=True)
                ),
                key=key,
            )
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

    def show_rows(self, rows: dict[str, Cells], subtitle: str) -> None:
        """Diff the rows in; swap table and sentence only when emptiness changes."""
        table = self.query_one(self.TABLE)
        table.sync(rows)
        empty = not rows
        if table.display == empty:
            table.display = not empty
            self.query_one(f"#{self.STEM}-empty", Static).display = empty
        self.border_subtitle = subtitle if rows else ""
