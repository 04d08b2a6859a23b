"""The order ticket: shows what will be sent; Enter sends, Esc discards.

The widget only edits a :class:`~bpx_tui.ui.ticket_model.Ticket` and renders its
preview; sending is the app's job (it owns the trading service), reached through the
:class:`OrderTicket.Send` message.

An open ticket is a modal input context. Its fields claim every printable key, so
nothing typed into them can reach a desk key (``x`` close, ``K`` kill switch, ``q``
quit); the ticket's own keys are bound on the fields themselves, the only place a
binding still wins over a field that claims the key. While the ticket is open, focus
cannot leave it (Tab cycles its fields; a click elsewhere gives focus back).

Enter sends at most one order: from the key press until the answer the ticket is busy
and ignores Enter (first while the app routes the order, then "sending…" once it has
left). The answer is the ticket's: a refusal stays in the open ticket as its error, an
accepted order closes it and is the closed panel's line until the next ticket opens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from bpx_tui.exchange.models import Market
from bpx_tui.trading.order import NewOrder
from bpx_tui.ui import fmt, keys
from bpx_tui.ui.ticket_model import ExitPreview, Preview, Ticket, TicketError, describe_result

PRICE_CHARACTERS = "0123456789.,"
SIZE_CHARACTERS = PRICE_CHARACTERS + "kK"  # 1k: a thousand of the quote unit
EXIT_CHARACTERS = PRICE_CHARACTERS + "+-%"  # a price, or a distance: +1%, -0.5%, 2%
# What a field may hold while being typed: digits and separators, and a k only as the
# last character after a digit ("1.5k", never "k1"). The price field never takes a k
# (its characters exclude it), so one shape serves both.
NUMBER_SHAPE = r"[0-9.,]*(?:[0-9][kK])?"
# An exit: a sign only first, a % only last.
EXIT_SHAPE = r"[+-]?[0-9.,]*%?"
SOURCES = {"MarkPrice": "mark", "LastPrice": "last", "IndexPrice": "index"}


class TicketField(Input):
    """A price or size field of the ticket: it owns every printable key.

    A character a number cannot contain is refused here, with a sentence in the ticket,
    instead of passing on to whatever else binds it.
    """

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = list(
        keys.field_bindings()
    )

    class Refused(Message):
        """A key the ticket does not use was typed into one of its fields."""

        def __init__(self, key: str) -> None:
            self.key = key
            """The key as typed (its character, or its name)."""
            super().__init__()

    def __init__(
        self, *, placeholder: str, id: str, characters: str, shape: str = NUMBER_SHAPE
    ) -> None:
        super().__init__(placeholder=placeholder, restrict=shape, id=id, compact=True)
        self.characters = frozenset(characters)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Every printable key is the field's: no parent binding may take one."""
        return character is not None and character.isprintable()

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character not in self.characters:
            event.stop()
            event.prevent_default()  # Input's own handler does not run
            self.post_message(self.Refused(event.character or event.key))

    async def action_ticket(self, action: str) -> None:
        """A ticket key pressed in this field: the ticket runs its action."""
        ticket = next((a for a in self.ancestors if isinstance(a, OrderTicket)), None)
        if ticket is not None:
            await self.app.run_action(action, ticket)


# The ticket's text fields beside price and size: field id -> Ticket attribute.
EXTRA_FIELDS = {
    "ticket-trigger": "trigger",
    "ticket-tp": "take_profit",
    "ticket-tp-limit": "tp_limit",
    "ticket-sl": "stop_loss",
    "ticket-sl-limit": "sl_limit",
}
KIND_HEADS = {
    "limit": "LIMIT",
    "market": "MARKET",
    "stop-market": "STOP MARKET",
    "stop-limit": "STOP LIMIT",
}

IDLE_TEXT = "b/s limit ticket · B/S market ticket\n1-5 size preset · ? all keys"
MARKETABLE = "marketable — takes liquidity"
SENDING = "sending…"
REFUSED_HINT = "{key!r} is not a ticket key · Esc closes the ticket first"


