"""The only code the client calls back into: it records what changed, nothing more.

Every callback here is O(1) (a flag, a set insert, a deque append) because it runs for
each WebSocket message, thousands of times a second. The frame pump in the app reads
and clears these flags ``refresh_hz`` times a second and repaints what changed.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bpx_tui.exchange.models import Order, Trade

if TYPE_CHECKING:
    from bpx_tui.exchange.client import BackpackClient

log = logging.getLogger("bpx_tui.ui")

TRADES_KEPT = 240
ERRORS_KEPT = 200


@dataclass(slots=True)
class Feed:
    """Dirty flags and small queues between the client's callbacks and the frame pump."""

    active: str = ""
    depth: set[str] = field(default_factory=set)  # symbols whose book changed
    markets: bool = False  # ticker / mark of any market
    orders: bool = False
    positions: bool = False
    account: bool = False
    connection: bool = False
    trades: deque[Trade] = field(default_factory=lambda: deque(maxlen=TRADES_KEPT))
    trades_dirty: bool = False
    ladder: bool = False  # markers or the last trade of the active market moved
    candles: bool = False
    fills: deque[Order] = field(default_factory=lambda: deque(maxlen=100))
    errors: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=ERRORS_KEPT))
    depth_messages: int = 0
    last_drop_at: float | None = None  # monotonic time the stream last left CONNECTED

    # ------------------------------------------------------------------ callbacks

    def on_depth(self, symbol: str) -> None:
        self.depth_messages += 1
        self.depth.add(symbol)

    def on_book_state(self, symbol: str) -> None:
        """Synced <-> resyncing: the ladder shows (and gates trading on) that state."""
        self.depth.add(symbol)

    def on_market(self, _value: Any) -> None:
        self.markets = True

    def on_trade(self, trade: Trade) -> None:
        self.markets = True
        if trade.symbol == self.active:
            self.trades.append(trade)
            self.trades_dirty = self.ladder = True

    def on_kline(self, value: tuple[str, Any]) -> None:
        if value[0] == self.active:
            self.candles = True

    def on_order(self, _order: Order | None) -> None:
        self.orders = self.ladder = True

    def on_fill(self, order: Order) -> None:
        self.fills.append(order)
        self.orders = self.ladder = True

    def on_position(self, _position: Any) -> None:
        self.positions = self.ladder = True

    def on_account(self, _value: Any) -> None:
        self.account = True

    def on_connection(self, value: Any) -> None:
        state = value[0] if isinstance(value, tuple) else value
        if getattr(state, "value", state) != "connected":
            self.last_drop_at = time.monotonic()
        self.connection = True

    def on_error(self, message: str) -> None:
        self.report(str(message))

    def report(self, message: str) -> None:
        """An error for the status bar and the log panel (never a traceback on screen)."""
        self.errors.append((time.time(), message))
        self.connection = True

    # ------------------------------------------------------------------ wiring

    def attach(self, client: BackpackClient) -> list[Callable[[], None]]:
        """Register every callback; returns the removers (called on quit)."""
        handlers: dict[str, Callable[[Any], None]] = {
            "depth": self.on_depth,
            "book_state": self.on_book_state,
            "ticker": self.on_market,
            "mark": self.on_market,
            "trade": self.on_trade,
            "kline": self.on_kline,
            "order": self.on_order,
            "fill": self.on_fill,
            "position": self.on_position,
            "account": self.on_account,
            "connection": self.on_connection,
            "error": self.on_error,
        }
        return [client.on(topic, handler) for topic, handler in handlers.items()]

    def switch(self, symbol: str) -> None:
        self.active = symbol
        self.trades.clear()
        self.trades_dirty = self.candles = self.ladder = True
        self.depth.add(symbol)

    @property
    def last_error(self) -> str | None:
        return self.errors[-1][1] if self.errors else None
