"""The status bar: what mode, whether the data can be trusted, and what went wrong last.

Everything a trader must notice before pressing a key lives here: LIVE in the alarm
colour, a disconnected or reconnecting feed, STALE data, the kill switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from bpx_tui.ui.widgets.unchanged import set_label

# DEMO: the in-process exchange. SIM: a separate local exchange (``bpx-tui sim``), traded
# with the live safeguards so a user can rehearse. LIVE: anything else, real money.
Mode = Literal["demo", "sim", "live"]


@dataclass(frozen=True, slots=True)
class StatusInfo:
    mode: Mode
    connection: str  # connecting / connected / reconnecting / down
    latency_ms: float | None
    stale: bool
    halted: str | None
    error: str | None
    reconnects: int = 0
    recent_drop: bool = False  # connected again, but dropped moments ago: keep it visible
    note: str | None = None  # a passing word (a preset chosen, close-all FLAT); errors win


class StatusBar(Horizontal):
    """Fixed-width fields updated with ``layout=False``: a new latency figure four times
    a second must not reflow the whole screen."""

    DEFAULT_CSS = """
    StatusBar { height: 1; dock: bottom; }
    StatusBar > Label { padding: 0 1; }
    StatusBar > #status-mode { width: 6; }
    StatusBar > #status-conn { width: 18; }
    StatusBar > #status-latency { width: 13; }
    StatusBar > #status-stale { width: 7; }
    StatusBar > #status-kill { width: 16; }
    StatusBar > #status-error { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Label("DEMO", id="status-mode")
        yield Label("connecting", id="status-conn")
        yield Label("", id="status-latency")
        yield Label("", id="status-stale")
        yield Label("", id="status-kill")
        yield Label("", id="status-error")

    def on_mount(self) -> None:
        self._shown: StatusInfo | None = None

    def show(self, info: StatusInfo) -> None:
        if info == self._shown:
            return
        self._shown = info
        mode = self.query_one("#status-mode", Label)
        set_label(mode, info.mode.upper())
        for name in ("demo", "sim", "live"):
            mode.set_class(info.mode == name, f"-{name}")
        conn = self.query_one("#status-conn", Label)
        connected = info.connection == "connected"
        text = "RECONNECTED" if connected and info.recent_drop else info.connection.upper()
        if info.reconnects:
            text += f" ↻{info.reconnects}"
        set_label(conn, text)
        conn.set_class(not connected or info.recent_drop, "-bad")
        latency = "—" if info.latency_ms is None else f"{info.latency_ms:.0f} ms"
        set_label(self.query_one("#status-latency", Label), f"feed {latency}")
        stale = self.query_one("#status-stale", Label)
        set_label(stale, "STALE" if info.stale else "")
        stale.set_class(info.stale, "-bad")
        kill = self.query_one("#status-kill", Label)
        set_label(kill, "KILL SWITCH ON" if info.halted else "trading on")
        kill.tooltip = info.halted
        kill.set_class(bool(info.halted), "-bad")
        error = self.query_one("#status-error", Label)
        set_label(error, info.error or info.note or "")
        error.set_class(bool(info.error), "-error")
        error.set_class(not info.error and bool(info.note), "-note")
