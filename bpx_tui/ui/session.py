"""The session's realised PnL, from the positions the exchange reports.

Backpack gives each position a running ``pnlRealized`` (partial closes add to it, the
final close carries its total), not a figure per session, so the session's is what each
position realised since the console first saw it: a position open at start counts from
its value then, one opened during the session from zero. Positions are told apart by
their id, so a market closed and reopened is two positions.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from bpx_tui.exchange.models import Position

ZERO = Decimal(0)


class SessionPnl:
    """Observes every position update (O(1) each); :attr:`realized` is the sum."""

    __slots__ = ("_latest", "_start", "realized")

    def __init__(self, open_at_start: Iterable[Position] = ()) -> None:
        self._start: dict[tuple[str, str | None], Decimal] = {
            _key(p): p.pnl_realized for p in open_at_start
        }
        self._latest: dict[tuple[str, str | None], Decimal] = dict(self._start)
        self.realized = ZERO

    def observe(self, position: Position) -> None:
        key = _key(position)
        before = self._latest.get(key, self._start.setdefault(key, ZERO))
        self._latest[key] = position.pnl_realized
        self.realized += position.pnl_realized - before


def _key(position: Position) -> tuple[str, str | None]:
    return position.symbol, position.position_id