def leverage_text(leverage: Decimal) -> str:
    """``2.35x``; a leverage too small to read at two decimals is ``<0.01x``, not 0."""
    return "<0.01x" if 0 < leverage < Decimal("0.01") else f"{fmt.num(leverage, 2)}x"


def preview_text(
    ticket: Ticket,
    preview: Preview,
    market: Market,
    estimated_fee: bool,
) -> str:
    """The preview under the fields: both units, the fee's kind, the resulting position."""
    quote = market.quote_symbol or "USDC"
    base = market.base_symbol
    quantity = fmt.num(preview.quantity, market.quantity_decimals)
    if preview.quote_amount is not None:
        size = f"{fmt.num(preview.quote_amount, 2)} {quote} ≈ {quantity} {base}"
    else:
        size = f"{quantity} {base} ≈ {fmt.num(preview.notional, 2)} {quote}"
    kind = "taker" if ticket.is_market or not preview.maker else "maker"
    lines = [
        f"Size     {size}",
        f"Notional {fmt.num(preview.notional, 2)} {quote}",
        f"Fee      {fmt.num(preview.fee, 4)} {quote} {kind}" + (" (est.)" if estimated_fee else ""),
    ]
    if preview.marketable:
        lines.append(f"         {MARKETABLE}")
    if preview.trigger is not None:
        lines.append(trigger_line(ticket, preview, market))
    if ticket.is_market and not ticket.stop:
        lines.append(
            f"Avg fill {fmt.num(preview.average_price, market.price_decimals)}"
            f"   slippage {fmt.pct(preview.slippage, 3, sign=False)}"
        )
    if preview.resulting is not None:
        lines.append(
            "Result   "
            + describe_result(preview.held, preview.resulting, base, market.quantity_decimals)
        )
    if preview.leverage is not None:
        lines.append(f"Leverage {leverage_text(preview.leverage)} of equity after the fill")
    lines.extend(exit_lines(preview, market))
    if preview.warning:
        lines.append(f"⚠ {preview.warning}")
    return "\n".join(lines)


def trigger_line(ticket: Ticket, preview: Preview, market: Market) -> str:
    """A stop entry: where it fires, on which price, and what it becomes then."""
    assert preview.trigger is not None
    source = SOURCES.get(ticket.trigger_by, ticket.trigger_by)
    way = {True: "a rise", False: "a fall", None: "a move"}[preview.trigger_rises]
    then = (
        "market" if ticket.is_market else f"limit {fmt.num(preview.entry, market.price_decimals)}"
    )
    price = fmt.num(preview.trigger, market.price_decimals)
    return f"Trigger  {price} on {way} of the {source} price, then {then}"


def exit_lines(preview: Preview, market: Market) -> list[str]:
    """The take-profit and stop-loss as they would be placed, with the PnL at each."""
    quote = market.quote_symbol or "USDC"
    lines = []
    for label, exit_ in (("TP", preview.take_profit), ("SL", preview.stop_loss)):
        if exit_ is None:
            continue
        lines.append(f"{label:<9}{exit_text(exit_, market)}")
        lines.append(f"         PnL {fmt.num(exit_.pnl, 2, sign=True)} {quote} after fees")
    return lines


def exit_text(exit_: ExitPreview, market: Market) -> str:
    decimals = market.price_decimals
    source = SOURCES.get(exit_.trigger_by or "", exit_.trigger_by or "default")
    fill = "market" if exit_.limit is None else f"limit {fmt.num(exit_.limit, decimals)}"
    return f"{fmt.num(exit_.trigger, decimals)} ({fmt.pct(exit_.distance)}) by {source} → {fill}"


