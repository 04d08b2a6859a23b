"""The console's trading side: what a key asks of the trading layer, answered as values.

:class:`TradingDesk` is a collaborator of :class:`~bpx_tui.ui.app.BpxApp`, not a base
class: the app routes keys and widget intents here and draws what comes back (a ticket,
a preview, an :class:`Outcome` to show). It knows nothing of widgets, so the command
line and scripts can drive the same actions. Risk-increasing orders go through the
trading layer's :class:`OrderService` (risk checks, journal); reducing ones (cancel,
close, close-all) are never held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from bpx_tui.config import Settings
from bpx_tui.exchange.book import OrderBook
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import (
    BackpackError,
    InvalidOrder,
    ReplaceAborted,
    UnknownOrderOutcome,
)
from bpx_tui.exchange.models import Order
from bpx_tui.exchange.stream import ConnectionState
from bpx_tui.trading.order import NewOrder
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.risk import DuplicateSubmit, RiskGate, RiskRejected, is_reducing
from bpx_tui.ui import fmt
from bpx_tui.ui.activity import ActivityEntry, Tone
from bpx_tui.ui.freshness import Freshness, assess
from bpx_tui.ui.ticket_model import (
    Exposure,
    Preview,
    Ticket,
    answer_line,
    fees_from_account,
)

log = logging.getLogger("bpx_tui.ui")

Severity = Literal["information", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did, for the trader: the app shows it and logs the failures."""

    message: str
    """One sentence (or a few lines for close-all)."""
    title: str = ""
    """A notification title, when the message needs one."""
    severity: Severity = "information"
    """``error`` outcomes also go to the status bar and the log panel."""
    timeout: float | None = None
    """How long the notification stays (None: Textual's default)."""
    ticket_error: str | None = None
    """A refusal to show in the open ticket, under the field that caused it."""
    sent: bool = False
    """An order left and was accepted: the ticket closes."""
    status_line: str = ""
    """For the status bar when the message is too long for it (close-all's report)."""
    activity: ActivityEntry | None = None
    """The activity log's line for what the desk decided itself (a refusal, a failure,
    the kill switch, close-all's verdict). None when the exchange's own order updates
    will tell it (an accepted order, a cancel): one event, one line."""
    order: NewOrder | None = None
    """The order a submit answers: only the ticket that sent this very order takes the
    answer (an older order's late answer must not close a newer ticket)."""
    answer: str = ""
    """An accepted order as the closed ticket shows it (``✓ filled: …``)."""

    @property
    def failed(self) -> bool:
        return self.severity == "error"

    @property
    def for_status_bar(self) -> str | None:
        """What an error leaves on the status bar and in the log panel."""
        return (self.status_line or self.message) if self.failed else None


def order_activity(event: str, order: NewOrder, result: str, tone: Tone = "bad") -> ActivityEntry:
    """An activity line about an order that the exchange never acknowledged."""
    terms = order.terms
    size = terms.quantity if terms.quantity is not None else terms.quote_quantity
    return ActivityEntry(
        event,
        result,
        terms.symbol,
        fmt.side_word(terms.side),
        fmt.exact(size),
        "market" if terms.price is None else fmt.exact(terms.price),
        tone,
    )


def resting_activity(
    event: str, order: Order, result: str, price: Decimal | None = None
) -> ActivityEntry:
    """An activity line about one of our resting orders that the desk failed to act on
    (``price``: where it was to go, when not its own)."""
    return ActivityEntry(
        event,
        result,
        order.symbol,
        fmt.side_word(order.side),
        fmt.exact(order.remaining),
        fmt.exact(order.price if price is None else price),
        "bad",
    )


