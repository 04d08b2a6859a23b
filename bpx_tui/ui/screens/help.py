"""``?``: every key, generated from the key table so it cannot drift from the bindings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from bpx_tui.ui.keys import SCOPES, key_rows


def help_text(overrides: Mapping[str, str] | None = None) -> str:
    lines: list[str] = []
    for scope, title in SCOPES:
        lines.append(f"[b]{title}[/b]")
        lines.extend(
            f"  {row.keys:<16} {row.description}"
            for row in key_rows(overrides)
            if row.scope == scope
        )
        lines.append("")
    lines.append("  An open ticket, a dialog or a text field takes every key: desk keys such as")
    lines.append("  x, X, K, c and q do nothing there. Esc closes the ticket first.")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._overrides = overrides

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_text(self._overrides), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Keys  (esc to close)"
