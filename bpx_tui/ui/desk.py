"""The console's order keys: tickets, sends, cancels, closes, close-all, kill switch.

Split from :mod:`bpx_tui.ui.app` so the app module stays about wiring and painting.
Every exchange call runs in a worker (never in a key handler) and ends in a
notification; risk-increasing orders go through the trading layer's
:class:`OrderService` (risk checks, journal), risk-reducing ones are never held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from dataclasses import replace
from decimal import Decimal
from typing import Any

from textual.app import App

from bpx_tui.config import Settings
from bpx_tui.exchange.book import OrderBook
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import BackpackError
from bpx_tui.exchange.models import Order
from bpx_tui.exchange.stream import ConnectionState
from bpx_tui.trading.order import NewOrder
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.risk import DuplicateSubmit, RiskGate, RiskRejected, is_reducing
from bpx_tui.ui import fmt
from bpx_tui.ui.feed import Feed
from bpx_tui.ui.freshness import Freshness, assess
from bpx_tui.ui.screens.confirm import ConfirmScreen
from bpx_tui.ui.ticket_model import Exposure, Preview, Ticket, TicketError, fees_from_account
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.orders import OrdersPanel
from bpx_tui.ui.widgets.positions import PositionsPanel
from bpx_tui.ui.widgets.ticket import OrderTicket

log = logging.getLogger("bpx_tui.ui")


class TradingDesk(App[int]):
    """Order actions of :class:`~bpx_tui.ui.app.BpxApp`, which supplies the state below."""

    settings: Settings
    client: BackpackClient | None
    service: OrderService | None
    feed: Feed
    gate: RiskGate
    active: str
    preset_index: int
    demo: bool
    live_order_confirmed: bool  # the first live order of this run was confirmed

    @property
    def _client(self) -> BackpackClient:
        assert self.client is not None
        return self.client

    # ------------------------------------------------------------------ freshness

    def _freshness(self, symbol: str, book: OrderBook | None = None) -> Freshness:
        """How live one market's numbers are ("" : the feed as a whole).

        A perp's data age is its mark's (the mark streams about once a second, so an
        old one means the feed is not delivering); anything else has only the stream's
        last message to go by.
        """
        client = self._client
        now = time.monotonic()
        market = client.markets.get(symbol)
        seen: float | None = client.stream.last_message_at or None
        if market is not None and market.is_perp and client.connection is ConnectionState.CONNECTED:
            seen = client.mark_times.get(symbol, seen)
        return assess(
            client.connection,
            None if seen is None else now - seen,
            self.settings.stale_after_s,
            synced=book is None or book.synced,
        )

    # ------------------------------------------------------------------ order entry

    def action_ticket(self, side: str, order_type: str) -> None:
        client = self._client
        if self.service is None:
            self.notify("No API key: this session is market data only", severity="warning")
            return
        market = client.market(self.active)
        ladder = self.query_one(DepthLadder)
        on_ladder = self.focused is ladder and ladder.cursor_price is not None
        if self.focused is ladder and ladder.resyncing:
            self.notify(
                f"{self.active}: the book is resyncing; ladder trading is blocked",
                severity="error",
            )
            return
        presets = self._presets()
        size = presets[min(self.preset_index, len(presets) - 1)] if presets else None
        ticket = Ticket(
            symbol=self.active,
            side="Bid" if side == "Bid" else "Ask",
            order_type="Market" if order_type == "Market" else "Limit",
            size=market.format_quantity(size) if size is not None else "",
        )
        if not ticket.is_market:
            price = ladder.cursor_price if on_ladder else self._reference_price(ticket)
            if price is not None:
                ticket = replace(ticket, price=market.format_price(price))
        widget = self.query_one(OrderTicket)
        widget.previewer = self._preview
        widget.reference_price = self._reference_price
        widget.open(ticket, market, presets)

    def _presets(self) -> tuple[Decimal, ...]:
        market = self._client.market(self.active)
        mark = self._client.marks.get(self.active)
        return self.settings.size_presets(
            self.active,
            market.min_quantity,
            market.step_size,
            mark.mark_price if mark is not None else None,
        )

    def _reference_price(self, ticket: Ticket) -> Decimal | None:
        """Where a limit ticket starts and nudges from: joining the best bid / best ask."""
        book = self._client.books.get(ticket.symbol)
        if book is None:
            return None
        return book.best_bid_price() if ticket.side == "Bid" else book.best_ask_price()

    def _preview(self, ticket: Ticket) -> tuple[Preview, bool]:
        client = self._client
        book = client.books.get(ticket.symbol)
        taken = None
        if book is not None:
            taken = book.best_ask_price() if ticket.side == "Bid" else book.best_bid_price()
        market = client.market(ticket.symbol)
        fees = fees_from_account(client.account_info, market.is_perp)
        preview = ticket.preview(market, book, taken, fees, self._exposure(ticket.symbol))
        fresh = self._freshness(ticket.symbol, book)
        if not fresh.live and preview.error is None:
            # The numbers above were computed from a book that may no longer exist.
            stale = f"book not live ({fresh.label}): these numbers may be wrong"
            warning = f"{preview.warning}\n⚠ {stale}" if preview.warning else stale
            preview = replace(preview, warning=warning)
        return preview, not fees.known

    def _exposure(self, symbol: str) -> Exposure:
        """The account as the preview needs it: this market's position, the others'
        notional at mark, and equity (unknown until the account is read)."""
        client = self._client
        others = Decimal(0)
        for other, position in client.positions.items():
            if other == symbol or position.net_quantity == 0:
                continue
            mark = client.marks.get(other)
            price = mark.mark_price if mark is not None else position.mark_price
            others += abs(position.net_quantity) * (price or position.entry_price)
        collateral = client.collateral
        held = client.positions.get(symbol)
        return Exposure(
            position=held.net_quantity if held is not None else Decimal(0),
            equity=collateral.net_equity if collateral is not None else None,
            other_notional=others,
        )

    def action_preset(self, index: int) -> None:
        presets = self._presets()
        if not presets:
            return
        self.preset_index = min(index, len(presets) - 1)
        size = self._client.market(self.active).format_quantity(presets[self.preset_index])
        ticket = self.query_one(OrderTicket)
        if ticket.is_open:
            ticket.set_size(size)
        self.notify(f"size preset {self.preset_index + 1}: {size}", timeout=1.5)

    def on_order_ticket_send(self, event: OrderTicket.Send) -> None:
        widget = self.query_one(OrderTicket)
        try:
            order = event.ticket.order(self._client.market(event.ticket.symbol))
        except TicketError as exc:
            widget.show_error(str(exc))
            return
        if self._needs_live_confirmation(order):
            self._confirm_first_live(order)
            return
        self._run(self._submit(order))

    def _needs_live_confirmation(self, order: NewOrder) -> bool:
        """The first order of a live run that adds risk asks once (config:
        ``confirm_first_live_order``); reducing orders never ask.

        An order the pre-trade checks would refuse does not ask either: the refusal is
        shown straight away and nothing is sent.
        """
        service = self.service
        if self.demo or self.live_order_confirmed or service is None:
            return False
        if not self.settings.confirm_first_live_order:
            return False
        try:
            service.precheck(order)
        except RiskRejected as exc:
            # A market blocked by an unsettled order may be reconciled and unblocked by
            # the submit itself, so that one still asks.
            return exc.limit == "unresolved_order"
        except BackpackError:
            return False
        return not is_reducing(order, service.snapshot(order.symbol))

    def _confirm_first_live(self, order: NewOrder) -> None:
        terms = order.terms
        size = terms.quantity if terms.quantity is not None else terms.quote_quantity
        price = f" @ {terms.price}" if terms.price is not None else " at market"
        question = (
            "LIVE: this sends a real order to the exchange.\n\n"
            f"{fmt.side_word(terms.side)} {size} {terms.symbol} {terms.order_type}{price}\n\n"
            "Send it? (asked once per run; later orders go straight through)"
        )

        def answered(answer: bool | None) -> None:
            if answer:
                self.live_order_confirmed = True
                self._run(self._submit(order))
                return
            self.query_one(OrderTicket).show_error("not sent: the live order was not confirmed")
            self.notify("Order not sent", severity="warning")

        self.push_screen(ConfirmScreen(question), answered)

    def on_order_ticket_closed(self) -> None:
        self.query_one(DepthLadder).focus()

    async def _submit(self, new: NewOrder) -> None:
        assert self.service is not None
        widget = self.query_one(OrderTicket)
        try:
            order = await self.service.submit(new)
        except RiskRejected as exc:
            widget.show_error(exc.reason)
            self.notify(exc.reason, title="Order refused", severity="warning")
            return
        except DuplicateSubmit as exc:
            self.notify(str(exc), severity="warning")
            return
        except BackpackError as exc:
            widget.show_error(str(exc))
            self._failed(f"order failed: {exc}")
            return
        if widget.ticket is not None:
            widget.close()
            self.query_one(DepthLadder).focus()
        size = order.quantity or new.terms.quantity or new.terms.quote_quantity
        self.notify(
            f"{fmt.side_word(order.side)} {size} {order.symbol} {order.order_type}: {order.status}",
            title="Order sent",
        )
        self.feed.orders = True

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        self.run_worker(coro, group="orders", exit_on_error=False)

    def _failed(self, message: str) -> None:
        """An exchange call failed: a notification now, the status bar and log after."""
        self.notify(message, severity="error")
        self.feed.report(message)

    # ------------------------------------------------------------------ risk-reducing keys

    def action_cancel_selected(self) -> None:
        table = self.query_one(OrdersPanel).table
        order = self._client.open_orders.get(table.selected_key or "")
        if order is None:
            self.notify("No order selected", severity="warning")
            return
        self._run(self._cancel(order))

    async def _cancel(self, order: Order) -> None:
        try:
            await self._client.cancel_order(order.symbol, order.id)
        except BackpackError as exc:
            self._failed(f"cancel {order.id} failed: {exc}")
            return
        self.notify(f"cancelled {fmt.side_word(order.side)} {order.symbol} @ {order.price}")

    def action_cancel_market(self) -> None:
        self._run(self._cancel_market(self.active))

    async def _cancel_market(self, symbol: str) -> None:
        try:
            cancelled = await self._client.cancel_all(symbol)
        except BackpackError as exc:
            self._failed(f"cancel all on {symbol} failed: {exc}")
            return
        self.notify(f"cancelled {len(cancelled)} order(s) on {symbol}")

    def action_close_position(self) -> None:
        if self.service is None:
            return
        positions = self.query_one(PositionsPanel).table
        symbol = self.active
        if self.focused is positions and positions.selected_key:
            symbol = positions.selected_key
        self._run(self._close(symbol))

    async def _close(self, symbol: str) -> None:
        assert self.service is not None
        try:
            order = await self.service.close_position(symbol)
        except (BackpackError, RiskRejected, DuplicateSubmit) as exc:
            self._failed(f"close {symbol} failed: {exc}")
            return
        if order is None:
            self.notify(f"No open position on {symbol}")
        else:
            self.notify(f"close {symbol}: {order.executed_quantity} filled ({order.status})")

    def action_close_all(self) -> None:
        if self.service is None:
            return
        if self.settings.confirm_close_all:

            def confirmed(answer: bool | None) -> None:
                if answer:
                    self._run(self._flatten_everything())

            self.push_screen(
                ConfirmScreen("Close all: cancel every order and close every position?"),
                confirmed,
            )
        else:
            self._run(self._flatten_everything())

    async def _flatten_everything(self) -> None:
        assert self.service is not None
        self.notify("cancelling every order, closing every position…", title="Close all")
        try:
            report = await self.service.close_all()
        except (BackpackError, DuplicateSubmit) as exc:
            self._failed(f"close-all failed: {exc}")
            return
        title = "Close all: FLAT" if report.flat else "Close all: NOT FLAT"
        self.notify(
            "\n".join(report.lines()),
            title=title,
            severity="information" if report.flat else "error",
            timeout=12,
        )
        if not report.flat:
            self.feed.report(report.summary())
        self.feed.orders = self.feed.positions = self.feed.account = True

    def action_kill_switch(self) -> None:
        if self.gate.halted:
            self.gate.resume()
            self.notify("kill switch off: new orders allowed")
        else:
            self.gate.halt("kill switch (K)")
            self.notify("kill switch ON: only reducing orders go out", severity="warning")
