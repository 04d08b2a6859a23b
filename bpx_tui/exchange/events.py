"""What the client tells its consumers, one typed class per kind of news.

Consumers subscribe by class (``client.subscribe(OrderUpdated, handler)``), so
``mypy --strict`` checks each handler against the event it receives: renaming a field
here fails type-checking in every consumer that reads it. Events are frozen values; the
client's caches (books, positions, ...) stay the source of truth and an event says
what changed and, where it is cheap, carries the new value.

Handlers run synchronously in the event loop, once per stream message for market data,
so they must be O(1); see docs/ARCHITECTURE.md "Events and the UI".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, cast

from bpx_tui.exchange.models import Kline, Liquidation, MarkPrice, Order, Position, Ticker, Trade
from bpx_tui.exchange.stream import ConnectionState


@dataclass(frozen=True, slots=True)
class BookChanged:
    """A depth delta or a snapshot was applied to a book (the hot path)."""

    symbol: str
    """The market whose book moved; read it from ``client.books[symbol]``."""


@dataclass(frozen=True, slots=True)
class BookStateChanged:
    """A book went out of sync (gap, reconnect) or came back in sync."""

    symbol: str
    """The market whose book changed state."""
    synced: bool
    """Whether the book can be traded against now."""


@dataclass(frozen=True, slots=True)
class TickerUpdated:
    """A 24 h ticker arrived (stream or the start-up REST read)."""

    ticker: Ticker
    """The new ticker, also in ``client.tickers``."""


@dataclass(frozen=True, slots=True)
class MarkUpdated:
    """A mark price / funding figure arrived for a perpetual market."""

    mark: MarkPrice
    """The new mark, also in ``client.marks``."""


@dataclass(frozen=True, slots=True)
class TradePrinted:
    """A public trade printed on a watched market."""

    trade: Trade
    """The trade, also the market's entry in ``client.last_trades``."""


@dataclass(frozen=True, slots=True)
class CandleUpdated:
    """The current one-minute candle of a market changed, or a new one opened."""

    symbol: str
    """The market the candle belongs to."""
    kline: Kline
    """The candle as it stands now, also the last of ``client.candles[symbol]``."""


@dataclass(frozen=True, slots=True)
class LiquidationReported:
    """The exchange-wide liquidation feed reported one (only when subscribed)."""

    liquidation: Liquidation
    """Which market, side, size and price were liquidated."""


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """One of our orders changed: an ``account.orderUpdate``, a REST answer or a cancel."""

    order: Order
    """The order merged with what was known before (updates omit unchanged fields)."""


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """One of our orders filled (partly or fully); sent before its ``OrderUpdated``."""

    order: Order
    """The order; ``order.raw`` holds the fill's own fields (``l``, ``L``, ``m``, ``n``)."""


@dataclass(frozen=True, slots=True)
class OrdersRefreshed:
    """The open-order cache was replaced wholesale (account re-read, cancel-all)."""


@dataclass(frozen=True, slots=True)
class PositionUpdated:
    """A position changed (stream update or REST re-read); flat positions are sent too."""

    position: Position
    """The position; a zero ``net_quantity`` means it was closed and left the cache."""


@dataclass(frozen=True, slots=True)
class AccountRefreshed:
    """Balances, collateral or the fee tier were re-read by REST (they have no stream)."""


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """The WebSocket connection changed state."""

    state: ConnectionState
    """The new state, also ``client.connection``."""
    reason: str | None
    """Why it left CONNECTED, when it did (for the status bar and the log)."""


@dataclass(frozen=True, slots=True)
class ErrorReported:
    """Something went wrong that the user should see: a failed re-read, a broken consumer."""

    message: str
    """A sentence for the status bar; the log has the traceback."""


@dataclass(frozen=True, slots=True)
class StreamRefused:
    """The exchange answered a subscription with an error frame.

    Backpack's error frame names no stream and our SUBSCRIBE frames carry no id, so the
    streams are inferred: a non-"Invalid stream" error after a signed SUBSCRIBE is the
    private subscription's (``streams`` lists them and the account is polled by REST
    until a later one is accepted); anything else carries no streams.
    """

    streams: tuple[str, ...]
    """The refused streams, when known; empty when the frame does not say which."""
    code: int | str | None
    """The exchange's error code (4006 "Invalid stream" is the one seen live)."""
    reason: str
    """The exchange's message, for the status bar and the log."""

    @property
    def private(self) -> bool:
        """Whether the account streams were refused (orders and positions go unheard)."""
        return any(stream.startswith("account.") for stream in self.streams)


@dataclass(frozen=True, slots=True)
class StreamRestored:
    """A private subscription was accepted after a refusal: REST polling of the account
    stops and its updates arrive by stream again."""

    streams: tuple[str, ...]
    """The private streams that are live again."""


Event = (
    BookChanged
    | BookStateChanged
    | TickerUpdated
    | MarkUpdated
    | TradePrinted
    | CandleUpdated
    | LiquidationReported
    | OrderUpdated
    | OrderFilled
    | OrdersRefreshed
    | PositionUpdated
    | AccountRefreshed
    | ConnectionChanged
    | ErrorReported
    | StreamRefused
    | StreamRestored
)

E = TypeVar("E", bound=Event)
Handler = Callable[[E], None]
AnyHandler = Callable[[Event], None]


class EventBus:
    """Handlers by event class; a failing handler never stops the others or the feed.

    ``on_failure`` is called inside the ``except`` block (so a log call there still has
    the traceback); it is how the client counts failures and reports them as an
    :class:`ErrorReported` without recursing when an error handler itself fails.
    """

    def __init__(self, on_failure: Callable[[type[object], Exception], None]) -> None:
        self._handlers: dict[type[object], list[AnyHandler]] = {}
        self._on_failure = on_failure

    def subscribe(self, kind: type[E], handler: Handler[E]) -> Callable[[], None]:
        """Call ``handler`` with every ``kind`` event; returns a function that removes it."""
        handlers = self.handlers(kind)
        # The list is keyed by ``kind``, so only ``kind`` events ever reach ``handler``.
        handlers.append(cast(AnyHandler, handler))

        def remove() -> None:
            with contextlib.suppress(ValueError):
                handlers.remove(cast(AnyHandler, handler))

        return remove

    def handlers(self, kind: type[object]) -> list[AnyHandler]:
        """The live list of handlers for ``kind`` (the hot path holds on to it)."""
        return self._handlers.setdefault(kind, [])

    def wanted(self, kind: type[object]) -> bool:
        """Whether anyone listens, so a producer can skip building an event nobody reads."""
        return bool(self._handlers.get(kind))

    def publish(self, event: Event) -> None:
        self.deliver(self._handlers.get(type(event), ()), event)

    def deliver(self, handlers: list[AnyHandler] | tuple[()], event: Event) -> None:
        for handler in handlers:
            try:
                handler(event)
            except Exception as exc:
                self._on_failure(type(event), exc)
