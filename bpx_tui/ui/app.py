"""The console: composes the panels, runs the frame pump, turns keys into orders.

Data flow (docs/ARCHITECTURE.md "Events and the UI"): the client's events reach
:class:`~bpx_tui.ui.feed.Feed`, which only records what changed; one timer, the frame
pump, runs ``refresh_hz`` times a second and hands the changed view values to the
widgets inside one ``batch_update()``. Keys and widget intents are routed to the
:class:`~bpx_tui.ui.desk.TradingDesk` collaborator, whose :class:`~bpx_tui.ui.desk.Outcome`
the app shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from decimal import Decimal
from functools import partial
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from bpx_tui import paths
from bpx_tui.config import Settings
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import BackpackError
from bpx_tui.exchange.events import PositionUpdated
from bpx_tui.exchange.models import MarkPrice, Ticker
from bpx_tui.exchange.stream import ConnectionState
from bpx_tui.exchange.urls import is_loopback
from bpx_tui.logsetup import RingBufferHandler
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.order import NewOrder
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.recovery import JournalCheck, reconcile_on_start
from bpx_tui.trading.risk import RiskGate
from bpx_tui.ui import candles, collector, history_flow, keys, layout
from bpx_tui.ui.activity import ActivityEntry, ActivityLog
from bpx_tui.ui.alert_watch import AlertWatch, fired_entry
from bpx_tui.ui.chart_source import ChartSource
from bpx_tui.ui.command_grammar import (
    ALL,
    AlertCommand,
    AlertsCommand,
    CancelCommand,
    CloseCommand,
    Command,
    ExitCommand,
    FundingCommand,
    HistoryCommand,
    LeverageCommand,
    OrderCommand,
    PairCommand,
    SymbolCommand,
    TimeframeCommand,
)
from bpx_tui.ui.command_history import CommandHistory
from bpx_tui.ui.commands import ConsoleCommands
from bpx_tui.ui.desk import Outcome, Severity, TradingDesk
from bpx_tui.ui.feed import Feed, refusal_message
from bpx_tui.ui.funding_board import POLL_S, FundingRow, board_rows, prefer_streamed
from bpx_tui.ui.pair_view import pair_preview
from bpx_tui.ui.pairs import spot_symbols
from bpx_tui.ui.screens.alerts import AlertsScreen
from bpx_tui.ui.screens.command_line import CommandLine
from bpx_tui.ui.screens.confirm import ConfirmScreen
from bpx_tui.ui.screens.funding import FundingBoard
from bpx_tui.ui.screens.help import HelpScreen
from bpx_tui.ui.screens.history import HistoryScreen
from bpx_tui.ui.screens.startup import StartupScreen
from bpx_tui.ui.screens.switcher import MarketSwitcher
from bpx_tui.ui.session import SessionPnl
from bpx_tui.ui.tape import tape_rows
from bpx_tui.ui.ticket_model import Ticket, TicketError
from bpx_tui.ui.views import (
    account_pairs,
    account_view,
    chart_lines,
    holding_rows,
    ladder_markers,
    last_price,
    order_rows,
    position_rows,
    watch_rows,
)
from bpx_tui.ui.widgets.account import AccountStrip
from bpx_tui.ui.widgets.activity import ActivityPanel
from bpx_tui.ui.widgets.chart import CandleChart
from bpx_tui.ui.widgets.holdings import HoldingsPanel
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.log_panel import LogPanel, format_line
from bpx_tui.ui.widgets.orders import OrdersPanel
from bpx_tui.ui.widgets.positions import PositionsPanel
from bpx_tui.ui.widgets.status import Mode, StatusBar, StatusInfo
from bpx_tui.ui.widgets.table import TablePanel
from bpx_tui.ui.widgets.tape import TapePanel
from bpx_tui.ui.widgets.ticket import OrderTicket
from bpx_tui.ui.widgets.unchanged import set_titles
from bpx_tui.ui.widgets.watchline import WatchLine
from bpx_tui.ui.widgets.watchlist import Watchlist

if TYPE_CHECKING:
    from bpx_tui.sim.server import SimServer

log = logging.getLogger("bpx_tui.ui")

THEME_VARIABLES = {
    "bid": "#26a65b",
    "ask": "#e0464e",
    "alarm": "#ff3b30",
    "demo": "#3d8bfd",
    "marker": "#f5c211",
}
WATCHLIST_MAX = 12
SLOW_HZ = 4  # tables, account, status, chart: enough for numbers a human reads
DROP_VISIBLE_S = 2.0  # a reconnect faster than the eye stays on the status bar this long
ERROR_VISIBLE_S = 60.0  # then the error lives on in the log panel (L) only
ACCOUNT_ROWS = 6  # the account strip's four lines and its border
CHART_MIN_ROWS = 3  # the chart's border and one line: with less it only overflows the column
NOTE_VISIBLE_S = 5.0  # a passing word on the status bar
TOAST_BURST_S = 1.0  # errors closer together than this share one toast
BOOK_WAIT_S = 3.0
OPEN_INTEREST_EVERY_S = 30.0
TAPE_LINES = 100  # trades the tape keeps on screen (bursts merged)
# Desk keys, plus Textual's own quit (ctrl+q) and command palette (ctrl+p), which are
# priority bindings: none of them runs while an input context is open.
DESK_ACTIONS = keys.desk_actions() | {"quit", "command_palette"}


STYLESHEETS: list[str | PurePath] = [*paths.css_paths()]


MODE_TITLES: dict[Mode, str] = {
    "demo": "DEMO (local exchange)",
    "sim": "SIM (a separate local exchange; live safeguards on)",
    "live": "LIVE",
}


def _mode(client: BackpackClient | None, sim: SimServer | None, live: bool | None) -> Mode:
    if live is not None:
        return "live" if live else "demo"
    if sim is not None or client is None:
        return "demo"
    return "sim" if is_loopback(client.rest.base_url) else "live"


class BpxApp(App[int]):
    """The trading console; see the module docstring for the data flow."""

    CSS_PATH = STYLESHEETS
    TITLE = "bpx-tui"
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = list(
        keys.bindings("app")
    )
    # Not ``App.COMMANDS |``: ConsoleCommands serves Textual's system commands itself,
    # after the desk's, which two concurrent providers could not keep in order.
    COMMANDS: ClassVar = {ConsoleCommands}

    def __init__(
        self,
        settings: Settings,
        *,
        client: BackpackClient | None = None,
        sim: SimServer | None = None,
        journal_path: Path | None = None,
        wall_ms: Callable[[], int] | None = None,
        log_ring: RingBufferHandler | None = None,
        live: bool | None = None,
    ) -> None:
        """``live`` None infers the mode: the in-process exchange is DEMO, a separate
        loopback exchange (``bpx-tui sim``) is SIM, traded with the live safeguards
        (first-order confirmation) so a user can rehearse, and anything else is LIVE.
        True treats any exchange as real money; False as the demo."""
        if client is None and sim is None:
            raise ValueError("BpxApp needs a client (live) or a SimServer (demo)")
        super().__init__()
        self.settings = settings
        self.client: BackpackClient | None = client
        self.sim = sim
        self.mode: Mode = _mode(client, sim, live)
        self.demo = self.mode == "demo"
        self.desk: TradingDesk | None = None  # made once connected
        self.journal_check: JournalCheck | None = None
        self.feed = Feed()
        self.gate = RiskGate()
        self.service: OrderService | None = None
        self.journal: Journal | None = None
        self._journal_path = journal_path
        self._wall_ms = wall_ms or (lambda: int(time.time() * 1000))
        self.log_ring = log_ring
        self.ready = False
        self.active = ""
        self.watchlist_symbols: list[str] = []
        self.open_interest: dict[str, Decimal] = {}
        # Every market's marks, tickers and open interest by REST, read while the funding
        # board is open (only the watched markets' tickers stream): ``_poll_board``.
        self.board_marks: dict[str, MarkPrice] = {}
        self.board_tickers: dict[str, Ticker] = {}
        self.board_polls = 0
        self._tape_behind = False  # trades arrived while the tape was a hidden tab
        self._board_timer: Timer | None = None
        self._board_polling = False
        self.charts = ChartSource(self._wall_ms)
        self.pump_ticks = 0
        self._pump_timer: Timer | None = None
        self._removers: list[Callable[[], None]] = []
        self._shut = False
        self._startup = StartupScreen("bpx-tui · " + MODE_TITLES[self.mode])
        self.activity = ActivityLog()
        self.session = SessionPnl()
        # The bottom panels the trader asked for, most recent first: in each place at
        # the bottom the first of these it holds is shown (ui/layout.py).
        self.recent_views: list[layout.BottomView] = []
        self._note: tuple[str, float] | None = None
        self._toast_burst_at = -TOAST_BURST_S  # when the last toast was shown
        self._toast_pending: tuple[int, str, Severity] | None = None  # (count, latest, …)
        self._toast_timer: Timer | None = None
        self.command_history = CommandHistory(paths.command_history_file())
        self.alerts = AlertWatch(paths.alerts_file(self.mode), self._wall_ms)
        self._alerts_shown = -1  # the book's version the open alerts view shows

    @property
    def _client(self) -> BackpackClient:
        assert self.client is not None
        return self.client

    @property
    def _desk(self) -> TradingDesk:
        """Trading keys run only once connected (``check_action``), when the desk exists."""
        assert self.desk is not None
        return self.desk

    # ------------------------------------------------------------------ layout

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **THEME_VARIABLES}

    def compose(self) -> ComposeResult:
        with Vertical(id="top"):
            yield Watchlist(id="watchlist")
            yield WatchLine(id="watchline")
        with Horizontal(id="body"):
            yield DepthLadder(id="ladder")
            with Vertical(id="right"):
                yield OrderTicket(id="ticket")
                yield AccountStrip(id="account")
                yield CandleChart(id="chart")
        with Vertical(id="bottom"):
            yield PositionsPanel(id="positions")
            with Horizontal(id="lower"):
                yield OrdersPanel(id="orders")
                yield ActivityPanel(self.activity, id="activity")
                yield HoldingsPanel(id="holdings")
                yield TapePanel(id="tape")
        yield LogPanel(id="log")
        yield StatusBar(id="status")

    @property
    def key_overrides(self) -> Mapping[str, str]:
        """The usable part of the user's ``[keys]`` table, for the palette to show."""
        return keys.keymap(self.settings.keys)[0]

    def on_mount(self) -> None:
        keymap, problems = keys.keymap(self.settings.keys)
        self.set_keymap(keymap)
        for problem in problems:
            self.feed.report(problem)
        self.query_one(LogPanel).display = False
        self.query_one(Watchlist).border_title = "Watchlist"
        self.push_screen(self._startup)
        self.run_worker(self._connect(), group="connect", exit_on_error=False)

    def on_resize(self, event: events.Resize) -> None:
        self.fit_layout(event.size.width, event.size.height)

    def fit_layout(self, width: int, height: int) -> None:
        """Lay the main screen out for a terminal of this size (``ui/layout.py``).

        The size classes go on the main screen even while a dialog is on top of it,
        so closing the dialog shows the layout of the size the terminal has now.
        """
        main = self.screen_stack[0] if self.screen_stack else None
        if main is None:
            return
        main.update_classes(layout.size_classes(width, height), animate=False)
        try:
            self._show_bottom(width, height)
        except NoMatches:
            return  # not composed yet, or being torn down

    def _bottom(self) -> dict[layout.BottomView, TablePanel | ActivityPanel]:
        main = self.screen_stack[0]
        return {
            "positions": main.query_one(PositionsPanel),
            "orders": main.query_one(OrdersPanel),
            "activity": main.query_one(ActivityPanel),
            "holdings": main.query_one(HoldingsPanel),
            "tape": main.query_one(TapePanel),
        }

    def _show_bottom(self, width: int, height: int) -> None:
        shown = layout.bottom_panels(width, height, self.recent_views)
        for name, panel in self._bottom().items():
            panel.display = name in shown
        lower = shown - {"positions"}
        self.screen_stack[0].query_one("#lower").display = bool(lower)
        self._title_bottom(width, height)

    def _title_bottom(self, width: int, height: int) -> None:
        """Panels that take turns carry the tab strip as their title; others their name."""
        panels = self._bottom()
        client = self.client
        npos = sum(1 for p in client.positions.values() if p.net_quantity) if client else 0
        nord = len(client.open_orders) if client else 0
        nbal = sum(1 for b in client.balances.values() if b.available or b.locked) if client else 0
        labels: dict[layout.BottomView, str] = {
            "positions": f"Positions {npos}",
            "orders": f"Open orders {nord}",
            "activity": f"Activity {len(self.activity)}",
            "holdings": f"Holdings {nbal}",
            "tape": f"Tape {len(self.feed.trades)}",
        }
        shown = layout.bottom_panels(width, height, self.recent_views)
        keys = self._view_keys()
        for slot in layout.slots(width, height):
            current = next(view for view in slot if view in shown)
            for view in slot:
                if len(slot) == 1:
                    title = labels[view].rsplit(" ", 1)[0]
                else:
                    title = layout.tab_strip(
                        current, slot, labels, keys, layout.slot_width(width, height)
                    )
                set_titles(panels[view], title)

    def _view_keys(self) -> dict[layout.BottomView, str]:
        """The keys that show each bottom panel, as the user's keymap has them."""
        overrides = self.key_overrides
        spec = {s.id: s for s in keys.KEYS}
        return {
            view: keys.display_key(spec[f"show_{view}"].key, overrides, f"show_{view}")
            for view in layout.BOTTOM_VIEWS
        }

    # ------------------------------------------------------------------ start-up

    async def _connect(self) -> None:
        step = self._startup.step
        try:
            if self.sim is not None and self.client is None:
                step("starting the local exchange (demo)")
                if not self.sim.port:
                    await self.sim.start("127.0.0.1", 0)
                info = self.sim.connection_info()
                self.client = BackpackClient(
                    info["rest"],
                    info["ws"],
                    info["api_key"],
                    info["api_secret"],
                    ws_transport=self.settings.ws_transport,
                )
            client = self._client
            step(f"connecting to {client.rest.base_url}: loading markets, opening the stream")
            await client.start()
            step("choosing markets")
            self.watchlist_symbols = await self._pick_watchlist(client)
            active = self.settings.symbol
            if active not in client.markets:
                self.feed.report(
                    f"symbol {active} is not listed; showing {self.watchlist_symbols[0]}"
                )
                active = self.watchlist_symbols[0]
            self._removers = self.feed.attach(client)
            self._removers += self.alerts.attach(client)
            self.session = SessionPnl(client.positions.values())
            self._removers.append(
                client.subscribe(PositionUpdated, lambda e: self.session.observe(e.position))
            )
            self._start_trading(client)
            self.desk = TradingDesk(client, self.settings, self.gate, self.service, demo=self.demo)
            if self.service is not None:
                step("reconciling the order journal with the exchange")
                await self._reconcile_journal(self.service)
            for symbol in self.watchlist_symbols:
                client.watch(symbol)
            step(f"waiting for the {active} order book")
            await self._wait_for_book(client, active)
        except Exception as exc:
            log.exception("start-up failed")
            self._startup.fail(f"{type(exc).__name__}: {exc}")
            return
        self._go_live(active)

    async def _pick_watchlist(self, client: BackpackClient) -> list[str]:
        """The configured watchlist, else every perp by 24h quote volume."""
        configured = [s for s in self.settings.watchlist if s in client.markets]
        for symbol in set(self.settings.watchlist) - set(configured):
            self.feed.report(f"watchlist: {symbol} is not listed by the exchange; skipped")
        if configured:
            symbols = configured
        else:
            perps = [m.symbol for m in client.markets.values() if m.is_perp] or list(client.markets)
            try:
                volume = {t.symbol: t.quote_volume for t in await client.rest.tickers()}
            except BackpackError as exc:
                log.warning("tickers failed, watchlist sorted by name: %s", exc)
                volume = {}
            symbols = sorted(perps, key=lambda s: (-volume.get(s, Decimal(0)), s))[:WATCHLIST_MAX]
        if self.settings.symbol in client.markets and self.settings.symbol not in symbols:
            symbols.insert(0, self.settings.symbol)
        if not symbols:
            raise RuntimeError("the exchange lists no markets")
        return symbols

    def _start_trading(self, client: BackpackClient) -> None:
        if not client.has_credentials:
            return
        path = self._journal_path
        if path is None:
            # A local exchange starts empty each run: keep its orders out of the real
            # journal (reconciling them against Backpack would find nothing).
            path = {
                "demo": paths.demo_journal_file(),
                "sim": paths.data_dir() / "sim" / paths.JOURNAL_FILE,
                "live": paths.journal_file(),
            }[self.mode]
        self.journal = Journal(path)
        self.service = OrderService(client, self.gate, self.journal, self.settings.limits_for)
        self._removers.append(self.service.attach())

    async def _reconcile_journal(self, service: OrderService) -> None:
        """Settle what an earlier run left unanswered, before any key can send an order."""
        try:
            check = await reconcile_on_start(service)
        except Exception as exc:
            # The journal could not even be read: block every market it names rather
            # than trade blind on top of orders that may exist.
            log.exception("journal reconciliation failed")
            check = JournalCheck()
            message = f"journal: reconciliation failed ({type(exc).__name__}: {exc})"
            for entry in service.journal.unresolved():
                service.gate.block(entry.symbol, message)
            self.feed.report(message + "; new orders on affected markets are blocked")
            self.journal_check = check
            return
        self.journal_check = check
        if not check.results:
            log.info("journal: nothing to reconcile")
            return
        summary = check.summary()
        log.warning("%s", summary)  # an earlier run ended with orders unanswered
        if check.blocked:
            self.feed.report(summary)
            self.alert(summary, title="Order journal")
        else:
            self.say(summary)
        self._record_activity(
            ActivityEntry("journal", summary, tone="bad" if check.blocked else "")
        )

    @staticmethod
    async def _wait_for_book(client: BackpackClient, symbol: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BOOK_WAIT_S
        while loop.time() < deadline:
            book = client.books.get(symbol)
            if book is not None and book.synced:
                return
            await asyncio.sleep(0.02)

    def _go_live(self, active: str) -> None:
        self.ready = True
        where = "the demo exchange" if self.demo else urlsplit(self._client.rest.base_url).netloc
        self._record_activity(ActivityEntry("stream", f"connected to {where}"))
        if self.alerts.problem is not None:
            self.feed.report(self.alerts.problem)
            self._record_activity(ActivityEntry("alert", self.alerts.problem, tone="bad"))
        if self.screen is self._startup:
            self.pop_screen()
        self.set_active(active)
        # Every perp's mark streams (without a book), so the funding board is live for
        # markets nobody has on screen.
        client = self._client
        client.watch_prices(symbol for symbol, market in client.markets.items() if market.is_perp)
        self._pump_timer = self.set_interval(1 / self.settings.refresh_hz, self._pump)
        self.set_interval(OPEN_INTEREST_EVERY_S, self._poll_open_interest)
        self.run_worker(self._poll_open_interest(), group="poll", exit_on_error=False)
        self.query_one(DepthLadder).focus()
        # Start-up's collection waits until the first price is painted.
        self.call_after_refresh(collector.started)

    # ------------------------------------------------------------------ market

    def set_active(self, symbol: str) -> None:
        client = self._client
        market = client.market(symbol)
        self.active = symbol
        client.watch(symbol)
        self.feed.switch(symbol)
        self.query_one(DepthLadder).set_market(symbol, market.tick_size, market.quantity_decimals)
        ticket = self.query_one(OrderTicket)
        if ticket.ticket is not None and ticket.ticket.symbol != symbol:
            ticket.close()
        self.feed.markets = self.feed.orders = self.feed.positions = True
        self._show_chart()
        self._read_chart()
        self.run_worker(self._load_trades(symbol), group="history", exit_on_error=False)

    def _read_chart(self) -> None:
        """Start the chart's klines read when one is due (``ChartSource.due``: bounded,
        never two at once); its answer is drawn on the next slow frame."""
        if self.charts.due(self.active):
            self.run_worker(self._chart_read(self.active), group="chart", exit_on_error=False)

    async def _chart_read(self, symbol: str) -> None:
        client = self._client
        streamed = partial(tuple, client.candles.get(symbol, ()))
        if await self.charts.read(client.rest, symbol, streamed):
            self.feed.candles = True

    def _show_chart(self) -> None:
        client = self._client
        market = client.markets.get(self.active)
        view = self.charts.view(
            self.active,
            client.candles.get(self.active, ()),
            market.price_decimals if market else 2,
            chart_lines(client, self.active),
        )
        self.query_one(CandleChart).show(view)

    async def _load_trades(self, symbol: str) -> None:
        """The tape starts full: the exchange's recent trades under the streamed ones."""
        try:
            recent = await self._client.rest.trades(symbol, limit=TAPE_LINES)
        except BackpackError as exc:
            log.warning("recent trades for %s failed: %s", symbol, exc)
            return
        self.feed.seed_trades(symbol, recent)

    async def _poll_open_interest(self) -> None:
        try:
            rows = await self._client.rest.open_interest()
        except BackpackError as exc:
            log.warning("open interest poll failed: %s", exc)
            return
        self.open_interest = {row.symbol: row.open_interest for row in rows}
        self.feed.markets = True

    def _poll_board(self) -> None:
        """One read of every market's marks, tickers and open interest, unless the last
        one is still out (a slow exchange gets fewer requests, not more)."""
        if not self._board_polling:
            self._board_polling = True
            self.run_worker(self._read_board(), group="funding", exit_on_error=False)

    async def _read_board(self) -> None:
        rest = self._client.rest
        try:
            marks, tickers, interest = await asyncio.gather(
                rest.mark_prices(), rest.tickers(), rest.open_interest()
            )
        except BackpackError as exc:
            log.warning("funding board poll failed: %s", exc)
            return
        finally:
            self._board_polling = False
        self.board_marks = {mark.symbol: mark for mark in marks}
        self.alerts.observe_marks(marks)
        self.board_tickers = {ticker.symbol: ticker for ticker in tickers}
        self.open_interest = {row.symbol: row.open_interest for row in interest}
        self.board_polls += 1

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A background task died of something unexpected: say so, never a traceback."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            log.error("background task %s failed: %r", event.worker.name, error)
            message = f"{event.worker.group} task failed: {type(error).__name__}: {error}"
            self.feed.report(message)
            self._record_activity(ActivityEntry("error", message, tone="bad"))
            self.alert(message)

    @on(Watchlist.MarketChosen)
    def _market_chosen(self, event: Watchlist.MarketChosen) -> None:
        if self.ready and event.symbol != self.active:
            self.set_active(event.symbol)

    # ------------------------------------------------------------------ the frame pump

    def _pump(self) -> None:
        """Push what changed into the widgets; never raises (an error is reported)."""
        if self._shut or not self.ready:
            return
        self.pump_ticks += 1
        try:
            with self.batch_update():
                self._pump_fast()
                if self.pump_ticks % max(1, self.settings.refresh_hz // SLOW_HZ) == 0:
                    self._pump_slow()
        except NoMatches:
            return  # the main screen is being torn down (quitting)
        except Exception as exc:
            log.exception("display update failed")
            self.feed.report(f"display update failed: {type(exc).__name__}: {exc}")

    def _pump_fast(self) -> None:
        feed, client = self.feed, self._client
        if feed.ladder or self.active in feed.depth:
            self.query_one(DepthLadder).show(
                client.books.get(self.active),
                last_price=last_price(client, self.active),
                markers=ladder_markers(client, self.active),
                volume=feed.volume.at(self.active),
            )
        feed.depth.clear()
        feed.ladder = False
        if feed.connection:  # rare and urgent: not left for the slow cadence
            self.query_one(StatusBar).show(self._status())
        ticket = self.query_one(OrderTicket)
        if ticket.is_open and ticket.ticket is not None and ticket.ticket.is_market:
            ticket.refresh_preview()
        # An open ticket that leaves no room for the account strip gets the column
        # (styles/app.tcss): measured here, as the ticket grows and shrinks with its
        # preview, rather than at each way a ticket opens and closes. No-op if unchanged.
        right = self.query_one("#right")
        room = right.size.height - ticket.outer_size.height if ticket.is_open else None
        right.set_class(room is not None and room < ACCOUNT_ROWS, "-crowded")
        right.set_class(room is not None and room < ACCOUNT_ROWS + CHART_MIN_ROWS, "-no-chart")

    def _pump_slow(self) -> None:
        feed, client = self.feed, self._client
        now_ms = self._wall_ms()
        freshness = {symbol: self._desk.freshness(symbol) for symbol in self._shown_symbols()}
        rows = watch_rows(
            client, self.watchlist_symbols, self.active, self.open_interest, now_ms, freshness
        )
        self.query_one(Watchlist).show(rows, time.monotonic())
        self.query_one(WatchLine).show(rows)
        self.query_one(DepthLadder).set_freshness(
            self._desk.freshness(self.active, book=client.books.get(self.active))
        )
        stale = any(not f.live for f in freshness.values())
        if feed.positions or feed.orders or feed.markets or stale:  # exits are orders
            self.query_one(PositionsPanel).show(position_rows(client, freshness))
        if feed.positions or feed.account or feed.markets or stale:
            self._show_pairs(client)
        if feed.orders or self.pump_ticks % (self.settings.refresh_hz) == 0:
            self.query_one(OrdersPanel).show(order_rows(client, now_ms))
        if feed.account or feed.markets:
            self.query_one(HoldingsPanel).show(holding_rows(client))
        feed_state = self._desk.freshness("")
        account = self.query_one(AccountStrip)
        if feed.account or feed.positions or feed_state != account.freshness:
            account.show(account_view(client, feed_state, self.session.realized))
        tape = self.query_one(TapePanel)
        if (feed.trades_dirty or self._tape_behind) and tape.display:
            self._show_tape(tape)
        elif feed.trades_dirty:
            self._tape_behind = True  # a hidden tab is filled when it is shown, not per trade
        if feed.candles or feed.positions:
            self._show_chart()
        self._read_chart()
        self._ring_alerts()
        self._record_activity()
        self.query_one(StatusBar).show(self._status())
        log_panel = self.query_one(LogPanel)
        if log_panel.display:
            self._show_log(log_panel)
        if isinstance(self.screen, FundingBoard):
            self.screen.show(self.funding_rows(now_ms))
        if isinstance(self.screen, AlertsScreen) and self._alerts_shown != self.alerts.book.version:
            self._show_alerts(self.screen)
        feed.markets = feed.orders = feed.positions = feed.account = False
        feed.trades_dirty = feed.candles = feed.connection = False

    def _show_pairs(self, client: BackpackClient) -> None:
        """The pairs under the positions; a pair's spot market is streamed so that its
        delta and basis are priced on the spot, not on the perp it hedges."""
        pairs = account_pairs(client)
        unpriced = [s for s in spot_symbols(pairs) - client.priced if s in client.markets]
        if unpriced:
            client.watch_prices(unpriced)
        self.query_one(PositionsPanel).show_pairs(pairs)

    def funding_rows(self, now_ms: int) -> list[FundingRow]:
        """The board's rows: a market's figures from the stream when it streams them
        (every perp, see :meth:`_go_live`), else from the board's REST poll (the start-up
        read until the first one); open interest always from REST."""
        client = self._client
        watched = client.priced
        return board_rows(
            client.markets.values(),
            prefer_streamed(self.board_marks, client.marks, watched),
            prefer_streamed(self.board_tickers, client.tickers, watched),
            self.open_interest,
            now_ms,
            self.active,
        )

    def _ring_alerts(self) -> None:
        """Say each alert that fired since the last tick: the activity log, the status
        line, and the bell when ``[alerts] bell`` is on."""
        fired = self.alerts.take_fired()
        for alert in fired:
            self.feed.activity.append(fired_entry(alert))
            if self.settings.alert_bell:
                self.bell()
        if fired:
            more = f" (+{len(fired) - 1} more)" if len(fired) > 1 else ""
            self.say(fired[-1].fired_text + more)

    def _show_tape(self, panel: TapePanel) -> None:
        self._tape_behind = False
        market = self._client.markets.get(self.active)
        rows = tape_rows(self.feed.trades, self.settings.tape_big_notional, TAPE_LINES)
        panel.show(
            rows,
            market.price_decimals if market else 2,
            market.quantity_decimals if market else 4,
        )

    def _shown_symbols(self) -> set[str]:
        return {*self.watchlist_symbols, self.active, *self._client.positions}

    def _status(self) -> StatusInfo:
        client = self._client
        now = time.monotonic()
        stale_after = self.settings.stale_after_s
        book = client.books.get(self.active)
        seen = client.mark_times.get(self.active)
        market = client.markets.get(self.active)
        note_age = now - self._note[1] if self._note else None
        if note_age is not None and note_age >= NOTE_VISIBLE_S:
            note_age = None
        stale = (
            client.connection is not ConnectionState.CONNECTED
            or book is None
            or not book.synced
            or bool(market and market.is_perp and (seen is None or now - seen > stale_after))
        )
        return StatusInfo(
            mode=self.mode,
            connection=client.connection.value,
            latency_ms=client.feed_latency_ms,
            stale=stale,
            halted=self.gate.halt_reason,
            # A standing refusal outranks passing errors: it lasts until it is lifted.
            error=refusal_message(client.account_refusal)
            if client.account_refusal is not None
            else self._recent_error(note_age),
            reconnects=client.stream.reconnects,
            recent_drop=self.feed.last_drop_at is not None
            and now - self.feed.last_drop_at < DROP_VISIBLE_S,
            note=self._note[0] if self._note and note_age is not None else None,
        )

    def _recent_error(self, note_age: float | None) -> str | None:
        """The last error while it is recent, unless something was said after it: a
        success ("cancelled …") must not sit hidden behind the error it followed."""
        if not self.feed.errors:
            return None
        at, message = self.feed.errors[-1]
        age = time.time() - at
        if age >= ERROR_VISIBLE_S or (note_age is not None and note_age < age):
            return None
        return message

    def _show_log(self, panel: LogPanel) -> None:
        ring = self.log_ring
        entries = [
            (e.created, e.level, e.name, e.message) for e in (ring.entries() if ring else ())
        ]
        entries += [(t, "ERROR", "console", m) for t, m in self.feed.errors]
        entries.sort(key=lambda e: e[0])
        version = (ring.version if ring else 0, len(self.feed.errors), self.feed.last_error)
        panel.show(version, (format_line(*e) for e in entries))

    def _record_activity(self, *entries: ActivityEntry) -> None:
        """Move what happened into the session's activity log and onto the panel."""
        queued = self.feed.activity
        if not queued and not entries:
            return
        now_ms = self._wall_ms()
        while queued:
            self.activity.record(queued.popleft(), now_ms)
        for entry in entries:
            self.activity.record(entry, now_ms)
        try:
            self.screen_stack[0].query_one(ActivityPanel).show()
            self._title_bottom(self.size.width, self.size.height)
        except NoMatches:
            return

    # ------------------------------------------------------------------ telling the trader

    def say(self, message: str) -> None:
        """A passing word on the status bar: never a toast over the numbers."""
        self._note = (message, time.monotonic())
        try:
            self.query_one(StatusBar).show(self._status())
        except NoMatches:
            return

    def alert(
        self,
        message: str,
        *,
        title: str = "",
        severity: Severity = "error",
        timeout: float | None = None,
    ) -> None:
        """A toast, for errors and refusals only; a burst becomes one toast.

        The first of a burst shows at once; the rest of it, arriving within
        :data:`TOAST_BURST_S`, replace it with one toast that counts them when the burst
        ends. Toasts sit at the top of the screen (``styles/app.tcss``), never over the
        positions; the activity log keeps every event.
        """
        now = time.monotonic()
        if now - self._toast_burst_at >= TOAST_BURST_S and self._toast_pending is None:
            self._toast_burst_at = now
            self._toast(message, title, severity, timeout)
            return
        count = 2 if self._toast_pending is None else self._toast_pending[0] + 1
        self._toast_pending = (count, message, severity)
        if self._toast_timer is None:
            wait = max(0.0, self._toast_burst_at + TOAST_BURST_S - now)
            self._toast_timer = self.set_timer(wait, self._end_burst)

    def _end_burst(self) -> None:
        self._toast_timer = None
        pending, self._toast_pending = self._toast_pending, None
        if pending is None:
            return
        count, message, severity = pending
        self.clear_notifications()
        self._toast_burst_at = time.monotonic()
        self._toast(f"{count} problems in a moment; latest: {message}", "", severity, None)

    def _toast(self, message: str, title: str, severity: Severity, timeout: float | None) -> None:
        # markup off: the text may quote the exchange, whose words may hold brackets.
        self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # ------------------------------------------------------------------ order keys and intents

    def action_ticket(self, side: str, order_type: str) -> None:
        ladder = self.query_one(DepthLadder)
        on_ladder = self.focused is ladder
        self._open_ticket(side, order_type, ladder.cursor_price if on_ladder else None, on_ladder)

    def _open_ticket(
        self, side: str, order_type: str, at_price: Decimal | None, from_ladder: bool
    ) -> None:
        desk = self._desk
        if desk.service is None:
            self.alert("No API key: this session is market data only", severity="warning")
            return
        if from_ladder and self.query_one(DepthLadder).resyncing:
            message = f"{self.active}: the book is resyncing; ladder trading is blocked"
            self._record_activity(ActivityEntry("refused", message, self.active, tone="bad"))
            self.alert(message)
            return
        self._show_ticket(desk.new_ticket(self.active, side, order_type, at_price))

    def _show_ticket(self, ticket: Ticket) -> None:
        desk = self._desk
        widget = self.query_one(OrderTicket)
        widget.previewer = desk.preview
        widget.reference_price = desk.reference_price
        widget.open(ticket, self._client.market(ticket.symbol), desk.presets(ticket.symbol))

    def action_preset(self, index: int) -> None:
        size = self._desk.choose_preset(self.active, index)
        if size is None:
            return
        ticket = self.query_one(OrderTicket)
        if ticket.is_open:
            ticket.set_size(size)
        self.say(f"size preset {self._desk.preset_index + 1}: {size}")

    def on_order_ticket_send(self, event: OrderTicket.Send) -> None:
        ticket = self.query_one(OrderTicket)
        try:
            order = event.ticket.order(self._client.market(event.ticket.symbol), event.entry)
        except TicketError as exc:
            ticket.refuse(str(exc))
            return
        if self._desk.needs_live_confirmation(order):
            text = TradingDesk.live_question(order, rehearsal=self.mode == "sim")
            question = ConfirmScreen(text)
            self.push_screen(question, partial(self._live_order_answered, order))
            return
        self._submit(order)

    def _live_order_answered(self, order: NewOrder, answer: bool | None) -> None:
        ticket = self.query_one(OrderTicket)
        if answer:
            self._desk.live_order_confirmed = True
            self._submit(order)
            return
        ticket.refuse("not sent: the live order was not confirmed")
        self.say("order not sent: the live order was not confirmed")

    def on_order_ticket_closed(self) -> None:
        self.query_one(DepthLadder).focus()

    @on(DepthLadder.TicketAt)
    def _ticket_at_click(self, event: DepthLadder.TicketAt) -> None:
        """A click is a second way to what b/s do at the cursor: it opens, never sends."""
        if not self.ready or self.input_context or event.symbol != self.active:
            return
        ladder = self.query_one(DepthLadder)
        ladder.place_cursor(event.price)
        ladder.focus()
        self._open_ticket(event.side, "Limit", event.price, True)

    @on(DepthLadder.MoveOrders)
    def _move_orders(self, event: DepthLadder.MoveOrders) -> None:
        if not self.ready or self.input_context or event.symbol != self.active:
            return
        ladder = self.query_one(DepthLadder)
        cursor = ladder.cursor_price
        # A press during a running move joins it: the move carries the replacements on.
        if not self._desk.join_move(event.symbol, event.ticks):
            if not event.order_ids:
                where = "at the cursor" if cursor is None else f"at {cursor}"
                moves = "shift+up/down moves the orders in MINE and the TP/SL/◇ marks"
                self.say(f"no order of yours {where}: {moves}")
                return
            self._run(self._desk.move_orders(event.symbol, event.order_ids, event.ticks))
        if cursor is not None:  # the cursor goes with the orders
            ladder.place_cursor(cursor + event.ticks * self._client.market(event.symbol).tick_size)

    def action_cancel_selected(self) -> None:
        """Our orders on the ladder cursor's row, when the ladder has the focus and the
        row has any; otherwise the order selected in the open orders (as always)."""
        ladder = self.query_one(DepthLadder)
        if self.focused is ladder and self._cancel_at_cursor(ladder):
            return
        table = self.query_one(OrdersPanel).table
        order = self._client.open_orders.get(table.selected_key or "")
        if order is None:
            self.alert("No order selected: o shows the open orders", severity="warning")
            return
        self._run(self._desk.cancel(order))

    def _cancel_at_cursor(self, ladder: DepthLadder) -> bool:
        """Cancel our orders on the cursor's row; False when it has none."""
        ids = ladder.orders_at_cursor()
        orders = [o for i in ids if (o := self._client.open_orders.get(i)) is not None]
        for order in orders:
            self._run(self._desk.cancel(order))
        return bool(orders)

    def action_cancel_market(self) -> None:
        self._run(self._desk.cancel_market(self.active))

    def action_close_position(self) -> None:
        positions = self.query_one(PositionsPanel).table
        symbol = self.active
        if self.focused is positions and positions.selected_key:
            symbol = positions.selected_key
        self._run(self._desk.close(symbol))

    def action_close_all(self) -> None:
        if self.desk is None or self.desk.service is None:
            return
        if not self.settings.confirm_close_all:
            self._flatten_everything()
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._flatten_everything()

        self.push_screen(
            ConfirmScreen("Close all: cancel every order and close every position?"), confirmed
        )

    def _flatten_everything(self) -> None:
        self.say("close all: cancelling every order, closing every position…")
        self._run(self._desk.close_all())

    def action_set_leverage(self, limit: int) -> None:
        self._run(self._desk.set_leverage(limit))

    def action_leverage_help(self) -> None:
        self.say("leverage: open the palette (ctrl+p) and type lev N, e.g. lev 5")

    def action_kill_switch(self) -> None:
        self._run(self._desk.toggle_kill_switch())

    def _submit(self, order: NewOrder) -> None:
        """Send a ticket's order. A failure the desk did not foresee (a bug, not a
        refusal) still answers the ticket, so it never stays at "sending…"; the order
        may have left, so the answer says to look rather than that it was not placed."""
        ticket = self.query_one(OrderTicket)
        ticket.sending(order)

        async def run() -> None:
            try:
                outcome = await self._desk.submit(order)
            except Exception as exc:
                ticket.answered(
                    order, refused=f"unknown outcome ({type(exc).__name__}): check open orders"
                )
                raise  # the worker's handler logs it and tells the trader
            self._show_outcome(outcome)

        self.run_worker(run(), group="orders", exit_on_error=False)

    def _run(self, action: Coroutine[Any, Any, Outcome]) -> None:
        """Every exchange call runs in a worker, never in a key handler."""

        async def run() -> None:
            self._show_outcome(await action)

        self.run_worker(run(), group="orders", exit_on_error=False)

    def _show_outcome(self, outcome: Outcome) -> None:
        ticket = self.query_one(OrderTicket)
        if outcome.order is not None:  # a ticket's order: the ticket shows the answer
            ticket.answered(
                outcome.order,
                accepted=outcome.answer if outcome.sent else None,
                refused=outcome.ticket_error,
            )
        elif outcome.ticket_error is not None and ticket.is_open:
            ticket.show_error(outcome.ticket_error)
        if outcome.activity is not None:
            self._record_activity(outcome.activity)
        shown_in_ticket = outcome.ticket_error is not None and ticket.is_open
        if outcome.severity == "information":
            self.say(outcome.message.replace("\n", "; "))
        elif not shown_in_ticket:  # an open ticket already says why, under its fields
            self.alert(
                outcome.message,
                title=outcome.title,
                severity=outcome.severity,
                timeout=outcome.timeout,
            )
        if outcome.for_status_bar is not None:
            self.feed.report(outcome.for_status_bar)
        self.feed.orders = self.feed.positions = self.feed.account = True

    # ------------------------------------------------------------------ safety gating

    @property
    def input_context(self) -> bool:
        """A ticket is open, a dialog is up, or the cursor is in a text field.

        The fields and dialogs own their keys (see ``OrderTicket``); this is the second
        wall: whatever key reaches the app then, no desk action runs.
        """
        if len(self.screen_stack) > 1:
            return True
        try:
            if self.query_one(OrderTicket).is_open:
                return True
        except NoMatches:
            return False
        return isinstance(self.focused, Input)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No desk action inside an input context; trading keys only once connected."""
        if action in DESK_ACTIONS and self.input_context:
            return False
        if action.startswith(("ticket", "cancel", "preset", "close", "kill", "set_leverage")):
            return self.ready
        return True

    # ------------------------------------------------------------------ navigation

    def action_switch_market(self) -> None:
        if not self.ready:
            return
        symbols = sorted(self._client.markets)

        def chosen(symbol: str | None) -> None:
            if symbol:
                self._switch_to(symbol)

        self.push_screen(MarketSwitcher(symbols, self.active), chosen)

    def action_command_line(self) -> None:
        if not self.ready:
            self.say("the command line opens once the console is connected")
            return
        line = CommandLine(sorted(self._client.markets), self.command_history)
        self.push_screen(line, self.run_command)

    def run_command(self, command: Command | None) -> None:
        """Route a parsed command line: an order opens its ticket filled in (Enter
        sends it, as any ticket); close and cancel act at once, as their keys do."""
        match command:
            case OrderCommand():
                self._open_command_ticket(command)
            case CloseCommand(target=target) if target == ALL:
                self.action_close_all()
            case CloseCommand(target=target):
                self._run(self._desk.close(target or self.active))
            case CancelCommand(target=target):
                self._run(
                    self._desk.cancel_market(None if target == ALL else target or self.active)
                )
            case LeverageCommand(limit=limit):
                self.action_set_leverage(limit)
            case SymbolCommand(symbol=symbol):
                self._switch_to(symbol)
            case ExitCommand(level=level):
                self._run(self._desk.attach_exit(self.active, level))
            case PairCommand():
                self.run_worker(self._ask_pair(command), group="pair", exit_on_error=False)
            case FundingCommand():
                self.action_funding_board()
            case AlertCommand():
                self.say(self.alerts.set(command, self.active)[1])
            case AlertsCommand():
                self.action_alerts()
            case HistoryCommand():
                self.action_history()
            case TimeframeCommand(timeframe=timeframe):
                self.set_timeframe(timeframe)

    async def _ask_pair(self, command: PairCommand) -> None:
        """A pair trade shows both legs and its funding, and is sent only on yes. The
        dialog waits (briefly) for both books, so its prices are the touch, not blanks."""
        try:
            plan = self._desk.plan_pair(command.asset, command.size, command.direction)
        except BackpackError as exc:
            self.alert(f"pair {command.asset}: {exc}", severity="warning")
            return
        await self._desk.book_live(plan.spot.symbol)
        await self._desk.book_live(plan.perp.symbol)

        def answered(answer: bool | None) -> None:
            if answer:
                self.say(f"pair {plan.direction} {plan.asset}: sending the perp leg…")
                self._run(self._desk.pair_trade(plan))

        self.push_screen(ConfirmScreen(pair_preview(plan, self._client)), answered)

    def action_funding_board(self) -> None:
        """Open the funding board and read every market by REST while it is open."""
        if not self.ready:
            self.say("the funding board opens once the console is connected")
            return
        self._poll_board()
        self._board_timer = self.set_interval(POLL_S, self._poll_board)
        board = FundingBoard(self.settings.keys)
        board.show(self.funding_rows(self._wall_ms()))
        self.push_screen(board, self._funding_chosen)

    def action_history(self) -> None:
        """Open the history screen and read the exchange's history lists into it."""
        if not self.ready:
            self.say("the history opens once the console is connected")
            return
        screen = HistoryScreen(self.settings.keys)
        self.push_screen(screen)
        self._read_history(screen)

    def _read_history(self, screen: HistoryScreen) -> None:
        reading = history_flow.load(self._client.rest, screen)
        self.run_worker(reading, group="history", exclusive=True, exit_on_error=False)

    @on(HistoryScreen.Reload)
    def _history_reload(self, event: HistoryScreen.Reload) -> None:
        self._read_history(event.origin)

    @on(HistoryScreen.Export)
    def _history_export(self, event: HistoryScreen.Export) -> None:
        now = self._wall_ms()
        self.say(history_flow.export(event.origin, event.view, paths.data_dir(), now))

    def _funding_chosen(self, symbol: str | None) -> None:
        if self._board_timer is not None:
            self._board_timer.stop()
            self._board_timer = None
        if symbol:
            self._switch_to(symbol)

    def action_alerts(self) -> None:
        screen = AlertsScreen(self.settings.keys)
        self._show_alerts(screen)
        self.push_screen(screen)

    def _show_alerts(self, screen: AlertsScreen) -> None:
        self._alerts_shown = self.alerts.book.version
        screen.show(list(self.alerts.book))

    def on_alerts_screen_remove(self, event: AlertsScreen.Remove) -> None:
        removed = self.alerts.remove(event.alert_id)
        if removed is not None:
            self.say(f"alert removed: {removed.condition}")
        if isinstance(self.screen, AlertsScreen):
            self._show_alerts(self.screen)

    def _open_command_ticket(self, command: OrderCommand) -> None:
        ticket = command.ticket(self.active, self.settings.exit_trigger_by)
        if ticket.symbol != self.active:
            self._switch_to(ticket.symbol)
        self._show_ticket(self._desk.join_touch(ticket))

    def _switch_to(self, symbol: str) -> None:
        if symbol not in self.watchlist_symbols:
            self.watchlist_symbols.append(symbol)
        if symbol != self.active:
            self.set_active(symbol)

    def action_timeframe(self, by: int) -> None:
        """``[`` / ``]``: the chart's next shorter / longer timeframe."""
        timeframe = candles.step(self.charts.timeframe, by)
        if timeframe == self.charts.timeframe:
            self.say(f"chart: {timeframe} is the {'shortest' if by < 0 else 'longest'} timeframe")
            return
        self.set_timeframe(timeframe)

    def set_timeframe(self, timeframe: str) -> None:
        if self.charts.set_timeframe(timeframe) and self.ready:
            self._show_chart()
            self._read_chart()
        self.say(f"chart: {timeframe} candles")

    def action_cycle_grouping(self) -> None:
        factor = self.query_one(DepthLadder).cycle_group()
        self.say(f"ladder grouping ×{factor}")

    def action_show_panel(self, view: layout.BottomView) -> None:
        """Show a bottom panel (a tab, when they are folded) and put the cursor in it."""
        self.recent_views = [view, *(v for v in self.recent_views if v != view)]
        self.fit_layout(self.size.width, self.size.height)
        panel = self._bottom()[view]
        target = panel if isinstance(panel, ActivityPanel) else panel.table
        if target.display:  # an empty table shows its sentence instead: nothing to select
            target.focus()
        else:
            self.query_one(DepthLadder).focus()

    def action_focus_ladder(self) -> None:
        self.query_one(DepthLadder).focus()

    def action_toggle_log(self) -> None:
        panel = self.query_one(LogPanel)
        panel.display = not panel.display
        if panel.display:
            self._show_log(panel)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.settings.keys))

    async def action_quit(self) -> None:
        """Quit at once when flat; with exposure, ask first. Quitting cancels nothing."""
        exposure = self._exposure_words()
        if not exposure:
            await self._quit_now()
            return

        async def answered(answer: bool | None) -> None:
            if answer:
                await self._quit_now()

        question = (
            f"{exposure} open — quit? y/n\n\n"
            "Quitting cancels no order and closes no position (X does that)."
        )
        self.push_screen(ConfirmScreen(question, enter_is_yes=False), answered)

    def _exposure_words(self) -> str:
        """``2 positions and 3 orders`` (empty when flat or not yet connected)."""
        client = self.client
        if client is None or not self.ready:
            return ""
        positions = sum(1 for p in client.positions.values() if p.net_quantity != 0)
        orders = len(client.open_orders)
        parts = [
            f"{n} {word}{'' if n == 1 else 's'}"
            for n, word in ((positions, "position"), (orders, "order"))
            if n
        ]
        return " and ".join(parts)

    async def _quit_now(self) -> None:
        await self.shutdown()
        self.exit(0)

    async def shutdown(self) -> None:
        """Close every socket we opened (stream, REST session, the demo exchange)."""
        if self._shut:
            return
        self._shut = True
        if self._pump_timer is not None:
            self._pump_timer.stop()
        for remove in self._removers:
            remove()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()
        if self.sim is not None:
            with contextlib.suppress(Exception):
                await self.sim.stop()
        if self.journal is not None:
            self.journal.close()
        # Give what _go_live froze back to the collector (matters when one process
        # runs many consoles, as the tests do).
        gc.unfreeze()

    async def on_unmount(self) -> None:
        await self.shutdown()
