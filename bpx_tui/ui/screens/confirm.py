"""A yes/no question, used only when the config asks for one (``confirm_close_all``,
``confirm_first_live_order``)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    """Only its own keys act: a modal screen stops every other key short of the desk."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("n,escape", "dismiss(False)", "No"),
    ]

    def __init__(self, question: str, *, yes_keys: str = "y,enter") -> None:
        """``yes_keys``: a question whose yes must not be a reflex (quit with exposure)
        takes ``y`` alone, not Enter."""
        super().__init__()
        self.question = question
        self.yes_keys = yes_keys

    def on_mount(self) -> None:
        self._bindings.bind(self.yes_keys, "dismiss(True)", "Yes")

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question")
            yes = " / ".join(self.yes_keys.split(","))
            yield Static(f"{yes}: yes    n / esc: no", id="confirm-keys")
