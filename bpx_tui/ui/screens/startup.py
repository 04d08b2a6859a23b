"""What the console is waiting for, instead of a blank screen, until the first data."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle, Vertical
from textual.screen import Screen
from textual.widgets import Static


class StartupScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("q,ctrl+c", "app.quit", "Quit"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self._title = title
        self.steps: list[str] = []
        self.error = ""

    def compose(self) -> ComposeResult:
        with Middle(), Center(), Vertical(id="startup-box"):
            yield Static(self._title, id="startup-title")
            yield Static("", id="startup-steps")
            yield Static("", id="startup-error")
            yield Static("q to quit", id="startup-keys")

    def on_mount(self) -> None:
        self._show()

    def step(self, text: str) -> None:
        """A new thing being waited for; earlier steps are shown as done."""
        self.steps.append(text)
        self._show()

    def fail(self, text: str) -> None:
        self.error = f"✗ {text}"
        self._show()

    def _show(self) -> None:
        # Steps may arrive before the screen is mounted; on_mount shows them then.
        if not self.is_mounted:
            return
        lines = [f"✓ {s}" for s in self.steps[:-1]] + [f"… {s}" for s in self.steps[-1:]]
        self.query_one("#startup-steps", Static).update("\n".join(lines))
        self.query_one("#startup-error", Static).update(self.error)
