"""``:``: the command line, for what keys make slow (``buy 0.02 market tp +1% sl -1%``).

A modal screen, so while it is open no desk key can run (the app's input context).
It only turns text into a typed command (``ui/command_grammar.py``) and hands that to
the app, which routes it: an order command opens the ticket filled in, never sends.
A refused line stays in the field with its bad token marked, so fixing it is one
edit; Tab completes the word under the cursor, up/down walk the history.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from bpx_tui.ui.command_grammar import (
    Command,
    CommandError,
    apply_completion,
    complete,
    parse,
)
from bpx_tui.ui.command_history import CommandHistory

USAGE = (
    "buy|sell SIZE [SYMBOL] [market|@PRICE|stop TRIGGER [@LIMIT]] [tp P|+N%] [sl P|-N%]"
    " [post] [reduce] [ioc|fok] · close|cancel [SYMBOL|all] · tp|sl P|±N% · lev N · sym S"
    " · alert [S] [funding] >|< PRICE|RATE% · alerts"
)
KEYS_HINT = "enter runs · tab completes · ↑↓ history · esc closes"


def marked(text: str, error: CommandError) -> Text:
    """``text`` with the token at fault in reverse red (a gap at the end when the
    fault is a missing word), then the message."""
    line = Text(text)
    if error.end > error.start:
        line.stylize("bold reverse red", error.start, error.end)
    else:
        line.append(" ")
        line.append(" ", "reverse red")
    line.append(f"  ← {error.message}", "red")
    return line


class CommandLine(ModalScreen[Command | None]):
    """The line at the bottom of the screen; dismissed with the parsed command."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "dismiss(None)", "Close", show=False),
        Binding("tab", "complete", "Complete", show=False),
        Binding("up", "history(-1)", "Older", show=False),
        Binding("down", "history(1)", "Newer", show=False),
    ]

    def __init__(self, symbols: Collection[str], history: CommandHistory, text: str = "") -> None:
        super().__init__()
        self.symbols = symbols
        self.history = history
        self._initial = text
        self._hinted = ""  # the line a completion list was shown for: it outlives that edit

    def compose(self) -> ComposeResult:
        with Vertical(id="cmdline-box"):
            yield Static(Text(USAGE, "dim"), id="cmdline-hint")
            with Horizontal(id="cmdline-row"):
                yield Label(":", id="cmdline-prompt")
                yield Input(self._initial, id="cmdline-input", select_on_focus=False)

    def on_mount(self) -> None:
        self.query_one("#cmdline-box").border_subtitle = KEYS_HINT
        self.query_one(Input).focus()

    @property
    def field(self) -> Input:
        return self.query_one("#cmdline-input", Input)

    def show(self, hint: Text | str) -> None:
        self.query_one("#cmdline-hint", Static).update(hint)

    @on(Input.Submitted, "#cmdline-input")
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            command = parse(event.value, self.symbols)
        except CommandError as error:
            self.show(marked(event.value, error))
            return
        self.history.add(event.value)
        self.dismiss(command)

    @on(Input.Changed, "#cmdline-input")
    def _typed(self, event: Input.Changed) -> None:
        if event.value != self._hinted:
            self.show(Text(USAGE, "dim"))

    def action_history(self, step: int) -> None:
        field = self.field
        field.value = self.history.older(field.value) if step < 0 else self.history.newer()
        field.cursor_position = len(field.value)

    def action_complete(self) -> None:
        field = self.field
        text, cursor = field.value, field.cursor_position
        found = complete(text, cursor, self.symbols)
        if not found.candidates:
            self.show(Text("nothing to complete here", "yellow"))
            return
        field.value, field.cursor_position = apply_completion(text, cursor, found)
        if len(found.candidates) > 1:
            self._hinted = field.value
            self.show(Text("tab: " + "  ".join(found.candidates[:12]), "cyan"))
