"""``A`` / ``:alerts``: the alerts set with ``:alert``, armed and fired, and removing one.

The screen draws the alerts handed to it (:meth:`AlertsScreen.show`, called by the app
when it opens and whenever the book changed) and never holds the book: ``d`` / Delete
posts :class:`AlertsScreen.Remove` with the selected alert's id and the app removes it
(``AlertWatch.remove``, which rewrites the file) and shows the list again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from bpx_tui.ui import fmt, keys
from bpx_tui.ui.alerts import Alert
from bpx_tui.ui.widgets.table import CellMemo, Cells, Column, DiffTable

TITLE = "Alerts · > fires at or above, < at or below · each fires once"
EMPTY = (
    "no alerts: set one on the command line, e.g.  :alert BTC > 100000"
    "  or  :alert ETH funding < -0.01%"
)


def alert_cells(alert: Alert) -> Cells:
    """One alert's text: a fired one says when and at what figure, in the warning colour."""
    sign = "≥" if alert.direction == ">" else "≤"
    fired = alert.fired_ms is not None
    seen = alert.show(alert.fired_value) if alert.fired_value is not None else ""
    return (
        (str(alert.id), "muted"),
        (alert.symbol, ""),
        (f"{alert.figure} {sign} {alert.show(alert.level)}", ""),
        ("FIRED" if fired else "armed", "warn" if fired else "muted"),
        (seen, "warn" if fired else ""),
        (fmt.clock(alert.fired_ms if alert.fired_ms is not None else alert.created_ms), "muted"),
    )


class AlertTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("id", "#", 3),
        Column("symbol", "Market", 16, right=False),
        Column("when", "Condition", 20, right=False),
        Column("status", "Status", 6, right=False),
        Column("seen", "Fired at", 12, drop_rank=2),
        Column("time", "Time", 8, drop_rank=1),  # set at, or fired at once fired
    )


class AlertsScreen(ModalScreen[None]):
    """The list; the table keeps the focus, so the arrows move through it."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        *keys.bindings("alerts"),
        Binding("escape", "dismiss(None)", "Close"),
    ]

    @dataclass
    class Remove(Message):
        """The trader asked to remove one alert."""

        alert_id: int
        """The alert's id in the book (``Alert.id``)."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._alerts: list[Alert] = []
        self._cells = CellMemo(alert_cells)
        spec = next(iter(keys.by_scope("alerts")))
        self._remove_key = keys.display_key(spec.key, overrides, spec.id)
        self.shown: list[Alert] = []
        """The alerts on screen, in order (for tests)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="alerts-box"):
            yield Static(id="alerts-note")
            yield AlertTable(id="alerts-table")
            yield Static(EMPTY, id="alerts-empty")

    def on_mount(self) -> None:
        self.query_one("#alerts-box").border_title = TITLE
        self.query_one(AlertTable).focus()
        self._redraw()

    def show(self, alerts: Sequence[Alert]) -> None:
        self._alerts = list(alerts)
        if self.is_mounted:
            self._redraw()

    def _redraw(self) -> None:
        table = self.query_one(AlertTable)
        row = table.cursor_row
        kept = table.selected_key
        self.shown = list(self._alerts)
        table.sync(self._cells(self.shown))
        if kept is not None and kept not in {a.key for a in self.shown} and table.row_count:
            # The selected alert was removed: the cursor stays where it was, on the next.
            table.move_cursor(row=min(max(row, 0), table.row_count - 1), animate=False)
        empty = not self.shown
        self.query_one("#alerts-empty", Static).display = empty
        table.display = not empty
        armed = sum(1 for alert in self.shown if alert.armed)
        self.query_one("#alerts-note", Static).update(
            f"{armed} armed · {len(self.shown) - armed} fired · "
            f"{self._remove_key} remove the selected alert · esc close"
        )

    @property
    def selected(self) -> Alert | None:
        key = self.query_one(AlertTable).selected_key
        return next((alert for alert in self.shown if alert.key == key), None)

    def action_remove(self) -> None:
        alert = self.selected
        if alert is not None:
            self.post_message(self.Remove(alert.id))
