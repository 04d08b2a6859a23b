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

from bpx_tui.exchange import events
from bpx_tui.exchange.models import Trade
from bpx_tui.exchange.stream import ConnectionState
from bpx_tui.ui.activity import (
    ActivityEntry,
    OrderStatusMemo,
    connection_entry,
    fill_entry,
    order_entry,
)
from bpx_tui.ui.tape import SessionVolume

if TYPE_CHECKING:
    from bpx_tui.exchange.client import BackpackClient

log = logging.getLogger("bpx_tui.ui")

TRADES_KEPT = 240
ERRORS_KEPT = 200
ACTIVITY_QUEUED = 2000


def refusal_message(event: events.StreamRefused) -> str:
    """The status bar's words for a refused subscription."""
    prefix = "account stream refused" if event.private else "stream refused"
    return f"{prefix}: {event.reason}"


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
    volume: SessionVolume = field(default_factory=SessionVolume)  # every streamed market
    ladder: bool = False  # markers or the last trade of the active market moved
    candles: bool = False
    # What the exchange did, for the activity log; drained by the pump. Bounded so a
    # stalled pump cannot grow it; the log file has every entry the pump recorded.
    activity: deque[ActivityEntry] = field(default_factory=lambda: deque(maxlen=ACTIVITY_QUEUED))
    order_statuses: OrderStatusMemo = field(default_factory=OrderStatusMemo)
    errors: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=ERRORS_KEPT))
    depth_messages: int = 0
    last_drop_at: float | None = None  # monotonic time the stream last left CONNECTED

    # ------------------------------------------------------------------ callbacks

    def on_depth(self, event: events.BookChanged) -> None:
        self.depth_messages += 1
        self.depth.add(event.symbol)

    def on_book_state(self, event: events.BookStateChanged) -> None:
        """Synced <-> resyncing: the ladder shows (and gates trading on) that state."""
        self.depth.add(event.symbol)

    def on_market(self, _event: events.TickerUpdated | events.MarkUpdated) -> None:
        self.markets = True

    def on_trade(self, event: events.TradePrinted) -> None:
        self.markets = True
        self.volume.add(event.trade)
        if event.trade.symbol == self.active:
            self.trades.append(event.trade)
            self.trades_dirty = self.ladder = True

    def on_candle(self, event: events.CandleUpdated) -> None:
        if event.symbol == self.active:
            self.candles = True

    def on_orders(self, _event: events.OrdersRefreshed) -> None:
        self.orders = self.ladder = True

    def on_order(self, event: events.OrderUpdated) -> None:
        """An order's new status is one activity line (said once, however often heard)."""
        self.orders = self.ladder = True
        order = event.order
        if self.order_statuses.is_new(order):
            entry = order_entry(order)
            if entry is not None:
                self.activity.append(entry)

    def on_fill(self, event: events.OrderFilled) -> None:
        self.activity.append(fill_entry(event.order))
        self.orders = self.ladder = True

    def on_position(self, _event: events.PositionUpdated) -> None:
        self.positions = self.ladder = True

    def on_account(self, _event: events.AccountRefreshed) -> None:
        self.account = True

    def on_connection(self, event: events.ConnectionChanged) -> None:
        if event.state is not ConnectionState.CONNECTED:
            self.last_drop_at = time.monotonic()
        self.activity.append(connection_entry(event.state, event.reason))
        self.connection = True

    def on_error(self, event: events.ErrorReported) -> None:
        self.report(event.message)

    def on_stream_refused(self, event: events.StreamRefused) -> None:
        """A refusal in the log file and the activity log, and on the status bar: a
        refused account stream means fills arrive late (by REST poll), which the trader
        must know for as long as it lasts, so the app shows it from
        ``client.account_refusal`` until it is lifted rather than as a passing error."""
        message = refusal_message(event)
        result = f"{message}; polling orders, positions and balances over REST"
        log.warning("%s (code %s)", result if event.private else message, event.code)
        self.activity.append(
            ActivityEntry("stream", result if event.private else message, tone="bad")
        )
        if event.private:
            self.connection = True
        else:
            self.report(message)

    def on_stream_restored(self, _event: events.StreamRestored) -> None:
        log.info("account stream back; REST polling of orders and positions stopped")
        self.activity.append(ActivityEntry("stream", "account stream back; polling stopped"))
        self.connection = True

    def report(self, message: str) -> None:
        """An error for the status bar and the log panel (never a traceback on screen)."""
        self.errors.append((time.time(), message))
        self.connection = True

    # ------------------------------------------------------------------ wiring

    def attach(self, client: BackpackClient) -> list[Callable[[], None]]:
        """Register every callback; returns the removers (called on quit).

        The private subscription is refused, if at all, while the client starts, before
        the console attaches: a refusal that still stands is replayed so it is not lost.
        """
        removers = [
            client.subscribe(events.BookChanged, self.on_depth),
            client.subscribe(events.BookStateChanged, self.on_book_state),
            client.subscribe(events.TickerUpdated, self.on_market),
            client.subscribe(events.MarkUpdated, self.on_market),
            client.subscribe(events.TradePrinted, self.on_trade),
            client.subscribe(events.CandleUpdated, self.on_candle),
            client.subscribe(events.OrderUpdated, self.on_order),
            client.subscribe(events.OrdersRefreshed, self.on_orders),
            client.subscribe(events.OrderFilled, self.on_fill),
            client.subscribe(events.PositionUpdated, self.on_position),
            client.subscribe(events.AccountRefreshed, self.on_account),
            client.subscribe(events.ConnectionChanged, self.on_connection),
            client.subscribe(events.ErrorReported, self.on_error),
            client.subscribe(events.StreamRefused, self.on_stream_refused),
            client.subscribe(events.StreamRestored, self.on_stream_restored),
        ]
        if client.account_refusal is not None:
            self.on_stream_refused(client.account_refusal)
        return removers

    def switch(self, symbol: str) -> None:
        self.active = symbol
        self.trades.clear()
        self.trades_dirty = self.candles = self.ladder = True
        self.depth.add(symbol)

    def seed_trades(self, symbol: str, recent: list[Trade]) -> None:
        """Put the exchange's recent trades (REST) under the streamed ones, so the tape
        is full from the moment a market is shown; a trade both sources have is kept once."""
        if symbol != self.active:
            return
        streamed = {t.id for t in self.trades if t.id is not None}
        older = [t for t in recent if t.id is None or t.id not in streamed]
        older.sort(key=lambda t: (t.timestamp_ms or 0, t.id or 0))
        kept = [*older, *self.trades][-TRADES_KEPT:]
        self.trades.clear()
        self.trades.extend(kept)
        self.trades_dirty = True

    @property
    def last_error(self) -> str | None:
        return self.errors[-1][1] if self.errors else None
