"""Every key of the console in one table.

Bindings, the help screen, the command palette and the README's keys table are all
generated from :data:`KEYS`, so they can never disagree; each entry has a stable ``id``
that the config file's ``[keys]`` table remaps through Textual's keymap.
``python3 -m bpx_tui.ui.keys`` rewrites the README's table (a test fails until it is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str
    key: str
    action: str
    description: str
    scope: str  # "app" | "ladder" | "ticket" | "watchlist" | "funding" | "alerts" | "history"
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
    KeySpec(
        "cancel_order",
        "c",
        "cancel_selected",
        "Cancel my orders at the ladder cursor (or the selected order)",
        "app",
    ),
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
    KeySpec(
        "command_line",
        "colon",
        "command_line",
        "Command line: buy/sell, close, cancel, tp/sl, lev, sym, pair, funding, alert(s), "
        "history, tf",
        "app",
    ),
    KeySpec(
        "funding_board",
        "F",
        "funding_board",
        "Funding board: every perp's funding rate, annualised, sortable",
        "app",
    ),
    KeySpec(
        "alerts",
        "A",
        "alerts",
        "Alerts: the price and funding alerts set with :alert, armed and fired",
        "app",
    ),
    KeySpec(
        "history",
        "H",
        "history",
        "History: fills, orders, funding, realised PnL by day (from the exchange), CSV",
        "app",
    ),
    KeySpec("group", "g", "cycle_grouping", "Ladder tick grouping x1/x10/x100", "app"),
    KeySpec(
        "timeframe_shorter",
        "left_square_bracket",
        "timeframe(-1)",
        "Chart: shorter timeframe (1m 5m 15m 1h 4h 1d)",
        "app",
    ),
    KeySpec(
        "timeframe_longer",
        "right_square_bracket",
        "timeframe(1)",
        "Chart: longer timeframe (also :tf 5m)",
        "app",
    ),
    KeySpec("kill", "K", "kill_switch", "Kill switch: block new risk", "app"),
    KeySpec(
        "show_positions",
        "p",
        "show_panel('positions')",
        "Positions: show and select (x closes the selected one)",
        "app",
    ),
    KeySpec(
        "show_orders",
        "o",
        "show_panel('orders')",
        "Open orders: show and select (c cancels the selected one)",
        "app",
    ),
    KeySpec(
        "show_activity",
        "a",
        "show_panel('activity')",
        "Activity log: fills, orders, cancels, refusals, reconnects",
        "app",
    ),
    KeySpec(
        "show_holdings",
        "h",
        "show_panel('holdings')",
        "Holdings: spot balances, available and locked, in USDC",
        "app",
    ),
    KeySpec(
        "show_tape",
        "t",
        "show_panel('tape')",
        "Trade tape: the active market's trades, newest first",
        "app",
    ),
    KeySpec("back_to_ladder", "escape", "focus_ladder", "Back to the ladder", "app"),
    KeySpec("log", "L", "toggle_log", "Log of recent warnings and errors", "app"),
    KeySpec("help", "question_mark", "help", "This help", "app"),
    KeySpec("quit", "q", "quit", "Quit (closes every connection)", "app"),
    KeySpec("cursor_up", "up,k", "cursor(-1)", "Ladder cursor up", "ladder", show=False),
    KeySpec("cursor_down", "down,j", "cursor(1)", "Ladder cursor down", "ladder", show=False),
    KeySpec("recenter", "space", "recenter", "Recenter the ladder", "ladder"),
    KeySpec(
        "move_up", "shift+up", "move_orders(1)", "Move my orders at the cursor a tick up", "ladder"
    ),
    KeySpec(
        "move_down",
        "shift+down",
        "move_orders(-1)",
        "Move my orders at the cursor a tick down",
        "ladder",
    ),
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
    KeySpec(
        "order_type",
        "m",
        "cycle_type",
        "Ticket: limit / market / stop-market / stop-limit",
        "ticket",
    ),
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
    # Not letters: the board's filter takes every printable key.
    KeySpec(
        "funding_sort", "ctrl+s", "sort_next", "Funding board: sort by the next column", "funding"
    ),
    KeySpec("funding_reverse", "ctrl+r", "sort_flip", "Funding board: reverse the sort", "funding"),
    KeySpec(
        "funding_choose",
        "enter",
        "choose",
        "Funding board: make the row the active market",
        "funding",
    ),
    KeySpec("alerts_remove", "d,delete", "remove", "Alerts: remove the selected alert", "alerts"),
    # The history screen has no text field, so its keys can be letters.
    KeySpec("history_next_tab", "tab", "tab(1)", "History: next tab", "history"),
    KeySpec("history_previous_tab", "shift+tab", "tab(-1)", "History: previous tab", "history"),
    KeySpec("history_next_page", "n", "page(1)", "History: next page of rows", "history"),
    KeySpec("history_previous_page", "p", "page(-1)", "History: previous page of rows", "history"),
    KeySpec(
        "history_export",
        "e",
        "export",
        "History: export every tab as CSV (the path shows on its status line)",
        "history",
    ),
    KeySpec("history_reload", "r", "reload", "History: read it again", "history"),
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
    names = {
        "question_mark": "?",
        "slash": "/",
        "colon": ":",
        "space": "space",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
    }
    return " / ".join(names.get(part, part) for part in key.split(","))


def by_scope(scope: str) -> Iterable[KeySpec]:
    return (spec for spec in KEYS if spec.scope == scope)


SCOPES = (
    ("app", "Everywhere"),
    ("ladder", "Depth ladder (focused)"),
    ("ticket", "Order ticket (open)"),
    ("watchlist", "Watchlist (focused)"),
    ("funding", "Funding board (F)"),
    ("alerts", "Alerts (A)"),
    ("history", "History (H)"),
)
# Textual's own keys that the console keeps: listed with ours, remappable by Textual only.
BUILT_IN: tuple[tuple[str, str, str], ...] = (
    ("app", "ctrl+p", "Command palette: every action by name, with its key"),
    ("app", "ctrl+q", "Quit, like q (asks first with positions or orders open)"),
    ("app", "tab / shift+tab", "Move focus between panels (in the ticket: between its fields)"),
    ("app", "ctrl+c", "Copy the selected text (it never quits: q or ctrl+q does)"),
)


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One line of the help screen and of the README's table."""

    scope: str
    alternatives: tuple[str, ...]
    """Each key that does it, as printed (``/``, not ``slash``)."""
    description: str
    ids: tuple[str, ...]
    """The ``[keys]`` names that remap it (empty for Textual's own keys)."""

    @property
    def keys(self) -> str:
        return " / ".join(self.alternatives)


