"""Alerts meet the client: what each alert sees, and the queue of the ones that fired.

The pure book (``ui/alerts.py``) decides; this module feeds it the figures the client
already has, without Textual. A price alert sees every trade of its market
(``TradePrinted``) and, when it is set or the console starts, the last price the client
holds; a funding alert sees every mark-price message (``MarkUpdated``, whose
``fundingRate`` is the interval in progress's) and the funding board's REST read of
every market while the board is open. An alert's market is streamed from the moment
the alert is set (or loaded), whether or not it is on the watchlist.

The event handlers run for every message, so they only look up and, rarely, queue: the
app drains :meth:`AlertWatch.take_fired` on its paint tick and says it (activity log,
status line, bell), and the file is written then, never from a handler.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from bpx_tui.exchange.events import MarkUpdated, TradePrinted
from bpx_tui.exchange.models import MarkPrice
from bpx_tui.ui.activity import ActivityEntry
from bpx_tui.ui.alerts import Alert, AlertBook, AlertKind, Direction, load, save
from bpx_tui.ui.command_grammar import AlertCommand
from bpx_tui.ui.views import last_price

if TYPE_CHECKING:
    from bpx_tui.exchange.client import BackpackClient

log = logging.getLogger(__name__)


def fired_entry(alert: Alert) -> ActivityEntry:
    """The activity log's line for a fired alert."""
    value = "" if alert.fired_value is None else alert.show(alert.fired_value)
    sign = "≥" if alert.direction == ">" else "≤"
    return ActivityEntry(
        "alert",
        f"{alert.figure} {value} {sign} {alert.show(alert.level)}: fired",
        alert.symbol,
        tone="warn",
    )


class AlertWatch:
    """The session's alerts, their file, and the client subscriptions that feed them."""

    def __init__(self, path: Path | None, now_ms: Callable[[], int]) -> None:
        """``path`` None keeps the alerts for this run only."""
        self.path = path
        self._now_ms = now_ms
        self.book, self.problem = load(path) if path is not None else (AlertBook(), None)
        """``problem``: why the file could not be used, for the console to say once."""
        self._fired: deque[Alert] = deque()
        self._client: BackpackClient | None = None
        self.saves = 0

    # ------------------------------------------------------------------ wiring

    def attach(self, client: BackpackClient) -> list[Callable[[], None]]:
        """Subscribe, stream every armed alert's market, and check each against what
        the client already holds (alerts kept from an earlier run fire now if met)."""
        self._client = client
        removers = [
            client.subscribe(TradePrinted, self._on_trade),
            client.subscribe(MarkUpdated, self._on_mark),
        ]
        for symbol in sorted(self.book.armed_markets()):
            if symbol in client.markets:
                client.watch(symbol)
                self._check(symbol)
            else:
                log.warning("alert on %s: the exchange does not list it", symbol)
        return removers

    # ------------------------------------------------------------------ the trader's changes

    def add(self, symbol: str, kind: AlertKind, direction: Direction, level: Decimal) -> Alert:
        """Set an alert; it is checked at once against the figure the client holds."""
        alert = self.book.add(symbol, kind, direction, level, self._now_ms())
        if self._client is not None:
            self._client.watch(symbol)
            self._check(symbol)
        self.save()
        return self.book.get(alert.id) or alert

    def set(self, command: AlertCommand, active: str) -> tuple[Alert | None, str]:
        """The command's alert (on the active market when it names none) and the status
        line's words; None and the reason when it cannot be set."""
        symbol = command.symbol or active
        client = self._client
        market = client.markets.get(symbol) if client is not None else None
        if command.kind == "funding" and market is not None and not market.is_perp:
            return None, f"alert not set: {symbol} is spot, a funding alert needs a perp"
        alert = self.add(symbol, command.kind, command.direction, command.level)
        if not alert.armed:
            return alert, f"alert set on {alert.condition}: already met, it fires now"
        now = self._figure(symbol, command.kind)
        seen = "" if now is None else f" ({alert.figure} now {alert.show(now)})"
        return alert, f"alert set: {alert.condition}{seen}"

    def remove(self, alert_id: int) -> Alert | None:
        alert = self.book.remove(alert_id)
        if alert is not None:
            self.save()
        return alert

    def take_fired(self) -> list[Alert]:
        """The alerts fired since the last call, oldest first; the file is updated."""
        if not self._fired:
            return []
        fired = list(self._fired)
        self._fired.clear()
        self.save()
        return fired

    def save(self) -> str | None:
        """Write the file; the reason when it could not be (the alerts stay in memory)."""
        if self.path is None:
            return None
        self.saves += 1
        problem = save(self.book, self.path)
        if problem is not None:
            self.problem = problem
        return problem

    # ------------------------------------------------------------------ figures

    def observe_marks(self, marks: Iterable[MarkPrice]) -> None:
        """The funding board's REST read: every market's rate, not only the streamed."""
        funding = self.book.armed_markets("funding")
        for mark in marks:
            if mark.symbol in funding and mark.funding_rate is not None:
                self._evaluate(mark.symbol, "funding", mark.funding_rate)

    def _on_trade(self, event: TradePrinted) -> None:
        trade = event.trade
        if self.book.watching(trade.symbol, "price"):
            self._evaluate(trade.symbol, "price", trade.price)

    def _on_mark(self, event: MarkUpdated) -> None:
        mark = event.mark
        if mark.funding_rate is not None and self.book.watching(mark.symbol, "funding"):
            self._evaluate(mark.symbol, "funding", mark.funding_rate)

    def _figure(self, symbol: str, kind: AlertKind) -> Decimal | None:
        """What the client holds now: the last price, or the mark's funding rate."""
        client = self._client
        if client is None:
            return None
        if kind == "price":
            return last_price(client, symbol)
        mark = client.marks.get(symbol)
        return None if mark is None else mark.funding_rate

    def _check(self, symbol: str) -> None:
        """Against the client's cached figures (set, start-up): no wait for a message."""
        for kind in ("price", "funding"):
            value = self._figure(symbol, kind)
            if value is not None and self.book.watching(symbol, kind):
                self._evaluate(symbol, kind, value)

    def _evaluate(self, symbol: str, kind: AlertKind, value: Decimal) -> None:
        self._fired.extend(self.book.evaluate(symbol, kind, value, self._now_ms()))
