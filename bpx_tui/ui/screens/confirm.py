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
        Binding("y", "dismiss(True)", "Yes"),
        Binding("enter", "enter", "Yes", show=False),
        Binding("n,escape", "dismiss(False)", "No"),
    ]

    def __init__(self, question: str, *, enter_is_yes: bool = True) -> None:
        """``enter_is_yes`` False: a yes that must not be a reflex (quit with exposure)
        takes ``y`` alone, and Enter does nothing."""
        super().__init__()
        self.question = question
        self.enter_is_yes = enter_is_yes

    def action_enter(self) -> None:
        if self.enter_is_yes:
            self.dismiss(True)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question")
            yes = "y / enter" if self.enter_is_yes else "y"
            yield Static(f"{yes}: yes    n / esc: no", id="confirm-keys")
