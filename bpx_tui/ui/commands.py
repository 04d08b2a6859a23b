"""Command palette (ctrl+p): the console's own actions first, then Textual's.

Textual runs every provider of ``App.COMMANDS`` (a set) concurrently and lists the
hits in arrival order, sorted only by score; discovery hits all score 0. Two
providers would therefore interleave at random, so this one provider serves both the
desk actions and :meth:`App.get_system_commands` (theme, keys, screenshot, quit...),
in that order, and the app installs it instead of Textual's ``SystemCommandsProvider``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from bpx_tui.ui.keys import KEYS, display_key

PALETTE_IDS = (
    "buy",
    "sell",
    "buy_market",
    "sell_market",
    "cancel_order",
    "cancel_market_orders",
    "close_position",
    "close_all",
    "switch_market",
    "group",
    "kill",
    "log",
    "help",
    "quit",
)


def tiered(score: float, *, desk: bool) -> float:
    """A matcher score moved into its tier: every desk action above every built-in.

    Textual's fuzzy scores are unbounded (``quit`` scores 20 on "Quit" and 15 on "Quit
    (closes every connection)"), so they are squashed into 0..1, keeping each group's
    own relevance order, and the desk's get 1 added. The palette only sorts by score.
    """
    squashed = score / (1 + score)
    return 1 + squashed if desk else squashed


LEVERAGE_QUERY = re.compile(r"\s*lev(?:erage)?(?:\s+(\d{1,4})\s*x?)?\s*$", re.IGNORECASE)
"""``lev 5``, ``leverage 20x``: the one palette command that takes a number."""


def leverage_hit(query: str) -> tuple[str, str] | None:
    """(title, action) for a leverage query, or None when the query is not one.

    Without a number the hit only says how to ask: the number is never guessed.
    """
    found = LEVERAGE_QUERY.match(query)
    if found is None:
        return None
    if found.group(1) is None:
        return "Set leverage limit: type the number, e.g. lev 5", "leverage_help"
    limit = int(found.group(1))
    return f"Set leverage limit to {limit}x", f"set_leverage({limit})"


@runtime_checkable
class Remapped(Protocol):
    """An app that knows the user's ``[keys]`` remapping (the palette shows those keys)."""

    @property
    def key_overrides(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class Entry:
    title: str
    action: str
    help: str


def palette_entries(overrides: Mapping[str, str] | None = None) -> list[Entry]:
    """The desk actions in palette order, each with the key that runs it after remapping."""
    specs = {spec.id: spec for spec in KEYS}
    return [
        Entry(
            specs[i].description,
            specs[i].action,
            f"key: {display_key(specs[i].key, overrides, i)}",
        )
        for i in PALETTE_IDS
    ]


class ConsoleCommands(Provider):
    """Each desk entry runs the same action as its key; Textual's own commands follow."""

    def _entries(self) -> list[Entry]:
        app = self.app
        return palette_entries(app.key_overrides if isinstance(app, Remapped) else None)

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)

    async def discover(self) -> Hits:
        for entry in self._entries():
            yield DiscoveryHit(entry.title, partial(self._run, entry.action), help=entry.help)
        system = sorted(self.app.get_system_commands(self.screen), key=lambda c: c.title)
        for command in system:
            if command.discover:
                yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        leverage = leverage_hit(query)
        if leverage is not None:
            title, action = leverage
            yield Hit(
                2.0,
                title,
                partial(self._run, action),
                help="the exchange may refuse it; the strip shows what it holds",
            )
        matcher = self.matcher(query)
        for entry in self._entries():
            score = matcher.match(entry.title)
            if score > 0:
                yield Hit(
                    tiered(score, desk=True),
                    matcher.highlight(entry.title),
                    partial(self._run, entry.action),
                    help=entry.help,
                )
        for command in self.app.get_system_commands(self.screen):
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    tiered(score, desk=False),
                    matcher.highlight(command.title),
                    command.callback,
                    help=command.help,
                )
