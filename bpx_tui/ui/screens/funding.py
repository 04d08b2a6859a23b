"""``F`` / ``:funding``: the funding board, every perp's funding on one sortable screen.

The board draws rows handed to it (:meth:`FundingBoard.show`, called by the app on its
slow paint tick) and never reads the client; what the rows mean and where each figure
comes from is ``ui/funding_board.py``. It dismisses with the chosen symbol (Enter or a
click) and the app makes that market active, or with None (Esc).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from bpx_tui.ui import fmt, keys
from bpx_tui.ui.funding_board import BoardSort, FundingRow, arrange, interval_text
from bpx_tui.ui.widgets.table import CellMemo, Cells, Column, DiffTable

HINTS = {"funding_sort": "next column", "funding_reverse": "reverse", "funding_choose": "trade"}
"""The note line's word for each of the board's keys (``keys.py`` scope ``funding``)."""
TITLE = "Funding board · rate per interval · positive: longs pay shorts"


def _signed(value: Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return "up" if value > 0 else "down"


def funding_cells(row: FundingRow) -> Cells:
    """One row's text; a rate that pays shorts is green (``up``), one that pays longs red."""
    rate, next_s = row.rate, row.next_funding_s
    return (
        (("▶ " if row.active else "  ") + row.symbol, "active" if row.active else ""),
        (fmt.pct(rate, 4), _signed(rate)),
        (fmt.pct(row.apr, 1), _signed(rate)),
        (interval_text(row.interval_ms), "muted"),
        (fmt.countdown(None if next_s is None else next_s * 1000), "muted"),
        (fmt.compact(row.open_interest), ""),
        (fmt.num(row.basis_bps, 1, sign=True), _signed(row.basis_bps)),
        (fmt.compact(row.volume), ""),
        (fmt.pct(row.change), _signed(row.change)),
    )


class FundingTable(DiffTable):
    # The funding figures and the countdown outlast OI, the 24 h figures and the interval.
    COLUMNS: ClassVar = (
        Column("symbol", "Market", 16, right=False),
        Column("rate", "Rate/int", 9),
        Column("apr", "Annual", 8),
        Column("interval", "Int", 3, drop_rank=5),
        Column("next", "Next", 9),  # fmt.countdown: "in 52m07s"
        Column("oi", "OI $", 7, drop_rank=2),
        Column("basis", "Basis bp", 8),
        Column("volume", "Vol 24h", 7, drop_rank=4),
        Column("change", "24h", 7, drop_rank=3),
    )


class FundingBoard(ModalScreen[str | None]):
    """The board: a filter on top (typing goes there), the table under it.

    The filter keeps the focus, so every printable key filters and none reaches a desk
    key; the board's own keys are chords and arrows the filter does not bind.
    """

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        *keys.bindings("funding"),
        Binding("escape", "dismiss(None)", "Close"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("pageup", "move(-10)", show=False),
    ]

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.sort = BoardSort()
        self._rows: list[FundingRow] = []
        self._cells = CellMemo(funding_cells)
        self._hint = " · ".join(
            f"{keys.display_key(spec.key, overrides, spec.id)} {HINTS[spec.id]}"
            for spec in keys.by_scope("funding")
        )
        self.shown: list[FundingRow] = []
        """The rows on screen, in order (for tests and for Enter)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="funding-box"):
            yield Input(placeholder="type to filter by symbol", id="funding-filter")
            yield Static(id="funding-note")
            yield FundingTable(id="funding-table")
            yield Static("no perp matches the filter", id="funding-empty")

    def on_mount(self) -> None:
        self.query_one("#funding-box").border_title = TITLE
        self.query_one("#funding-filter", Input).focus()
        self._redraw()

    def show(self, rows: Sequence[FundingRow]) -> None:
        """The app's latest rows (every perp, unsorted): filtered, sorted and drawn."""
        self._rows = list(rows)
        if self.is_mounted:
            self._redraw()

    def _redraw(self) -> None:
        query = self.query_one("#funding-filter", Input).value
        self.shown = arrange(self._rows, query, self.sort)
        table = self.query_one(FundingTable)
        table.sync(self._cells(self.shown))
        empty = bool(self._rows) and not self.shown
        self.query_one("#funding-empty", Static).display = empty
        table.display = not empty
        self.query_one("#funding-note", Static).update(
            f"{len(self.shown)} of {len(self._rows)} perps · {self.sort.title} · "
            f"{self._hint} · esc close"
        )

    @on(Input.Changed, "#funding-filter")
    def _filter(self) -> None:
        self._redraw()
        self.query_one(FundingTable).move_cursor(row=0, animate=False)

    def action_sort_next(self) -> None:
        self.sort = self.sort.cycled()
        self._redraw()

    def action_sort_flip(self) -> None:
        self.sort = self.sort.flipped()
        self._redraw()

    def action_move(self, delta: int) -> None:
        table = self.query_one(FundingTable)
        if table.row_count:
            row = max(0, min(table.row_count - 1, table.cursor_row + delta))
            table.move_cursor(row=row, animate=False)

    @on(Input.Submitted, "#funding-filter")
    def action_choose(self) -> None:
        """Enter: trade the highlighted market (the top one if none is)."""
        self._redraw()  # what the filter holds now, even if its Changed is still queued
        symbol = self.query_one(FundingTable).selected_key
        if symbol is None and self.shown:
            symbol = self.shown[0].symbol
        if symbol is not None:
            self.dismiss(symbol)

    @on(DataTable.RowSelected)
    def _clicked(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.dismiss(str(event.row_key.value))
