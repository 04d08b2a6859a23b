"""The order ticket: shows what will be sent; Enter sends, Esc discards.

The widget only edits a :class:`~bpx_tui.ui.ticket_model.Ticket` and renders its
preview; sending is the app's job (it owns the trading service), reached through the
:class:`OrderTicket.Send` message. Ticket keys are priority bindings so that ``p``/``r``
work while the cursor sits in a number field (the fields accept digits only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from bpx_tui.exchange.models import Market
from bpx_tui.ui import fmt, keys
from bpx_tui.ui.ticket_model import Preview, Ticket

NUMBER = r"[0-9.,]*"


class NumberInput(Input):
    """A price/size field that only claims the characters a number can contain.

    Textual skips priority bindings for keys a focused input may consume; declining
    letters lets the ticket keys (p, r, m, t, u) and the safety keys (x, X, K) work
    while the cursor is in a field.
    """

    NUMBER_CHARACTERS = frozenset("0123456789.,")

    def __init__(self, *, placeholder: str, id: str) -> None:
        super().__init__(placeholder=placeholder, restrict=NUMBER, id=id, compact=True)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character in self.NUMBER_CHARACTERS


IDLE_TEXT = "b/s limit ticket · B/S market ticket\n1-5 size preset · ? all keys"


def preview_text(ticket: Ticket, preview: Preview, market: Market, estimated_fee: bool) -> str:
    quote = market.quote_symbol or "USDC"
    lines = [
        f"Qty      {fmt.num(preview.quantity, market.quantity_decimals)} {market.base_symbol}",
        f"Notional {fmt.num(preview.notional, 2)} {quote}",
        f"Fee      {fmt.num(preview.fee, 4)} {quote}"
        + (" (est.)" if estimated_fee else "")
        + (" maker" if ticket.post_only and not ticket.is_market else " taker"),
    ]
    if ticket.is_market:
        lines.append(
            f"Avg fill {fmt.num(preview.average_price, market.price_decimals)}"
            f"   slippage {fmt.pct(preview.slippage, 3, sign=False)}"
        )
    return "\n".join(lines)


class OrderTicket(Vertical, can_focus=False):
    DEFAULT_CSS = """
    OrderTicket .ticket-part { display: none; }
    OrderTicket.-open .ticket-part { display: block; }
    OrderTicket.-open.-market #ticket-price-row { display: none; }
    """

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = list(
        keys.bindings("ticket")
    )

    class Send(Message):
        def __init__(self, ticket: Ticket) -> None:
            self.ticket = ticket
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

    def compose(self) -> ComposeResult:
        yield Static(IDLE_TEXT, id="ticket-head")
        with Horizontal(id="ticket-price-row", classes="ticket-row ticket-part"):
            yield Label("Price", classes="ticket-label")
            yield NumberInput(placeholder="price", id="ticket-price")
        with Horizontal(id="ticket-size-row", classes="ticket-row ticket-part"):
            yield Label("Size", classes="ticket-label")
            yield NumberInput(placeholder="size", id="ticket-size")
            yield Label("", id="ticket-unit")
        yield Static("", id="ticket-preview", classes="ticket-part")
        yield Static("", id="ticket-error")
        yield Static(
            "enter send · esc discard · ↑↓ tick · ⇧↑↓ size\n"
            "m mkt/limit · p post · r reduce · t TIF · u unit",
            id="ticket-help",
            classes="ticket-part",
        )

    def on_mount(self) -> None:
        self.border_title = "Ticket"
        self._set_open(False)
        self.show_error(None)

    @property
    def is_open(self) -> bool:
        return self.ticket is not None

    def _set_open(self, is_open: bool) -> None:
        """Which parts show is CSS (``-open``, ``-market``), so a theme or a small
        terminal can hide the key help without code."""
        self.set_class(is_open, "-open")
        if not is_open:
            self.query_one("#ticket-head", Static).update(IDLE_TEXT)
            self.set_class(False, "-buy")
            self.set_class(False, "-sell")

    # ------------------------------------------------------------------ public

    def open(self, ticket: Ticket, market: Market, presets: Sequence[Decimal]) -> None:
        self.market = market
        self.presets = presets
        self.ticket = ticket
        self.query_one("#ticket-price", Input).value = ticket.price
        self.query_one("#ticket-size", Input).value = ticket.size
        self._set_open(True)
        self.show_error(None)
        self._render_ticket()
        target = "#ticket-size" if ticket.is_market or ticket.price else "#ticket-price"
        self.query_one(target, Input).focus()

    def close(self) -> None:
        self.ticket = None
        self._preview_key = None
        self._set_open(False)
        self.show_error(None)

    def show_error(self, text: str | None) -> None:
        error = self.query_one("#ticket-error", Static)
        error.update(text or "")
        error.display = bool(text)

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
        self.show_error(None)
        self._render_ticket()

    @on(Input.Changed, "#ticket-price")
    def _price_typed(self, event: Input.Changed) -> None:
        if self.ticket is not None and event.value != self.ticket.price:
            self.ticket = replace(self.ticket, price=event.value)
            self._render_preview(force=True)

    @on(Input.Changed, "#ticket-size")
    def _size_typed(self, event: Input.Changed) -> None:
        if self.ticket is not None and event.value != self.ticket.size:
            self.ticket = replace(self.ticket, size=event.value)
            self._render_preview(force=True)

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
                ticket = replace(ticket, price=self.market.format_price(reference))
        self._replace(ticket)

    def action_cycle_tif(self) -> None:
        if self.ticket is not None:
            self._replace(self.ticket.next_tif())

    def action_send(self) -> None:
        if self.ticket is not None:
            self.post_message(self.Send(self.ticket))

    def action_discard(self) -> None:
        if self.ticket is not None:
            self.close()
            self.post_message(self.Closed())

    # ------------------------------------------------------------------ rendering

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
                ticket.order_type.upper(),
                *([] if ticket.is_market else [ticket.tif]),
                *flags,
            ]
        )
        self.query_one("#ticket-head", Static).update(head)
        self.set_class(ticket.is_market, "-market")
        unit = market.quote_symbol if ticket.size_in_quote else market.base_symbol
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
