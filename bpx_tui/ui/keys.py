"""Every key of the console in one table.

Bindings, the help screen and the command palette are all generated from
:data:`KEYS`, so they can never disagree; each entry has a stable ``id`` that the
config file's ``[keys]`` table remaps through Textual's keymap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str
    key: str
    action: str
    description: str
    scope: str  # "app" | "ladder" | "ticket" | "watchlist"
    show: bool = True


KEYS: tuple[KeySpec, ...] = (
    KeySpec(
        "buy", "b", "ticket('Bid', 'Limit')", "Buy ticket: limit at best bid / ladder cursor", "app"
    ),
    KeySpec(
        "sell",
        "s",
        "ticket('Ask', 'Limit')",
        "Sell ticket: limit at best ask / ladder cursor",
        "app",
    ),
    KeySpec("buy_market", "B", "ticket('Bid', 'Market')", "Buy ticket at market", "app"),
    KeySpec("sell_market", "S", "ticket('Ask', 'Market')", "Sell ticket at market", "app"),
    KeySpec("preset_1", "1", "preset(0)", "Size preset 1", "app", show=False),
    KeySpec("preset_2", "2", "preset(1)", "Size preset 2", "app", show=False),
    KeySpec("preset_3", "3", "preset(2)", "Size preset 3", "app", show=False),
    KeySpec("preset_4", "4", "preset(3)", "Size preset 4", "app", show=False),
    KeySpec("preset_5", "5", "preset(4)", "Size preset 5", "app", show=False),
    KeySpec("cancel_order", "c", "cancel_selected", "Cancel the selected order", "app"),
    KeySpec(
        "cancel_market_orders",
        "C",
        "cancel_market",
        "Cancel every order of the active market",
        "app",
    ),
    KeySpec("close_position", "x", "close_position", "Close the active/selected position", "app"),
    KeySpec("close_all", "X", "close_all", "Close all: cancel orders, flatten, verify", "app"),
    KeySpec("switch_market", "slash", "switch_market", "Switch the active market", "app"),
    KeySpec("group", "g", "cycle_grouping", "Ladder tick grouping x1/x10/x100", "app"),
    KeySpec("kill", "K", "kill_switch", "Kill switch: block new risk", "app"),
    KeySpec("log", "L", "toggle_log", "Log of recent warnings and errors", "app"),
    KeySpec("help", "question_mark", "help", "This help", "app"),
    KeySpec("quit", "q", "quit", "Quit (closes every connection)", "app"),
    KeySpec("cursor_up", "up,k", "cursor(-1)", "Ladder cursor up", "ladder", show=False),
    KeySpec("cursor_down", "down,j", "cursor(1)", "Ladder cursor down", "ladder", show=False),
    KeySpec("recenter", "space", "recenter", "Recenter the ladder", "ladder"),
    KeySpec("price_up", "up", "nudge_price(1)", "Ticket: price one tick up", "ticket"),
    KeySpec(
        "price_down",
        "down",
        "nudge_price(-1)",
        "Ticket: price one tick down",
        "ticket",
    ),
    KeySpec("size_up", "shift+up", "nudge_size(1)", "Ticket: next size preset", "ticket"),
    KeySpec(
        "size_down",
        "shift+down",
        "nudge_size(-1)",
        "Ticket: previous size preset",
        "ticket",
    ),
    KeySpec("post_only", "p", "flip('post_only')", "Ticket: post-only", "ticket"),
    KeySpec("reduce_only", "r", "flip('reduce_only')", "Ticket: reduce-only", "ticket"),
    KeySpec("order_type", "m", "flip('market')", "Ticket: limit / market", "ticket"),
    KeySpec("flip_side", "f", "flip_side", "Ticket: buy <-> sell", "ticket"),
    KeySpec("tif", "t", "cycle_tif", "Ticket: time in force GTC/IOC/FOK", "ticket"),
    KeySpec("size_unit", "u", "convert_unit", "Ticket: convert the size base <-> quote", "ticket"),
    KeySpec("next_field", "tab", "cycle_field(1)", "Ticket: next field", "ticket", show=False),
    KeySpec(
        "previous_field",
        "shift+tab",
        "cycle_field(-1)",
        "Ticket: previous field",
        "ticket",
        show=False,
    ),
    KeySpec("send", "enter", "send", "Ticket: send", "ticket"),
    KeySpec("discard", "escape", "discard", "Ticket: discard", "ticket"),
    KeySpec("select", "enter", "select", "Watchlist: make the row the active market", "watchlist"),
)


def bindings(scope: str) -> list[Binding]:
    """Textual bindings of one scope, each carrying its keymap id.

    None is a priority binding: a priority binding reaches through whatever has focus
    (a text field, a dialog), and no desk key may ever do that.
    """
    return [
        Binding(spec.key, spec.action, spec.description, show=spec.show, id=spec.id)
        for spec in by_scope(scope)
    ]


def field_bindings() -> list[Binding]:
    """The ticket's keys, bound on each ticket field so they win inside the field.

    A field claims every printable key (nothing typed into it reaches the desk), and
    Textual drops a parent's binding for a key its focused child claims; bound on the
    field itself, the ticket's own keys are the only ones that act. Each runs the
    ticket's action of the same name (``TicketField.action_ticket``).
    """
    return [
        Binding(
            spec.key,
            f"ticket({spec.action!r})",
            spec.description,
            show=spec.show,
            id=spec.id,
            priority=True,
        )
        for spec in by_scope("ticket")
    ]


def desk_actions() -> frozenset[str]:
    """The action names of the desk keys: none may run while an input context is open."""
    return frozenset(spec.action.split("(")[0] for spec in by_scope("app"))


def keymap(overrides: Mapping[str, str] | None) -> tuple[dict[str, str], list[str]]:
    """The user's remapping, split into usable entries and complaints about the rest."""
    known = {spec.id for spec in KEYS}
    usable: dict[str, str] = {}
    problems: list[str] = []
    for name, key in (overrides or {}).items():
        if name not in known:
            problems.append(f"unknown key action {name!r} in [keys]")
        elif not isinstance(key, str) or not key.strip():
            problems.append(f"key for {name!r} must be a non-empty string")
        else:
            usable[name] = key.strip()
    return usable, problems


def display_key(key: str, overrides: Mapping[str, str] | None = None, spec_id: str = "") -> str:
    """The key as the help screen prints it (after remapping)."""
    key = (overrides or {}).get(spec_id, key)
    names = {"question_mark": "?", "slash": "/", "space": "space"}
    return " / ".join(names.get(part, part) for part in key.split(","))


def by_scope(scope: str) -> Iterable[KeySpec]:
    return (spec for spec in KEYS if spec.scope == scope)
