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

PERP_SUFFIX = "_PERP"


def matches(symbols: Sequence[str], query: str) -> list[str]:
    """Symbols containing every space-separated part of ``query`` (case-insensitive).

    The console trades perpetuals first and foremost, so ``sol`` + Enter must open
    ``SOL_USDC_PERP``: within one base asset the perpetuals come before the spot
    markets, which stay one arrow away. Bases keep the order the caller gave, and a
    query naming a symbol exactly puts that one first (``SOL_USDC`` still opens spot).
    """
    parts = query.upper().split()
    found = [s for s in symbols if all(part in s.upper() for part in parts)]
    first_seen: dict[str, int] = {}
    for index, symbol in enumerate(found):
        first_seen.setdefault(_base(symbol), index)
    exact = query.strip().upper()

    def rank(item: tuple[int, str]) -> tuple[bool, int, bool, int]:
        index, symbol = item
        return (
            symbol.upper() != exact,
            first_seen[_base(symbol)],
            not symbol.upper().endswith(PERP_SUFFIX),
            index,
        )

    return [symbol for _index, symbol in sorted(enumerate(found), key=rank)]


def _base(symbol: str) -> str:
    return symbol.upper().split("_", 1)[0]


class MarketSwitcher(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        # Not priority bindings: those run before the filter has taken the keys typed
        # ahead of them, so a quick "sol", down would move in the old list and then be
        # undone by the refill. The filter binds neither key, so they still reach here.
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, symbols: Sequence[str], active: str) -> None:
        super().__init__()
        self.symbols = list(symbols)
        self.active = active
        self._shown: str | None = None  # the query the list was last filled for

    def compose(self) -> ComposeResult:
        with Vertical(id="switcher-box"):
            yield Input(placeholder="type to filter, enter to switch", id="switcher-filter")
            yield OptionList(id="switcher-list")

    def on_mount(self) -> None:
        self.query_one("#switcher-box").border_title = "Switch market"
        self._fill("")

    def _fill(self, query: str) -> None:
        self._shown = query
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
        if event.value != self._shown:
            self._fill(event.value)

    def _current(self) -> OptionList:
        """The list for what the filter holds now.

        The filter's ``Changed`` can still be queued behind an arrow key typed right
        after the text; filling here first keeps that arrow from being reset to the top.
        """
        value = self.query_one("#switcher-filter", Input).value
        if value != self._shown:
            self._fill(value)
        return self.query_one(OptionList)

    def action_move(self, delta: int) -> None:
        options = self._current()
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + delta))

    @on(Input.Submitted, "#switcher-filter")
    def _submit(self) -> None:
        options = self._current()
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
