"""``/``: choose the active market by typing part of its name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option


def matches(symbols: Sequence[str], query: str) -> list[str]:
    """Symbols containing every space-separated part of ``query`` (case-insensitive)."""
    parts = query.upper().split()
    return [s for s in symbols if all(part in s.upper() for part in parts)]


class MarketSwitcher(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
    ]

    def __init__(self, symbols: Sequence[str], active: str) -> None:
        super().__init__()
        self.symbols = list(symbols)
        self.active = active

    def compose(self) -> ComposeResult:
        with Vertical(id="switcher-box"):
            yield Input(placeholder="type to filter, enter to switch", id="switcher-filter")
            yield OptionList(id="switcher-list")

    def on_mount(self) -> None:
        self.query_one("#switcher-box").border_title = "Switch market"
        self._fill("")

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        found = matches(self.symbols, query)
        options.add_options([Option(s, id=s) for s in found])
        if found:
            options.highlighted = (
                found.index(self.active) if self.active in found and not query else 0
            )

    @on(Input.Changed, "#switcher-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + delta))

    @on(Input.Submitted, "#switcher-filter")
    def _submit(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
