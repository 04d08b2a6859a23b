"""Command palette (ctrl+p) entries for the main actions, generated from the key table."""

from __future__ import annotations

from functools import partial

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


class ConsoleCommands(Provider):
    """Each palette entry runs the same action as its key."""

    def _entries(self) -> list[tuple[str, str, str]]:
        specs = {spec.id: spec for spec in KEYS}
        return [
            (
                specs[i].description,
                specs[i].action,
                f"key: {display_key(specs[i].key)}",
            )
            for i in PALETTE_IDS
        ]

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)

    async def discover(self) -> Hits:
        for title, action, help_text in self._entries():
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, action), help=help_text
                )
