"""The order ticket's state and arithmetic, without Textual.

The ticket shows exactly what would be sent and refuses, with a sentence, anything
that cannot be sent: the text typed by the trader is parsed here, checked against the
market's tick/step/minimum, and only then turned into an :class:`OrderIntent` for the
trading layer (which adds the risk checks). Nothing is rounded silently: a price off
the tick is an error to fix, not a different order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Literal, Protocol

from bpx_tui.exchange.book import FillEstimate
from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.models import Market
from bpx_tui.exchange.numbers import round_to_step
from bpx_tui.trading.risk import OrderIntent
from bpx_tui.ui import fmt

Side = Literal["Bid", "Ask"]
OrderType = Literal["Limit", "Market"]
TIFS = ("GTC", "IOC", "FOK")
DEFAULT_MAKER_FEE = Decimal("0.0002")
DEFAULT_TAKER_FEE = Decimal("0.0005")


class TicketError(ValueError):
    """The ticket cannot be sent as it stands; the text says what to change."""


class Walker(Protocol):
    def estimate_fill(self, side: Side, quantity: Decimal) -> FillEstimate: ...


@dataclass(frozen=True, slots=True)
class Fees:
    maker: Decimal = DEFAULT_MAKER_FEE
    taker: Decimal = DEFAULT_TAKER_FEE
    known: bool = False  # False: defaults, shown as an estimate


def fees_from_account(account: dict[str, object], perp: bool) -> Fees:
    """Fee rates from ``GET /account``; its units are uncertain (backpack-api.md §4.9).

    A value of 0.1 or more cannot be a fraction (10 %), so it is read as basis points.
    """
    prefix = "futures" if perp else "spot"

    def rate(name: str, default: Decimal) -> tuple[Decimal, bool]:
        raw = account.get(f"{prefix}{name}Fee")
        try:
            value = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            return default, False
        if not value.is_finite() or value < 0:
            return default, False
        return (value / 10_000 if value >= Decimal("0.1") else value), True

    maker, known_maker = rate("Maker", DEFAULT_MAKER_FEE)
    taker, known_taker = rate("Taker", DEFAULT_TAKER_FEE)
    return Fees(maker, taker, known_maker and known_taker)


@dataclass(frozen=True, slots=True)
class Preview:
    """What the ticket shows under the fields."""

    quantity: Decimal | None = None  # base units
    notional: Decimal | None = None
    fee: Decimal | None = None
    average_price: Decimal | None = None  # market orders: walked from the local book
    slippage: Decimal | None = None  # fraction vs the best price on the taken side
    error: str | None = None


def parse_number(text: str, what: str) -> Decimal:
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned:
        raise TicketError(f"enter a {what}")
    try:
        value = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        raise TicketError(f"{what} {text.strip()!r} is not a number") from None
    if not value.is_finite():
        raise TicketError(f"{what} {text.strip()!r} is not a number")
    if value <= 0:
        raise TicketError(f"{what} must be positive, got {text.strip()}")
    return value


@dataclass(frozen=True, slots=True)
class Ticket:
    """Immutable: every key press makes a new ticket, so a render never sees half an edit."""

    symbol: str
    side: Side = "Bid"
    order_type: OrderType = "Limit"
    price: str = ""
    size: str = ""
    size_in_quote: bool = False
    post_only: bool = False
    reduce_only: bool = False
    tif: str = "GTC"

    @property
    def is_market(self) -> bool:
        return self.order_type == "Market"

    # ------------------------------------------------------------------ edits

    def toggled(self, flag: str) -> Ticket:
        if flag == "market":
            return replace(self, order_type="Limit" if self.is_market else "Market")
        if flag == "quote":
            return replace(self, size_in_quote=not self.size_in_quote)
        if flag == "post_only":
            return replace(self, post_only=not self.post_only)
        if flag == "reduce_only":
            return replace(self, reduce_only=not self.reduce_only)
        raise ValueError(f"unknown ticket flag {flag!r}")

    def next_tif(self) -> Ticket:
        return replace(
            self, tif=TIFS[(TIFS.index(self.tif) + 1) % len(TIFS)] if self.tif in TIFS else "GTC"
        )

    def nudged_price(self, ticks: int, market: Market, fallback: Decimal | None) -> Ticket:
        """Price moved by whole ticks (from the typed price, else ``fallback``)."""
        try:
            base = parse_number(self.price, "price")
        except TicketError:
            if fallback is None:
                return self
            base = fallback
        price = round_to_step(base, market.tick_size, "nearest") + market.tick_size * ticks
        if price <= 0:
            return self
        return replace(self, price=market.format_price(price))

    def nudged_size(self, steps: int, presets: Sequence[Decimal]) -> Ticket:
        """The next/previous preset from the current size (base units)."""
        if not presets:
            return self
        try:
            current = parse_number(self.size, "size")
        except TicketError:
            current = None
        ordered = sorted(presets)
        if current is None or self.size_in_quote:
            index = 0 if steps > 0 else len(ordered) - 1
        elif steps > 0:
            index = next((i for i, p in enumerate(ordered) if p > current), len(ordered) - 1)
        else:
            index = next((i for i in range(len(ordered) - 1, -1, -1) if ordered[i] < current), 0)
        return replace(self, size=fmt.plain(ordered[index]), size_in_quote=False)

    # ------------------------------------------------------------------ checks

    def intent(self, market: Market) -> OrderIntent:
        """The order to send, or :class:`TicketError` explaining what is wrong."""
        if self.is_market and self.post_only:
            raise TicketError("post-only applies to limit orders; press p to turn it off")
        if self.post_only and self.tif != "GTC":
            raise TicketError(f"post-only cannot be {self.tif}; press t for GTC")
        if self.reduce_only and not market.is_perp:
            raise TicketError(f"{market.symbol} is spot: reduce-only applies to perps; press r")
        amount = parse_number(self.size, "size")
        try:
            if self.is_market:
                if self.size_in_quote:
                    return self._build(quote_quantity=amount)
                market.check_quantity(amount)
                return self._build(quantity=amount)
            price = parse_number(self.price, "price")
            market.check_price(price)
            if self.size_in_quote:
                quantity = round_to_step(amount / price, market.step_size, "down")
            else:
                quantity = amount
            market.check_quantity(quantity)
            return self._build(quantity=quantity, price=price)
        except InvalidOrder as exc:
            raise TicketError(str(exc)) from None

    def _build(
        self,
        *,
        quantity: Decimal | None = None,
        quote_quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> OrderIntent:
        return OrderIntent(
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            quantity=quantity,
            quote_quantity=quote_quantity,
            price=price,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            time_in_force=None if self.is_market else self.tif,
        )

    def preview(
        self,
        market: Market,
        book: Walker | None,
        best_taken: Decimal | None,
        fees: Fees,
    ) -> Preview:
        """Notional and fee; for market orders the average fill and slippage.

        ``best_taken`` is the best price on the side a market order takes (best ask
        for a buy); slippage is measured from it.
        """
        try:
            intent = self.intent(market)
        except TicketError as exc:
            return Preview(error=str(exc))
        if not self.is_market:
            assert intent.price is not None and intent.quantity is not None
            notional = intent.price * intent.quantity
            rate = fees.maker if self.post_only else fees.taker
            return Preview(intent.quantity, notional, notional * rate)
        if book is None or best_taken is None:
            return Preview(error="no order book yet: cannot estimate the fill")
        quantity = intent.quantity
        if quantity is None:
            assert intent.quote_quantity is not None
            quantity = round_to_step(intent.quote_quantity / best_taken, market.step_size, "down")
        estimate = book.estimate_fill(self.side, quantity)
        if estimate.average_price is None or estimate.filled < quantity:
            return Preview(
                quantity,
                error=f"the book holds only {estimate.filled} of {quantity} on that side",
            )
        notional = estimate.average_price * quantity
        slippage = abs(estimate.average_price - best_taken) / best_taken
        return Preview(quantity, notional, notional * fees.taker, estimate.average_price, slippage)