class OrderTicket(Vertical, can_focus=False):
    DEFAULT_CSS = """
    OrderTicket .ticket-part { display: none; }
    OrderTicket.-open .ticket-part { display: block; }
    OrderTicket.-open.-market #ticket-price-row { display: none; }
    OrderTicket.-open #ticket-trigger-row { display: none; }
    OrderTicket.-open.-stop #ticket-trigger-row { display: block; }
    """

    class Send(Message):
        def __init__(self, ticket: Ticket, entry: Decimal | None = None) -> None:
            self.ticket = ticket
            self.entry = entry
            """The entry the preview measured the exits from (a market order's
            estimated fill): the order sent is the one the preview showed."""
            super().__init__()

    class Closed(Message):
        """The ticket was discarded or sent; focus goes back to the ladder."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ticket: Ticket | None = None
        self.market: Market | None = None
        self.presets: Sequence[Decimal] = ()
        self.reference_price: Callable[[Ticket], Decimal | None] = lambda _t: None
        self.previewer: Callable[[Ticket], tuple[Preview, bool]] | None = None
        self._preview_key: object = None
        self._preview_lines = -1
        self._routing = False  # Enter was pressed; the app has not yet sent or refused
        self._in_flight: NewOrder | None = None  # the order that left, until its answer
        self._answer: str | None = None  # the last answer, for the closed panel

    def compose(self) -> ComposeResult:
        yield Static(IDLE_TEXT, id="ticket-head")
        with Horizontal(id="ticket-trigger-row", classes="ticket-row ticket-part"):
            yield Label("Stop", classes="ticket-label")
            yield TicketField(
                placeholder="trigger price", id="ticket-trigger", characters=PRICE_CHARACTERS
            )
        with Horizontal(id="ticket-price-row", classes="ticket-row ticket-part"):
            yield Label("Price", classes="ticket-label")
            yield TicketField(placeholder="price", id="ticket-price", characters=PRICE_CHARACTERS)
        with Horizontal(id="ticket-size-row", classes="ticket-row ticket-part"):
            yield Label("Size", classes="ticket-label")
            yield TicketField(placeholder="size", id="ticket-size", characters=SIZE_CHARACTERS)
            yield Label("", id="ticket-unit")
        for kind, hint in (("tp", "+1%"), ("sl", "-1%")):
            with Horizontal(id=f"ticket-{kind}-row", classes="ticket-row exit-row ticket-part"):
                yield Label(kind.upper(), classes="ticket-label")
                yield TicketField(
                    placeholder=f"price or {hint}",
                    id=f"ticket-{kind}",
                    characters=EXIT_CHARACTERS,
                    shape=EXIT_SHAPE,
                )
                yield TicketField(
                    placeholder="limit", id=f"ticket-{kind}-limit", characters=PRICE_CHARACTERS
                )
        yield Static("", id="ticket-preview", classes="ticket-part")
        yield Static("", id="ticket-status")
        yield Static("", id="ticket-error")
        yield Static(
            "enter send · esc discard · ↑↓ tick · ⇧↑↓ size\n"
            "f buy/sell · m limit/mkt/stop · p post · r reduce · t TIF\n"
            "u convert · 1k = 1,000 quote",
            id="ticket-help",
            classes="ticket-part",
        )

    def on_mount(self) -> None:
        self.border_title = "Ticket"
        self._set_open(False)
        self.show_error(None)
        self._show_status(None)

    @property
    def is_open(self) -> bool:
        return self.ticket is not None

    @property
    def busy(self) -> bool:
        """An Enter is being routed or its order is in flight: another Enter is ignored."""
        return self._routing or self._in_flight is not None

    def _set_open(self, is_open: bool) -> None:
        """Which parts show is CSS (``-open``, ``-market``), so a theme or a small
        terminal can hide the key help without code."""
        self.set_class(is_open, "-open")
        if not is_open:
            self.query_one("#ticket-head", Static).update(self._idle_text())
            self.set_class(False, "-buy")
            self.set_class(False, "-sell")

    # ------------------------------------------------------------------ public

    def open(self, ticket: Ticket, market: Market, presets: Sequence[Decimal]) -> None:
        self.market = market
        self.presets = presets
        self.ticket = ticket
        # A new ticket is a new order: an earlier one still in flight answers in the
        # notifications only, never in this ticket.
        self._routing = False
        self._in_flight = None
        self._answer = None
        self._show_status(None)
        self.query_one("#ticket-price", Input).value = ticket.price
        self.query_one("#ticket-size", Input).value = ticket.size
        for field_id, name in EXTRA_FIELDS.items():
            self.query_one(f"#{field_id}", Input).value = getattr(ticket, name)
        self._set_open(True)
        self.show_error(None)
        self._render_ticket()
        self._focus_first()

    def close(self) -> None:
        """Closing forgets the ticket, not an order in flight: its answer still lands
        on the closed panel."""
        self.ticket = None
        self._preview_key = None
        self._routing = False
        self._set_open(False)
        self.show_error(None)
        self._show_status(None)  # the closed panel's line says "sending…" instead

    def show_error(self, text: str | None) -> None:
        error = self.query_one("#ticket-error", Static)
        error.update(text or "")
        error.display = bool(text)

    def refuse(self, reason: str) -> None:
        """The app did not send the order (invalid, not confirmed): say why; Enter works again."""
        self._routing = False
        self.show_error(reason)

    def sending(self, order: NewOrder) -> None:
        """``order`` left for the exchange: "sending…" until :meth:`answered` names it."""
        self._routing = False
        self._in_flight = order
        self.show_error(None)
        if self.is_open:
            self._show_status(SENDING)
        else:
            self._set_open(False)

    def answered(
        self, order: NewOrder, *, accepted: str | None = None, refused: str | None = None
    ) -> None:
        """The exchange's answer to ``order``; ignored unless it is the order in flight.

        Accepted (``accepted`` is its answer line): the ticket closes and shows the line.
        Otherwise the ticket stays open with ``refused`` as its error and Enter works
        again; a ticket closed meanwhile shows the refusal as its line.
        """
        if order is not self._in_flight:
            return
        self._in_flight = None
        self._show_status(None)
        if accepted is not None:
            self._answer = accepted
            if self.is_open:
                self.close()
                self.post_message(self.Closed())
            else:
                self._set_open(False)
            return
        reason = refused or "not sent"
        if self.is_open:
            self.show_error(reason)
        else:
            self._answer = f"✗ refused: {reason}"
            self._set_open(False)

    def set_size(self, size: str) -> None:
        if self.ticket is not None:
            self._replace(replace(self.ticket, size=size, size_in_quote=False))

    def refresh_preview(self) -> None:
        """Called by the frame pump: a market order's estimate moves with the book."""
        if self.ticket is not None:
            self._render_preview(force=False)

    # ------------------------------------------------------------------ edits

    def _replace(self, ticket: Ticket) -> None:
        self.ticket = ticket
        price_input = self.query_one("#ticket-price", Input)
        if price_input.value != ticket.price:
            price_input.value = ticket.price
        size_input = self.query_one("#ticket-size", Input)
        if size_input.value != ticket.size:
            size_input.value = ticket.size
        for field_id, name in EXTRA_FIELDS.items():
            field = self.query_one(f"#{field_id}", Input)
            if field.value != getattr(ticket, name):
                field.value = getattr(ticket, name)
        self.show_error(None)
        self._render_ticket()

    @on(Input.Changed, "#ticket-price")
    def _price_typed(self, event: Input.Changed) -> None:
        if self._current(event) and self.ticket is not None and event.value != self.ticket.price:
            self.ticket = replace(self.ticket, price=event.value, price_joined=False)
            self.show_error(None)  # the error was about the input before this edit
            self._render_preview(force=True)

    @on(Input.Changed, "#ticket-size")
    def _size_typed(self, event: Input.Changed) -> None:
        if self._current(event) and self.ticket is not None and event.value != self.ticket.size:
            self.ticket = replace(self.ticket, size=event.value)
            self.show_error(None)
            self._render_ticket()  # "1k" changes the unit label as well as the preview

    @on(
        Input.Changed, "#ticket-trigger, #ticket-tp, #ticket-tp-limit, #ticket-sl, #ticket-sl-limit"
    )
    def _extra_typed(self, event: Input.Changed) -> None:
        name = EXTRA_FIELDS.get(event.input.id or "")
        if name is None or self.ticket is None or not self._current(event):
            return
        if event.value != getattr(self.ticket, name):
            self.ticket = self.ticket.with_text(name, event.value)
            self.show_error(None)
            self._render_preview(force=True)

    @staticmethod
    def _current(event: Input.Changed) -> bool:
        """The change still is the field's value. One the ticket itself made (a nudge,
        a flip) arrives a turn later; by then a second key may have replaced it, and
        taking the stale value as typed would undo that key."""
        return event.value == event.input.value

    def action_nudge_price(self, ticks: int) -> None:
        if self.ticket is None or self.market is None or self.ticket.is_market:
            return
        self._replace(
            self.ticket.nudged_price(ticks, self.market, self.reference_price(self.ticket))
        )

    def action_nudge_size(self, steps: int) -> None:
        if self.ticket is not None:
            self._replace(self.ticket.nudged_size(steps, self.presets))

    def action_flip(self, flag: str) -> None:
        if self.ticket is None:
            return
        ticket = self.ticket.toggled(flag)
        if flag == "market" and not ticket.is_market and not ticket.price:
            reference = self.reference_price(ticket)
            if reference is not None and self.market is not None:
                ticket = replace(
                    ticket, price=self.market.format_price(reference), price_joined=True
                )
        self._replace(ticket)

    def action_cycle_type(self) -> None:
        """``m``: limit → market → stop-market → stop-limit. A limit price still empty
        joins the book (a limit) or takes the stop's trigger (a stop-limit); a stop
        with no trigger yet puts the cursor in the trigger field."""
        if self.ticket is None:
            return
        ticket = self.ticket.next_kind()
        if not ticket.is_market and not ticket.price.strip():
            if ticket.stop and ticket.trigger.strip():
                ticket = replace(ticket, price=ticket.trigger, price_joined=False)
            elif not ticket.stop:
                reference = self.reference_price(ticket)
                if reference is not None and self.market is not None:
                    ticket = replace(
                        ticket, price=self.market.format_price(reference), price_joined=True
                    )
        self._replace(ticket)
        if ticket.stop and not ticket.trigger.strip():
            self._focus(self.query_one("#ticket-trigger", Input))

    def action_flip_side(self) -> None:
        """``f``: buy <-> sell; a joined price re-joins the other side (``Ticket.flipped``)."""
        if self.ticket is None or self.market is None:
            return
        other = replace(self.ticket, side="Ask" if self.ticket.side == "Bid" else "Bid")
        self._replace(
            self.ticket.flipped(
                self.market, self.reference_price(self.ticket), self.reference_price(other)
            )
        )

    def action_convert_unit(self) -> None:
        """``u``: the size rewritten in the other unit at the preview's price."""
        if self.ticket is None or self.market is None or self.previewer is None:
            return
        preview, _estimated = self.previewer(self.ticket)
        try:
            self._replace(self.ticket.converted(self.market, preview))
        except TicketError as exc:
            self.show_error(str(exc))

    def action_cycle_field(self, step: int) -> None:
        """Tab / shift+Tab move between the ticket's visible fields, never out of it
        (a market ticket's price row is hidden by its CSS, so it is skipped)."""
        fields = [f for f in self.query(TicketField) if f.parent is not None and f.parent.display]
        if not fields:
            return
        focused = self.app.focused
        index = (
            fields.index(focused) if isinstance(focused, TicketField) and focused in fields else -1
        )
        self._focus(fields[(index + step) % len(fields)])

    @on(TicketField.Refused)
    def _refused(self, event: TicketField.Refused) -> None:
        event.stop()
        self.show_error(REFUSED_HINT.format(key=event.key))

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        """Focus never leaves an open ticket (a click elsewhere gives it back)."""
        if self.is_open:
            self.call_after_refresh(self._keep_focus)

    def _keep_focus(self) -> None:
        if not self.is_open or self.app.screen is not self.screen:
            return
        focused = self.app.focused
        if focused is None or self not in focused.ancestors:
            self._focus_first()

    def _focus_first(self) -> None:
        ticket = self.ticket
        target = (
            "#ticket-size"
            if ticket is None or ticket.is_market or ticket.price
            else "#ticket-price"
        )
        self._focus(self.query_one(target, Input))

    def _focus(self, field: Input) -> None:
        """Focus ``field`` now, not on the next turn of the loop (``Widget.focus``).

        Keys typed straight after ``b`` are already queued behind it; with a deferred
        focus they would go to whatever had focus before (typed-ahead digits of a price
        lost, then Enter sending the ticket's default price).
        """
        self.screen.set_focus(field)

    def action_cycle_tif(self) -> None:
        if self.ticket is not None:
            self._replace(self.ticket.next_tif())

    def action_send(self) -> None:
        """Enter: busy until the app sends or refuses, so a second Enter sends nothing."""
        if self.ticket is not None and not self.busy:
            self._routing = True
            entry = self.previewer(self.ticket)[0].entry if self.previewer is not None else None
            self.post_message(self.Send(self.ticket, entry))

    def action_discard(self) -> None:
        if self.ticket is not None:
            self.close()
            self.post_message(self.Closed())

    # ------------------------------------------------------------------ rendering

    def _idle_text(self) -> str:
        """The closed panel: an order still in flight, else the last answer, else help."""
        if self._in_flight is not None:
            return SENDING
        return self._answer or IDLE_TEXT

    def _show_status(self, text: str | None) -> None:
        status = self.query_one("#ticket-status", Static)
        status.update(text or "")
        status.display = bool(text)

    def _render_ticket(self) -> None:
        ticket = self.ticket
        market = self.market
        if ticket is None or market is None:
            return
        buy = ticket.side == "Bid"
        self.set_class(buy, "-buy")
        self.set_class(not buy, "-sell")
        flags = [
            name for name, on in (("POST", ticket.post_only), ("REDUCE", ticket.reduce_only)) if on
        ]
        head = " ".join(
            [
                "BUY" if buy else "SELL",
                market.symbol,
                KIND_HEADS[ticket.kind],
                *([] if ticket.is_market else [ticket.tif]),
                *flags,
            ]
        )
        self.query_one("#ticket-head", Static).update(head)
        self.set_class(ticket.is_market, "-market")
        self.set_class(ticket.stop, "-stop")
        unit = market.quote_symbol if ticket.in_quote else market.base_symbol
        self.query_one("#ticket-unit", Label).update(unit)
        self._render_preview(force=True)

    def _render_preview(self, *, force: bool) -> None:
        ticket, market = self.ticket, self.market
        if ticket is None or market is None or self.previewer is None:
            return
        preview, estimated = self.previewer(ticket)
        key = (ticket, preview)
        if not force and key == self._preview_key:
            return
        self._preview_key = key
        text = preview_text(ticket, preview, market, estimated)
        if preview.error:
            text += f"\n⚠ {preview.error}"
        # A market ticket re-previews as the book moves: reflow only if the height changed.
        widget = self.query_one("#ticket-preview", Static)
        width = max(1, widget.content_size.width or 40)
        lines = sum(max(1, -(-len(line) // width)) for line in text.split("\n"))
        widget.update(text, layout=lines != self._preview_lines)
        self._preview_lines = lines
