"""The one async client the console and scripts hang off.

It owns the REST session and the single WebSocket connection, keeps live caches (books,
tickers, marks, trades, candles, open orders, positions, balances, collateral) and
publishes what changed as typed events (``bpx_tui.exchange.events``), subscribed to by
class. Handlers run synchronously in the event loop and must be O(1): the UI only marks
itself dirty there and paints on its own clock.

Everything that could make the caches wrong is handled here, once: order-book resync
after a gap or a reconnect, an account re-read after a reconnect (private updates may
have been missed while we were away), polling of balances, which have no stream, and,
while the exchange refuses the private subscription, polling of orders and positions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from bpx_tui.exchange.book import DeltaResult, OrderBook
from bpx_tui.exchange.errors import BackpackError, InvalidOrder
from bpx_tui.exchange.events import (
    AccountRefreshed,
    BookChanged,
    BookStateChanged,
    CandleUpdated,
    ConnectionChanged,
    E,
    ErrorReported,
    Event,
    EventBus,
    Handler,
    LiquidationReported,
    MarkUpdated,
    OrderFilled,
    OrdersRefreshed,
    OrderUpdated,
    PositionUpdated,
    StreamRefused,
    StreamRestored,
    TickerUpdated,
    TradePrinted,
)
from bpx_tui.exchange.models import (
    Balance,
    Collateral,
    Kline,
    Liquidation,
    Market,
    MarkPrice,
    Order,
    Position,
    Ticker,
    Trade,
)
from bpx_tui.exchange.numbers import parse_int
from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from bpx_tui.exchange.stream import ConnectionState, StreamClient
from bpx_tui.exchange.transport import DEFAULT_TRANSPORT, TransportName

PRIVATE_STREAMS = ("account.orderUpdate", "account.positionUpdate")
CANDLES_KEPT = 240
CLOSED_IDS_KEPT = 4096
ACCOUNT_POLL_S = 5.0
ACCOUNT_REFUSED_POLL_S = 2.0  # orders and positions too, while the account stream is refused
ACCOUNT_DEBOUNCE_S = 0.25
ACCOUNT_MIN_GAP_S = 1.0  # a burst of fills costs one re-read a second, not one a fill
CANCEL_CONFIRM_S = 1.0  # after a 202 to cancel-all: when to re-read what is still open
SNAPSHOT_RETRY_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
QUIET_MARKET_SNAPSHOT_S = 1.0
# Stream names remembered for dispatch: subscriptions are few, junk names are not kept.
ROUTES_KEPT = 1024

# A module constant: ``DeltaResult.APPLIED`` is an attribute lookup on every message.
_APPLIED = DeltaResult.APPLIED


class BackpackClient:
    """REST + stream + caches + callbacks, for one account (or none, for market data only)."""

    def __init__(
        self,
        base_url: str,
        ws_url: str,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        logger: logging.Logger | None = None,
        depth_levels: int = 1000,
        rest: RestClient | None = None,
        silence_timeout: float = 30.0,
        private_settle: float = 2.0,
        private_retry: float = 30.0,
        ws_transport: TransportName = DEFAULT_TRANSPORT,
    ) -> None:
        self.log = logger or logging.getLogger("bpx_tui.client")
        self.signer: Signer | None = Signer(api_secret) if api_secret else None
        if self.signer and api_key and api_key.strip() != self.signer.api_key:
            raise ValueError(
                "the API key does not belong to the API secret "
                f"(the secret's key is {self.signer.api_key}); check both values"
            )
        self.has_credentials = self.signer is not None
        self.rest = rest or RestClient(base_url, self.signer, logger=self.log)
        # Full stream name -> handler, so a message costs one dict lookup, no split; the
        # stream looks it up itself and calls ``_on_message`` only for the others.
        self._routes: dict[str, Callable[[str, dict[str, Any]], None]] = {}
        self.stream = StreamClient(
            ws_url,
            signer=self.signer,
            on_message=self._on_message,
            routes=self._routes,
            on_state=self._on_state,
            on_error=self._on_stream_error,
            on_private_refused=self._on_private_refused,
            on_private_accepted=self._on_private_accepted,
            private_settle=private_settle,
            private_retry=private_retry,
            silence_timeout=silence_timeout,
            transport=ws_transport,
        )
        self.depth_levels = depth_levels

        self.markets: dict[str, Market] = {}
        self.books: dict[str, OrderBook] = {}
        self.tickers: dict[str, Ticker] = {}
        self.marks: dict[str, MarkPrice] = {}
        self.mark_times: dict[str, float] = {}
        self.last_trades: dict[str, Trade] = {}
        self.candles: dict[str, deque[Kline]] = {}
        self.open_orders: dict[str, Order] = {}
        # Ids the stream has already reported final; a late REST answer saying "New"
        # must not bring such an order back (the stream often wins the race).
        self._closed_ids: OrderedDict[str, None] = OrderedDict()
        self.positions: dict[str, Position] = {}
        self.balances: dict[str, Balance] = {}
        self.collateral: Collateral | None = None
        self.account_info: dict[str, Any] = {}

        self.connection = ConnectionState.CONNECTING
        self.feed_latency_ms: float | None = None
        self.callback_errors = 0

        self.events = EventBus(self._callback_failed)
        # The live handler list and one event per symbol, read on every depth message.
        self._depth_handlers = self.events.handlers(BookChanged)
        self._book_changed: dict[str, BookChanged] = {}
        self._watched: set[str] = set()
        self._priced: set[str] = set()
        self._resync_tasks: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._account_dirty = asyncio.Event()
        self._positions_dirty = False
        self.account_reads = 0
        """Completed account polls (balances, collateral, positions when open)."""
        self.fallback_reads = 0
        """Account polls that also read orders and positions because the stream was refused."""
        self.account_poll_s = ACCOUNT_POLL_S
        self.refused_poll_s = ACCOUNT_REFUSED_POLL_S
        self.account_refusal: StreamRefused | None = None
        """The private subscription's refusal while it stands (a consumer attached after
        start-up replays it); None while the account streams."""
        self._started = False
        self._closed = False
        self._was_disconnected = False
        # Dispatch by stream prefix; depth first because it is most of the traffic.
        self._handlers: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "depth": self._on_depth,
            "ticker": self._on_ticker,
            "markPrice": self._on_mark,
            "trade": self._on_trade,
            "kline": self._on_kline,
            "account": self._on_account,
            "liquidation": self._on_liquidation,
        }

    def __repr__(self) -> str:
        return f"BackpackClient(rest={self.rest!r}, credentials={self.has_credentials})"

    # ------------------------------------------------------------------ lifecycle

    async def start(self, symbols: Iterable[str] = ()) -> None:
        """Connect, load what the console needs, and start streaming.

        Markets come first because every order is rounded against them; the account
        is loaded by REST because private streams send no snapshot of open orders.
        """
        if self.has_credentials:
            try:
                await self.rest.sync_clock()
            except BackpackError as exc:
                self.log.warning("clock sync failed, using the local clock: %s", exc)
        self.markets = {m.symbol: m for m in await self.rest.markets()}
        for symbol in symbols:
            self.watch(symbol)
        if self.has_credentials:
            self.stream.subscribe(list(PRIVATE_STREAMS))
        await self.stream.start()
        self._started = True
        for symbol in self._watched:
            self._schedule_resync(symbol)
        if self.has_credentials:
            await self.refresh_account()
            self._spawn(self._account_poller())
        self._spawn(self._load_marks())

    async def close(self) -> None:
        """Close the stream, cancel background work and close the REST session."""
        if self._closed:
            return
        self._closed = True
        tasks = [*self._tasks, *self._resync_tasks.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.stream.close()
        await self.rest.close()

    async def __aenter__(self) -> BackpackClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ subscriptions

    def market(self, symbol: str) -> Market:
        try:
            return self.markets[symbol]
        except KeyError:
            raise InvalidOrder(f"unknown market {symbol!r}") from None

    def watch(self, symbol: str) -> None:
        """Stream a market's book, ticker, mark, trades and 1m candles."""
        if symbol in self._watched:
            return
        self.market(symbol)
        self._watched.add(symbol)
        book = self.books[symbol] = OrderBook(symbol)
        # Not subject to ROUTES_KEPT: one route per watched market, never junk.
        self._routes[f"depth.{symbol}"] = self._depth_route(symbol, book)
        self.candles.setdefault(symbol, deque(maxlen=CANDLES_KEPT))
        self.stream.subscribe(self._market_streams(symbol))
        if self._started:
            self._schedule_resync(symbol)

    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._watched)

    def watch_prices(self, symbols: Iterable[str]) -> None:
        """Stream one price of markets nobody trades on screen — a perp's mark (with its
        index, funding rate and next funding time), a spot market's ticker — without a
        book, trades and candles for each: the funding board stays live for every perp
        at one small message a second, not a book's tens to thousands.

        A perp's 24 h ticker is left to REST (the board polls it while open): it changes
        little between polls, and a venue computes it over a day of trades each time.
        """
        streams = []
        for symbol in symbols:
            market = self.market(symbol)
            streams.append(f"markPrice.{symbol}" if market.is_perp else f"ticker.{symbol}")
            self._priced.add(symbol)
        self.stream.subscribe(streams)

    @property
    def priced(self) -> frozenset[str]:
        """Markets with a streamed price: the watched ones and those of
        :meth:`watch_prices`."""
        return frozenset(self._priced | self._watched)

    def _market_streams(self, symbol: str) -> list[str]:
        # No bookTicker: the synced book already has the touch, and the stream would
        # double the decoding work per book change.
        streams = [f"depth.{symbol}", f"ticker.{symbol}"]
        streams.append(f"trade.{symbol}")
        streams.append(f"kline.1m.{symbol}")
        if self.market(symbol).is_perp:
            streams.append(f"markPrice.{symbol}")
        return streams

    # ------------------------------------------------------------------ events

    def subscribe(self, kind: type[E], handler: Handler[E]) -> Callable[[], None]:
        """Call ``handler`` with every ``kind`` event; returns a function that removes it."""
        if kind is LiquidationReported:
            # A global stream of every market's liquidations: only paid for when wanted.
            self.stream.subscribe(["liquidation"])
        return self.events.subscribe(kind, handler)

    def _publish(self, event: Event) -> None:
        self.events.publish(event)

    def _book_state(self, symbol: str) -> None:
        book = self.books.get(symbol)
        self._publish(BookStateChanged(symbol, book is not None and book.synced))

    def _book_changed_event(self, symbol: str) -> BookChanged:
        event = self._book_changed.get(symbol)
        if event is None:
            event = self._book_changed[symbol] = BookChanged(symbol)
        return event

    def _callback_failed(self, kind: type[object], exc: Exception) -> None:
        """A broken consumer must not stop the feed or the other consumers.

        Called from inside the ``except`` block, so the log still gets the traceback.
        """
        self.callback_errors += 1
        self.log.exception("handler for %s failed", kind.__name__)
        if kind is not ErrorReported:
            message = f"{kind.__name__} handler failed: {type(exc).__name__}: {exc}"
            self._publish(ErrorReported(message))

    # ------------------------------------------------------------------ stream dispatch

    @property
    def last_message_at(self) -> float | None:
        """Monotonic time of the last frame (the stream stamps it once per frame)."""
        return self.stream.last_message_at or None

    def _on_message(self, stream: str, data: dict[str, Any]) -> None:
        handler = self._routes.get(stream)
        if handler is None:
            handler = self._handlers.get(stream.partition(".")[0])
            if handler is None:
                return
            if len(self._routes) < ROUTES_KEPT:
                self._routes[stream] = handler
        handler(stream, data)

    def _note_latency(self, data: dict[str, Any]) -> None:
        event_us = parse_int(data.get("E"))
        if event_us:
            self.feed_latency_ms = max(0.0, time.time() * 1000.0 - event_us / 1000.0)

    def _depth_route(self, symbol: str, book: OrderBook) -> Callable[[str, dict[str, Any]], None]:
        """The handler of a watched market's ``depth.<symbol>`` stream, bound to its book.

        This runs for most frames the client gets, so everything a message would look
        up (the book, its one cached event, the live handler list) is looked up once,
        here; the stream's name already says which book it is.
        """
        on_delta = book.on_delta
        failed = self._callback_failed
        handlers = self._depth_handlers
        event = self._book_changed_event(symbol)

        def on_depth(stream: str, data: dict[str, Any]) -> None:
            result = on_delta(data)
            if result is _APPLIED:
                # EventBus.deliver, inlined: a Python call less on most frames.
                for handler in handlers:
                    try:
                        handler(event)
                    except Exception as exc:
                        failed(BookChanged, exc)
            else:
                self._depth_not_applied(symbol, book, result)

        return on_depth

    def _on_depth(self, stream: str, data: dict[str, Any]) -> None:
        """Any other depth stream (``depth.200ms.<symbol>``): the book the payload names."""
        symbol = data.get("s") or stream.rpartition(".")[2]
        book = self.books.get(symbol)
        if book is None:
            return
        result = book.on_delta(data)
        if result is _APPLIED:
            if self._depth_handlers:
                self.events.deliver(self._depth_handlers, self._book_changed_event(symbol))
        else:
            self._depth_not_applied(symbol, book, result)

    def _depth_not_applied(self, symbol: str, book: OrderBook, result: DeltaResult) -> None:
        if result is DeltaResult.GAP:
            self._book_state(symbol)
            self._schedule_resync(symbol)
        elif not book.synced and symbol not in self._resync_tasks and self._started:
            self._schedule_resync(symbol)

    def _on_ticker(self, stream: str, data: dict[str, Any]) -> None:
        ticker = Ticker.from_stream(data)
        self.tickers[ticker.symbol] = ticker
        self._note_latency(data)
        self._publish(TickerUpdated(ticker))

    def _on_mark(self, stream: str, data: dict[str, Any]) -> None:
        mark = MarkPrice.from_stream(data)
        self.marks[mark.symbol] = mark
        self.mark_times[mark.symbol] = time.monotonic()
        self._note_latency(data)
        self._publish(MarkUpdated(mark))

    def _on_trade(self, stream: str, data: dict[str, Any]) -> None:
        trade = Trade.from_stream(data)
        self.last_trades[trade.symbol] = trade
        self._note_latency(data)
        self._publish(TradePrinted(trade))

    def _on_kline(self, stream: str, data: dict[str, Any]) -> None:
        symbol = str(data.get("s", ""))
        kline = Kline.from_stream(data)
        candles = self.candles.setdefault(symbol, deque(maxlen=CANDLES_KEPT))
        if candles and candles[-1].start_ms == kline.start_ms:
            candles[-1] = kline
        else:
            candles.append(kline)
        self._publish(CandleUpdated(symbol, kline))

    def _on_liquidation(self, stream: str, data: dict[str, Any]) -> None:
        self._publish(LiquidationReported(Liquidation.from_stream(data)))

    def _on_account(self, stream: str, data: dict[str, Any]) -> None:
        if stream.startswith("account.orderUpdate"):
            self._on_order_update(data)
        elif stream.startswith("account.positionUpdate"):
            self._on_position_update(data)

    def _on_order_update(self, data: dict[str, Any]) -> None:
        update = Order.from_update(data)
        if not update.id:
            return
        previous = self.open_orders.get(update.id)
        order = _merge_order(previous, update)
        if order.is_open:
            self.open_orders[order.id] = order
        else:
            self.open_orders.pop(order.id, None)
            self._closed_ids[order.id] = None
            if len(self._closed_ids) > CLOSED_IDS_KEPT:
                self._closed_ids.popitem(last=False)
        if data.get("e") == "orderFill":
            self._publish(OrderFilled(order))
            self._positions_dirty = True  # a first fill may open a position
            self._mark_account_dirty()
        self._publish(OrderUpdated(order))

    def _on_position_update(self, data: dict[str, Any]) -> None:
        symbol = str(data.get("s", ""))
        if not symbol:
            return
        position = Position.from_update(data, self.positions.get(symbol))
        if position.net_quantity == 0:
            self.positions.pop(symbol, None)
        else:
            self.positions[symbol] = position
        self._mark_account_dirty()
        self._publish(PositionUpdated(position))

    def _on_state(self, state: ConnectionState, reason: str | None) -> None:
        previous = self.connection
        self.connection = state
        if state is not ConnectionState.CONNECTED:
            self._was_disconnected = self._was_disconnected or previous is ConnectionState.CONNECTED
        elif self._was_disconnected:
            # Deltas were missed while away: every book is invalid and private updates
            # may be lost, so resync books and re-read the account.
            self._was_disconnected = False
            for symbol, book in self.books.items():
                book.reset()
                self._book_state(symbol)
                self._schedule_resync(symbol)
            if self.has_credentials and self._started:
                self._spawn(self._safe_refresh_account())
        self._publish(ConnectionChanged(state, reason))

    @property
    def account_stream_refused(self) -> str | None:
        """Why the private subscription was refused, while it is; None when it streams."""
        return self.account_refusal.reason if self.account_refusal is not None else None

    def _on_stream_error(self, code: int | str | None, message: str) -> None:
        """An error frame the stream could not pin on the private subscription: most
        likely a public stream name the exchange does not know."""
        self._publish(StreamRefused((), code, message or f"error {code}"))

    def _on_private_refused(
        self, streams: tuple[str, ...], code: int | str | None, reason: str
    ) -> None:
        """Orders and positions go unheard: poll them by REST until the stream is back."""
        if self.account_refusal is None:
            self.log.warning(
                "account stream refused (%s): %s; polling the account every %g s",
                code,
                reason,
                self.refused_poll_s,
            )
        self.account_refusal = StreamRefused(streams, code, reason)
        self._mark_account_dirty()  # the first fallback read now, not in a poll period
        self._publish(self.account_refusal)

    def _on_private_accepted(self, streams: tuple[str, ...]) -> None:
        if self.account_refusal is None:
            return
        self.account_refusal = None
        self.log.info("account stream back; polling of orders and positions stopped")
        self._publish(StreamRestored(streams))

    # ------------------------------------------------------------------ book sync

    def _schedule_resync(self, symbol: str) -> None:
        running = self._resync_tasks.get(symbol)
        if running is not None and not running.done():
            return
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._resync(symbol))
        self._resync_tasks[symbol] = task

    async def _resync(self, symbol: str) -> None:
        """Fetch REST snapshots until one lines up with the buffered deltas.

        See docs/PROTOCOL.md "Order book sync".
        """
        attempt = 0
        waiting_since = time.monotonic()
        try:
            while not self._closed:
                book = self.books.get(symbol)
                if book is None or book.synced:
                    return
                # Normally wait for a buffered delta (the snapshot lags the stream); a
                # quiet market may send none, so after a while take the snapshot alone.
                quiet = time.monotonic() - waiting_since > QUIET_MARKET_SNAPSHOT_S
                if not book.needs_snapshot and not quiet:
                    await asyncio.sleep(0.02)
                    continue
                try:
                    raw = await self.rest.depth(symbol, self.depth_levels)
                except BackpackError as exc:
                    self.log.warning("depth snapshot for %s failed: %s", symbol, exc)
                    raw = None
                if raw is not None and book is self.books.get(symbol) and book.on_snapshot(raw):
                    self.log.info("book %s synced at %s", symbol, book.last_update_id)
                    self._book_state(symbol)
                    self._publish(self._book_changed_event(symbol))
                    return
                await asyncio.sleep(SNAPSHOT_RETRY_S[min(attempt, len(SNAPSHOT_RETRY_S) - 1)])
                attempt += 1
        finally:
            if self._resync_tasks.get(symbol) is asyncio.current_task():
                del self._resync_tasks[symbol]

    # ------------------------------------------------------------------ account

    async def refresh_account(self) -> None:
        """Re-read open orders, positions, balances and collateral by REST."""
        if not self.has_credentials:
            return
        orders, positions, balances, collateral = await asyncio.gather(
            self.rest.open_orders(),
            self.rest.positions(),
            self.rest.balances(),
            self.rest.collateral(),
        )
        self.open_orders = {o.id: o for o in orders if o.is_open}
        self.balances = balances
        self.collateral = collateral
        await self._load_account_settings()
        self._adopt_positions(positions)  # one closed while we were away is announced
        self._publish(AccountRefreshed())
        self._publish(OrdersRefreshed())

    async def _load_account_settings(self) -> None:
        """The fee tier and limits (``GET /account``); on failure the last known stay.

        Read with the account (at start and after every reconnect): the fee tier changes
        with volume, and a preview priced with the wrong fee misleads the trader.
        """
        try:
            self.account_info = await self.rest.account()
        except BackpackError as exc:
            self.log.warning("account settings (fee tier) could not be read: %s", exc)

    async def set_leverage_limit(self, limit: int) -> None:
        """Set the account's ``leverageLimit``, then re-read the settings the strip shows.

        The exchange validates the number (a refusal raises its ``ApiError``); the re-read
        means the strip shows what the exchange now holds, not what was asked for.
        """
        await self.rest.update_account(leverageLimit=str(limit))
        await self._load_account_settings()
        self._publish(AccountRefreshed())

    async def _safe_refresh_account(self) -> None:
        try:
            await self.refresh_account()
        except BackpackError as exc:
            self.log.warning("account refresh failed: %s", exc)
            self._publish(ErrorReported(f"account refresh failed: {exc}"))

    def _mark_account_dirty(self) -> None:
        self._account_dirty.set()

    async def _account_poller(self) -> None:
        """Balances, collateral and the numbers live positions only give over REST.

        Live Backpack streams no balances, and its position stream carries neither the
        estimated liquidation price (``l`` is a placeholder ``"0"``) nor funding paid:
        those are in ``GET /api/v1/position`` only (docs/PROTOCOL.md). So the account is
        re-read soon after a fill (debounced, at most once a second) and every
        :data:`ACCOUNT_POLL_S` while a position is open; balances on the same clock.
        While the private subscription is refused, orders and positions are read too,
        every :data:`ACCOUNT_REFUSED_POLL_S`, so the console never shows a fill it missed
        as a resting order.
        """
        last = -ACCOUNT_MIN_GAP_S
        while not self._closed:
            period = self.account_poll_s if self.account_refusal is None else self.refused_poll_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._account_dirty.wait(), period)
                await asyncio.sleep(ACCOUNT_DEBOUNCE_S)
            await asyncio.sleep(max(0.0, last + ACCOUNT_MIN_GAP_S - time.monotonic()))
            self._account_dirty.clear()
            last = time.monotonic()
            try:
                await self._poll_account()
            except BackpackError as exc:
                self.log.warning("account poll failed: %s", exc)

    async def _poll_account(self) -> None:
        with_positions = bool(self.positions) or self._positions_dirty
        self._positions_dirty = False
        if self.account_refusal is not None:  # nothing streams: read what it would have told
            self.balances, self.collateral, positions, orders = await asyncio.gather(
                self.rest.balances(),
                self.rest.collateral(),
                self.rest.positions(),
                self.rest.open_orders(),
            )
            self._adopt_positions(positions)
            self.open_orders = {o.id: o for o in orders if o.is_open}
            self.fallback_reads += 1
            self._publish(OrdersRefreshed())
        elif with_positions:
            self.balances, self.collateral, positions = await asyncio.gather(
                self.rest.balances(), self.rest.collateral(), self.rest.positions()
            )
            self._adopt_positions(positions)
        else:
            self.balances, self.collateral = await asyncio.gather(
                self.rest.balances(), self.rest.collateral()
            )
        self.account_reads += 1
        self._publish(AccountRefreshed())

    def _adopt_positions(self, positions: Iterable[Position]) -> None:
        """Take the exchange's positions as they are; announce each that changed,
        and as closed (zero size) each that is gone."""
        fresh = {p.symbol: p for p in positions if p.net_quantity != 0}
        for symbol, old in self.positions.items():
            if symbol not in fresh:
                self._publish(PositionUpdated(replace(old, net_quantity=Decimal(0))))
        previous, self.positions = self.positions, fresh
        for symbol, position in fresh.items():
            if previous.get(symbol) != position:
                self._publish(PositionUpdated(position))

    async def _load_marks(self) -> None:
        """Seed marks/funding for every perp so the watchlist is full before streams tick."""
        try:
            for mark in await self.rest.mark_prices():
                self.marks.setdefault(mark.symbol, mark)
                self.mark_times.setdefault(mark.symbol, time.monotonic())
                self._publish(MarkUpdated(mark))
            for ticker in await self.rest.tickers():
                self.tickers.setdefault(ticker.symbol, ticker)
                self._publish(TickerUpdated(ticker))
        except BackpackError as exc:
            self.log.warning("initial market data failed: %s", exc)

    # ------------------------------------------------------------------ orders

    async def submit(self, payload: Mapping[str, Any]) -> Order:
        """Send an order payload exactly as it is (see ``RestClient.execute_order``).

        The payload comes from :meth:`bpx_tui.trading.order.NewOrder.payload`, which put
        it on the market's grid; nothing is checked or changed again here, so what the
        journal recorded is byte-for-byte what goes on the wire.
        """
        order = await self.rest.execute_order(payload)
        self.adopt(order)
        return order

    def adopt(self, order: Order) -> None:
        """Take a just-placed order into the open-order cache before its stream update.

        The stream often wins the race: an id it already reported final stays closed.
        """
        if order.is_open and order.id not in self._closed_ids:
            self.open_orders.setdefault(order.id, order)
            self._publish(OrderUpdated(order))

    async def cancel_order(self, symbol: str, order_id: str) -> Order:
        order = await self.rest.cancel_order(symbol, order_id=order_id)
        self.open_orders.pop(order.id or order_id, None)
        self._publish(OrderUpdated(order))
        return order

    async def cancel_all(self, symbol: str | None = None) -> list[Order]:
        """Cancel every open order of ``symbol``, or of every market that has any."""
        if symbol is not None:
            symbols = {symbol}
        else:
            symbols = {o.symbol for o in self.open_orders.values()}
            if self.has_credentials:
                symbols |= {o.symbol for o in await self.rest.open_orders()}
        cancelled: list[Order] = []
        accepted: set[str] = set()  # answered 202: the orders are not gone yet
        for sym in sorted(symbols):
            answer = await self.rest.cancel_all(sym)
            if answer is None:
                accepted.add(sym)
            else:
                cancelled.extend(answer)
        for order in cancelled:
            self.open_orders.pop(order.id, None)
        done = symbols - accepted
        for order_id in [i for i, o in self.open_orders.items() if o.symbol in done]:
            self.open_orders.pop(order_id, None)
        if accepted:
            self._spawn(self._confirm_cancel_all(accepted))
        self._publish(OrdersRefreshed())
        return cancelled

    async def _confirm_cancel_all(self, symbols: set[str]) -> None:
        """After a ``202`` the orders stay on screen, as live, until the stream cancels
        them or this re-read finds them gone: a screen that dropped them early would show
        a flat book of orders that may still fill."""
        await asyncio.sleep(CANCEL_CONFIRM_S)
        try:
            still_open = await self.rest.open_orders()
        except BackpackError as exc:
            self.log.warning("open orders after cancel-all could not be read: %s", exc)
            return
        live = {o.id: o for o in still_open if o.is_open and o.symbol in symbols}
        for order_id in [i for i, o in self.open_orders.items() if o.symbol in symbols]:
            if order_id not in live:
                self.open_orders.pop(order_id, None)
        self.open_orders.update(live)
        self._publish(OrdersRefreshed())


def _merge_order(previous: Order | None, update: Order) -> Order:
    """Order updates omit fields they do not change; keep what we knew."""
    if previous is None:
        return update
    return replace(
        update,
        price=update.price if update.price is not None else previous.price,
        quantity=update.quantity if update.quantity is not None else previous.quantity,
        client_id=update.client_id if update.client_id is not None else previous.client_id,
        time_in_force=update.time_in_force or previous.time_in_force,
        trigger_price=update.trigger_price or previous.trigger_price,
        created_at_ms=previous.created_at_ms or update.created_at_ms,
        post_only=update.post_only or previous.post_only,
        reduce_only=update.reduce_only or previous.reduce_only,
    )