class TradingDesk:
    """Order actions for one client and account; the app owns it once connected."""

    def __init__(
        self,
        client: BackpackClient,
        settings: Settings,
        gate: RiskGate,
        service: OrderService | None,
        *,
        demo: bool,
    ) -> None:
        self.client = client
        self.settings = settings
        self.gate = gate
        self.service = service
        self.demo = demo
        self.live_order_confirmed = False  # the first live order of this run was confirmed
        self.preset_index = 0
        self._moving: dict[str, int] = {}  # market -> ticks pressed while its move runs

    # ------------------------------------------------------------------ freshness

    def freshness(self, symbol: str, book: OrderBook | None = None) -> Freshness:
        """How live one market's numbers are ("" : the feed as a whole).

        A perp's data age is its mark's (the mark streams about once a second, so an
        old one means the feed is not delivering); anything else has only the stream's
        last message to go by.
        """
        client = self.client
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

    # ------------------------------------------------------------------ tickets

    def new_ticket(
        self, symbol: str, side: str, order_type: str, at_price: Decimal | None
    ) -> Ticket:
        """A ticket at the current size preset, priced at ``at_price`` (the ladder's
        cursor) or else joining the best bid / ask."""
        market = self.client.market(symbol)
        presets = self.presets(symbol)
        size = presets[min(self.preset_index, len(presets) - 1)] if presets else None
        ticket = Ticket(
            symbol=symbol,
            side="Bid" if side == "Bid" else "Ask",
            order_type="Market" if order_type == "Market" else "Limit",
            size=market.format_quantity(size) if size is not None else "",
            trigger_by=self.settings.exit_trigger_by,
        )
        if ticket.is_market:
            return ticket
        joined = at_price is None
        price = at_price if at_price is not None else self.reference_price(ticket)
        if price is None:
            return ticket
        return replace(ticket, price=market.format_price(price), price_joined=joined)

    def presets(self, symbol: str) -> tuple[Decimal, ...]:
        market = self.client.market(symbol)
        mark = self.client.marks.get(symbol)
        return self.settings.size_presets(
            symbol,
            market.min_quantity,
            market.step_size,
            mark.mark_price if mark is not None else None,
        )

    def choose_preset(self, symbol: str, index: int) -> str | None:
        """Select size preset ``index`` (clamped); returns the size as text, or None."""
        presets = self.presets(symbol)
        if not presets:
            return None
        self.preset_index = min(index, len(presets) - 1)
        return self.client.market(symbol).format_quantity(presets[self.preset_index])

    def reference_price(self, ticket: Ticket) -> Decimal | None:
        """Where a limit ticket starts and nudges from: joining the best bid / best ask."""
        book = self.client.books.get(ticket.symbol)
        if book is None:
            return None
        return book.best_bid_price() if ticket.side == "Bid" else book.best_ask_price()

    def preview(self, ticket: Ticket) -> tuple[Preview, bool]:
        """The ticket's preview and whether its fee is an estimate (tier not read)."""
        client = self.client
        book = client.books.get(ticket.symbol)
        taken = None
        if book is not None:
            taken = book.best_ask_price() if ticket.side == "Bid" else book.best_bid_price()
        market = client.market(ticket.symbol)
        fees = fees_from_account(client.account_info, market.is_perp)
        preview = ticket.preview(market, book, taken, fees, self.exposure(ticket.symbol))
        fresh = self.freshness(ticket.symbol, book)
        if not fresh.live and preview.error is None:
            # The numbers above were computed from a book that may no longer exist.
            stale = f"book not live ({fresh.label}): these numbers may be wrong"
            warning = f"{preview.warning}\n⚠ {stale}" if preview.warning else stale
            preview = replace(preview, warning=warning)
        return preview, not fees.known

    def exposure(self, symbol: str) -> Exposure:
        """The account as the preview needs it: this market's position, the others'
        notional at mark, and equity (unknown until the account is read)."""
        client = self.client
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

    # ------------------------------------------------------------------ sending

    def needs_live_confirmation(self, order: NewOrder) -> bool:
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

    @staticmethod
    def live_question(order: NewOrder, *, rehearsal: bool = False) -> str:
        """The first-order question; a SIM rehearsal says it is one, never "real"."""
        terms = order.terms
        size = terms.quantity if terms.quantity is not None else terms.quote_quantity
        price = f" @ {terms.price}" if terms.price is not None else " at market"
        opening = (
            "SIM: a rehearsal of a live order, sent to the separate local exchange."
            if rehearsal
            else "LIVE: this sends a real order to the exchange."
        )
        return (
            f"{opening}\n\n"
            f"{fmt.side_word(terms.side)} {size} {terms.symbol} {terms.order_type}{price}\n\n"
            "Send it? (asked once per run; later orders go straight through)"
        )

    async def submit(self, new: NewOrder) -> Outcome:
        """Send ``new``; every answer names it (``Outcome.order``) and says either why it
        was not placed (``ticket_error``) or what the exchange made of it (``answer``)."""
        if self.service is None:
            reason = "No API key: this session is market data only"
            return Outcome(reason, severity="warning", ticket_error=reason, order=new)
        try:
            order = await self.service.submit(new)
        except RiskRejected as exc:
            return Outcome(
                exc.reason,
                title="Order refused",
                severity="warning",
                ticket_error=exc.reason,
                activity=order_activity("refused", new, exc.reason),
                order=new,
            )
        except DuplicateSubmit as exc:
            return Outcome(
                str(exc),
                severity="warning",
                ticket_error=str(exc),
                activity=order_activity("refused", new, str(exc)),
                order=new,
            )
        except BackpackError as exc:
            return Outcome(
                f"order failed: {exc}",
                severity="error",
                ticket_error=str(exc),
                activity=order_activity("rejected", new, str(exc)),
                order=new,
            )
        size = order.quantity or new.terms.quantity or new.terms.quote_quantity
        return Outcome(
            f"{fmt.side_word(order.side)} {size} {order.symbol} {order.order_type}: {order.status}",
            title="Order sent",
            sent=True,
            order=new,
            answer=answer_line(order, self.client.market(new.terms.symbol)),
        )

    # ------------------------------------------------------------------ risk-reducing

    async def cancel(self, order: Order) -> Outcome:
        try:
            await self.client.cancel_order(order.symbol, order.id)
        except BackpackError as exc:
            return Outcome(
                f"cancel {order.id} failed: {exc}",
                severity="error",
                activity=resting_activity("cancel", order, f"failed: {exc}"),
            )
        return Outcome(f"cancelled {fmt.side_word(order.side)} {order.symbol} @ {order.price}")

    async def cancel_market(self, symbol: str) -> Outcome:
        try:
            cancelled = await self.client.cancel_all(symbol)
        except BackpackError as exc:
            return Outcome(
                f"cancel all on {symbol} failed: {exc}",
                severity="error",
                activity=ActivityEntry("cancel", f"cancel all failed: {exc}", symbol, tone="bad"),
            )
        return Outcome(f"cancelled {len(cancelled)} order(s) on {symbol}")

    async def close(self, symbol: str) -> Outcome:
        if self.service is None:
            return Outcome("No API key: this session is market data only", severity="warning")
        try:
            order = await self.service.close_position(symbol)
        except (BackpackError, RiskRejected, DuplicateSubmit) as exc:
            return Outcome(
                f"close {symbol} failed: {exc}",
                severity="error",
                activity=ActivityEntry("close", f"failed: {exc}", symbol, tone="bad"),
            )
        if order is None:
            return Outcome(
                f"No open position on {symbol}",
                activity=ActivityEntry("close", "no open position", symbol, tone="muted"),
            )
        return Outcome(f"close {symbol}: {order.executed_quantity} filled ({order.status})")

    async def close_all(self) -> Outcome:
        """Cancel every order and close every position; NOT FLAT is an error outcome."""
        if self.service is None:
            return Outcome("No API key: this session is market data only", severity="warning")
        try:
            report = await self.service.close_all()
        except (BackpackError, DuplicateSubmit) as exc:
            return Outcome(
                f"close-all failed: {exc}",
                severity="error",
                activity=ActivityEntry("close-all", f"failed: {exc}", tone="bad"),
            )
        if report.flat:
            return Outcome(
                "\n".join(report.lines()),
                title="Close all: FLAT",
                timeout=12,
                activity=ActivityEntry("close-all", report.summary()),
            )
        return Outcome(
            "\n".join(report.lines()),
            title="Close all: NOT FLAT",
            severity="error",
            timeout=12,
            status_line=report.summary(),
            activity=ActivityEntry("close-all", report.summary(), tone="bad"),
        )

    # ------------------------------------------------------------------ moving orders

    def join_move(self, symbol: str, ticks: int) -> bool:
        """Add ``ticks`` to the move running on ``symbol``, if one is: True when joined.

        A trader presses shift+up three times without waiting; the presses after the
        first find the orders mid-move (cancelled, replacement not yet placed), so they
        are counted and the running move carries the replacements on by as many ticks.
        """
        if symbol not in self._moving:
            return False
        self._moving[symbol] += ticks
        return True

    async def move_orders(self, symbol: str, order_ids: Sequence[str], ticks: int) -> Outcome:
        """Move our resting orders ``ticks`` ticks, each by cancel-then-place.

        The first failure stops the rest: a trader told "cancelled, replacement refused"
        about one order must not find three more half-moved behind it.
        """
        if self.service is None:
            return Outcome("No API key: this session is market data only", severity="warning")
        orders = [o for i in order_ids if (o := self.client.open_orders.get(i)) is not None]
        if not orders:
            return Outcome("the order to move is no longer open", severity="warning")
        tick = self.client.market(symbol).tick_size
        self._moving[symbol] = 0
        try:
            while True:
                moved: list[Order] = []
                for order in orders:
                    outcome = await self._move_one(order, ticks * tick, moved)
                    if outcome is not None:
                        return outcome
                ticks = self._moving[symbol]
                if not ticks:
                    break
                self._moving[symbol] = 0
                orders = moved
        finally:
            del self._moving[symbol]
        what = f"{len(moved)} orders" if len(moved) > 1 else fmt.side_word(moved[0].side)
        return Outcome(f"moved {what} {symbol} to {moved[0].price}")

    async def _move_one(self, order: Order, by: Decimal, moved: list[Order]) -> Outcome | None:
        """Move one order; None when it moved (appended to ``moved``), else what went wrong."""
        assert self.service is not None and order.price is not None
        target = order.price + by

        def failed(result: str) -> Outcome:
            return Outcome(
                result, severity="error", activity=resting_activity("move", order, result, target)
            )

        try:
            moved.append(await self.service.move(order, target))
        except (RiskRejected, DuplicateSubmit, InvalidOrder) as exc:
            return failed(f"not moved (the order at {order.price} stands): {exc}")
        except ReplaceAborted as exc:
            return failed(f"not moved: {exc}")
        except UnknownOrderOutcome as exc:
            return failed(
                f"order {order.id} was cancelled to move it; the replacement at {target} has "
                f"an unknown outcome: {exc}"
            )
        except BackpackError as exc:
            return failed(
                f"order {order.id} was cancelled to move it; the replacement at {target} "
                f"was refused: {exc}"
            )
        return None

    # ------------------------------------------------------------------ account

    async def set_leverage(self, limit: int) -> Outcome:
        """Ask the exchange for a new leverage limit; its answer (or refusal) is the outcome.

        Not an order, so neither the risk gate nor the kill switch holds it back: a
        lower limit is how a trader reins an account in. The limit shown afterwards is
        re-read from the exchange, never the number typed.
        """
        if not self.client.has_credentials:
            return Outcome("No API key: this session is market data only", severity="warning")
        try:
            await self.client.set_leverage_limit(limit)
        except BackpackError as exc:
            return Outcome(
                f"leverage limit {limit}x refused: {exc}",
                severity="error",
                activity=ActivityEntry("leverage", f"{limit}x refused: {exc}", tone="bad"),
            )
        now = self.client.account_info.get("leverageLimit")
        shown = f"{now}x" if now is not None else "unknown (the account could not be re-read)"
        return Outcome(
            f"leverage limit is now {shown}",
            activity=ActivityEntry("leverage", f"limit set to {shown}"),
        )

    def toggle_kill_switch(self) -> Outcome:
        if self.gate.halted:
            self.gate.resume()
            return Outcome(
                "kill switch off: new orders allowed",
                activity=ActivityEntry("kill", "off: new orders allowed"),
            )
        self.gate.halt("kill switch (K)")
        return Outcome(
            "kill switch ON: only reducing orders go out",
            activity=ActivityEntry("kill", "ON: only reducing orders go out", tone="warn"),
        )
