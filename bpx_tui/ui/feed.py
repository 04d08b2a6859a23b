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
from typing import TYPE_CHECKING

from bpx_tui.exchange.events import (
    AccountRefreshed,
    BookChanged,
    BookStateChanged,
    CandleUpdated,
    ConnectionChanged,
    ErrorReported,
    MarkUpdated,
    OrderFilled,
    OrdersRefreshed,
    OrderUpdated,
    PositionUpdated,
    TickerUpdated,
    TradePrinted,
)
from bpx_tui.exchange.models import Order, Trade
from bpx_tui.exchange.stream import ConnectionState

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

    def on_depth(self, event: BookChanged) -> None:
        self.depth_messages += 1
        self.depth.add(event.symbol)

    def on_book_state(self, event: BookStateChanged) -> None:
        """Synced <-> resyncing: the ladder shows (and gates trading on) that state."""
        self.depth.add(event.symbol)

    def on_market(self, _event: TickerUpdated | MarkUpdated) -> None:
        self.markets = True

    def on_trade(self, event: TradePrinted) -> None:
        self.markets = True
        if event.trade.symbol == self.active:
            self.trades.append(event.trade)
            self.trades_dirty = self.ladder = True

    def on_candle(self, event: CandleUpdated) -> None:
        if event.symbol == self.active:
            self.candles = True

    def on_orders(self, _event: OrderUpdated | OrdersRefreshed) -> None:
        self.orders = self.ladder = True

    def on_fill(self, event: OrderFilled) -> None:
        self.fills.append(event.order)
        self.orders = self.ladder = True

    def on_position(self, _event: PositionUpdated) -> None:
        self.positions = self.ladder = True

    def on_account(self, _event: AccountRefreshed) -> None:
        self.account = True

    def on_connection(self, event: ConnectionChanged) -> None:
        if event.state is not ConnectionState.CONNECTED:
            self.last_drop_at = time.monotonic()
        self.connection = True

    def on_error(self, event: ErrorReported) -> None:
        self.report(event.message)

    def report(self, message: str) -> None:
        """An error for the status bar and the log panel (never a traceback on screen)."""
        self.errors.append((time.time(), message))
        self.connection = True

    # ------------------------------------------------------------------ wiring

    def attach(self, client: BackpackClient) -> list[Callable[[], None]]:
        """Register every callback; returns the removers (called on quit)."""
        return [
            client.subscribe(BookChanged, self.on_depth),
            client.subscribe(BookStateChanged, self.on_book_state),
            client.subscribe(TickerUpdated, self.on_market),
            client.subscribe(MarkUpdated, self.on_market),
            client.subscribe(TradePrinted, self.on_trade),
            client.subscribe(CandleUpdated, self.on_candle),
            client.subscribe(OrderUpdated, self.on_orders),
            client.subscribe(OrdersRefreshed, self.on_orders),
            client.subscribe(OrderFilled, self.on_fill),
            client.subscribe(PositionUpdated, self.on_position),
            client.subscribe(AccountRefreshed, self.on_account),
            client.subscribe(ConnectionChanged, self.on_connection),
            client.subscribe(ErrorReported, self.on_error),
        ]

    def switch(self, symbol: str) -> None:
        self.active = symbol
        self.trades.clear()
        self.trades_dirty = self.candles = self.ladder = True
        self.depth.add(symbol)

    @property
    def last_error(self) -> str | None:
        return self.errors[-1][1] if self.errors else None
