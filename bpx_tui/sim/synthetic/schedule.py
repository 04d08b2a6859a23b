"""Which market the synthetic market steps next: watched markets often, the rest rarely.

A venue listing 30 markets cannot re-quote them all at the demo's rate without the
watched ones slowing down (the market loop's budget is messages per second, shared).
So the steps go round the *hot* markets, and one step in :data:`COLD_EVERY` goes to the
next of the others, in turn. Hot is what somebody watches -- a market with a depth
subscriber, which the WebSocket hub knows -- and, while nobody watches anything (a
script on REST, a test stepping by hand), the listing's core markets.

Deterministic: the order depends only on the step count and what is watched, never on
a random draw, so the market's random stream per step is unchanged by the schedule.
A cold market is not frozen: its index walks with the engine time elapsed when its turn
comes (``price_walk`` scales moves by the square root of it), so only its book and
trades are sparser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

COLD_EVERY = 8
"""One step in eight goes to a market nobody watches (when some are)."""

Watched = Callable[[], frozenset[str]]


def nobody_watches() -> frozenset[str]:
    return frozenset()


class Schedule:
    """Round-robin over the hot markets, with every ``COLD_EVERY``-th step for the rest."""

    def __init__(self, symbols: Sequence[str], core: Sequence[str]) -> None:
        self._symbols = list(symbols)
        self._core = frozenset(core)
        self.watched: Watched = nobody_watches
        self._seen: frozenset[str] | None = None
        self._hot: list[str] = []
        self._cold: list[str] = []
        self._turn = self._hot_turn = self._cold_turn = 0

    def _tiers(self) -> None:
        """Re-split the markets when what is watched changed (an identity check per step)."""
        watched = self.watched()
        if watched is self._seen:
            return
        self._seen = watched
        hot = (watched & set(self._symbols)) or self._core
        self._hot = [s for s in self._symbols if s in hot]
        self._cold = [s for s in self._symbols if s not in hot]

    def next(self) -> str:
        self._tiers()
        self._turn += 1
        hot, cold = self._hot, self._cold
        if cold and (not hot or self._turn % COLD_EVERY == 0):
            symbol = cold[self._cold_turn % len(cold)]
            self._cold_turn += 1
        else:
            symbol = hot[self._hot_turn % len(hot)]
            self._hot_turn += 1
        return symbol