def key_rows(overrides: Mapping[str, str] | None = None) -> list[KeyRow]:
    """Every key, by scope, as remapped; the size presets share one row."""
    rows: list[KeyRow] = []
    presets = [spec for spec in KEYS if spec.id.startswith("preset_")]
    for scope, _title in SCOPES:
        for spec in by_scope(scope):
            if spec in presets[1:]:
                continue
            if spec is presets[0]:
                keys = tuple(display_key(p.key, overrides, p.id) for p in presets)
                rows.append(
                    KeyRow(
                        scope,
                        keys,
                        f"Size presets 1-{len(presets)} of the active market",
                        tuple(p.id for p in presets),
                    )
                )
                continue
            keys = tuple(display_key(spec.key, overrides, spec.id).split(" / "))
            rows.append(KeyRow(scope, keys, spec.description, (spec.id,)))
        rows.extend(KeyRow(s, tuple(k.split(" / ")), d, ()) for s, k, d in BUILT_IN if s == scope)
    return rows


README_BEGIN = "<!-- keys: generated by python3 -m bpx_tui.ui.keys; do not edit -->"
README_END = "<!-- keys: end -->"


def readme_table() -> str:
    """The README's keys table, between its markers."""
    titles = dict(SCOPES)
    lines = [README_BEGIN, "| where | key | action | `[keys]` name |", "|---|---|---|---|"]
    for row in key_rows():
        keys = " ".join(f"`{part}`" for part in row.alternatives)
        names = ", ".join(f"`{name}`" for name in row.ids) or "(Textual's)"
        lines.append(f"| {titles[row.scope]} | {keys} | {row.description} | {names} |")
    lines.append(README_END)
    return "\n".join(lines)


def rewrite_readme(text: str) -> str:
    """``text`` with its keys table replaced by :func:`readme_table`."""
    start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    return text[:start] + readme_table() + text[end:]


def main() -> None:
    """Rewrite the README's keys table in place (run from a checkout)."""
    root = Path(__file__).resolve().parents[2]
    readme = root / "README.md"  # the table between its two marker comments is rewritten in place
    text = readme.read_text(encoding="utf-8")
    readme.write_text(rewrite_readme(text), encoding="utf-8")


if __name__ == "__main__":
    main()
