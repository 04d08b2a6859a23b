"""The order ticket's state and arithmetic, without Textual.

The ticket shows exactly what would be sent and refuses, with a sentence, anything
that cannot be sent: the text typed by the trader is parsed here into an
:class:`OrderIntent`, and the trading layer's :func:`build_order` (the one place a
market's rules are applied) makes it the :class:`NewOrder` the preview is drawn from
and Enter sends. The ticket builds *exactly*: a price off the tick is an error to fix,
not a different order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Protocol

from bpx_tui.exchange.book import FillEstimate
from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.models import Market, Order
from bpx_tui.exchange.numbers import round_to_step
from bpx_tui.exchange.vocab import TIMES_IN_FORCE, OrderType, Side, TimeInForce
from bpx_tui.trading.order import NewOrder, OrderIntent, build_order
from bpx_tui.ui import fmt

TIFS = TIMES_IN_FORCE
THOUSAND_SUFFIXES = ("k", "K")
QUOTE_CENT = Decimal("0.01")  # a quote-sized ticket is written to the cent
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
    """Fee rates from ``GET /account`` (``futuresMakerFee`` etc., read at start and on
    every reconnect). Backpack sends basis points as strings (``"2"`` is 0.02 %, see
    ``tests/fixtures/rest_account.json``); a value of 0.1 or more cannot be a fraction
    (10 %), so it is read as basis points, and a smaller one as a fraction.
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
class Exposure:
    """What the preview needs of the account to say where the order leaves it."""

    position: Decimal = Decimal(0)  # signed net quantity held in the ticket's market
    equity: Decimal | None = None  # None: unknown (no account yet), no leverage shown
    other_notional: Decimal = Decimal(0)  # |notional| at mark of every other position


@dataclass(frozen=True, slots=True)
class Preview:
    """What the ticket shows under the fields; every number the order would send."""

    quantity: Decimal | None = None  # base units
    notional: Decimal | None = None
    fee: Decimal | None = None
    average_price: Decimal | None = None  # market orders: walked from the local book
    slippage: Decimal | None = None  # fraction vs the best price on the taken side
    error: str | None = None
    quote_amount: Decimal | None = None  # the typed quote size, when sized in quote
    maker: bool = False  # rests on the book (does not cross): charged the maker fee
    marketable: bool = False  # a limit that crosses: it fills at once, as a taker
    held: Decimal = Decimal(0)  # signed position before the order (perps)
    resulting: Decimal | None = None  # signed position after a full fill (perps)
    leverage: Decimal | None = None  # account notional / equity after a full fill
    warning: str | None = None  # sendable, but the trader should know (e.g. post-only cross)


def parse_size(text: str) -> tuple[Decimal, bool]:
    """The typed size and whether it is in the quote unit.

    ``1k`` is a thousand *of the quote unit* (``1k`` on a BTC ticket is 1,000 USDC): a
    trader writes thousands of dollars that way, never thousands of coins.
    """
    stripped = text.strip()
    if stripped.endswith(THOUSAND_SUFFIXES):
        return parse_number(stripped[:-1], "size") * 1000, True
    return parse_number(stripped, "size"), False


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
    tif: TimeInForce = "GTC"
    price_joined: bool = False
    """The price is the best bid/ask the ticket joined, not one the trader chose: a
    side flip may move it to the other side's best (see :meth:`flipped`)."""

    @property
    def is_market(self) -> bool:
        return self.order_type == "Market"

    @property
    def in_quote(self) -> bool:
        """The size is a quote amount: toggled with ``u``, or written as ``1k``."""
        return self.size_in_quote or self.size.strip().endswith(THOUSAND_SUFFIXES)

    # ------------------------------------------------------------------ edits

    def toggled(self, flag: str) -> Ticket:
        if flag == "market":
            return replace(self, order_type="Limit" if self.is_market else "Market")
        if flag == "post_only":
            return replace(self, post_only=not self.post_only)
        if flag == "reduce_only":
            return replace(self, reduce_only=not self.reduce_only)
        raise ValueError(f"unknown ticket flag {flag!r}")

    def flipped(self, market: Market, joined: Decimal | None, opposite: Decimal | None) -> Ticket:
        """The same ticket on the other side (``f``).

        ``joined`` is the best price on this ticket's side now, ``opposite`` the best on
        the other. A price that still joins the book (put there by the ticket and not
        edited since, or equal to the current best) would cross the book once flipped,
        so it re-joins the other side's best; a price the trader chose is theirs and
        stays, with the preview saying whether it is now marketable.
        """
        flipped = replace(self, side="Ask" if self.side == "Bid" else "Bid")
        if not self.price.strip():
            at_best = not self.is_market  # a limit with no price yet takes the new best
        else:
            try:
                at_best = joined is not None and parse_number(self.price, "price") == joined
            except TicketError:
                at_best = False
        if opposite is None or not (self.price_joined or at_best):
            return flipped
        return replace(flipped, price=market.format_price(opposite), price_joined=True)

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
        return replace(self, price=market.format_price(price), price_joined=False)

    def converted(self, market: Market, preview: Preview) -> Ticket:
        """The same order with its size written in the other unit (``u``).

        The conversion uses the preview's own numbers (its quantity, its notional at the
        limit price or the walked average fill), so the number shown after ``u`` is the
        one the preview already showed beside the old unit; an empty size only changes
        the unit. Raises :class:`TicketError` when there is no price to convert at.
        """
        if not self.size.strip():
            return replace(self, size_in_quote=not self.in_quote)
        if preview.quantity is None or (not self.in_quote and preview.notional is None):
            reason = preview.error or "no price yet"
            raise TicketError(f"cannot convert the size: {reason}")
        if self.in_quote:
            return replace(self, size=market.format_quantity(preview.quantity), size_in_quote=False)
        assert preview.notional is not None
        quote = preview.notional.quantize(QUOTE_CENT, ROUND_DOWN)
        return replace(self, size=fmt.plain(quote), size_in_quote=True)

    def nudged_size(self, steps: int, presets: Sequence[Decimal]) -> Ticket:
        """The next/previous preset from the current size (base units)."""
        if not presets:
            return self
        try:
            current, _ = parse_size(self.size)
        except TicketError:
            current = None
        ordered = sorted(presets)
        if current is None or self.in_quote:
            index = 0 if steps > 0 else len(ordered) - 1
        elif steps > 0:
            index = next((i for i, p in enumerate(ordered) if p > current), len(ordered) - 1)
        else:
            index = next((i for i in range(len(ordered) - 1, -1, -1) if ordered[i] < current), 0)
        return replace(self, size=fmt.plain(ordered[index]), size_in_quote=False)

    # ------------------------------------------------------------------ checks

    def intent(self) -> OrderIntent:
        """What the typed fields ask for, or :class:`TicketError` when a field is not a number."""
        amount, quoted = parse_size(self.size)
        quoted = quoted or self.size_in_quote
        price = None if self.is_market else parse_number(self.price, "price")
        return OrderIntent(
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            quantity=None if quoted else amount,
            quote_quantity=amount if quoted else None,
            price=price,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            time_in_force=None if self.is_market else self.tif,
        )

    def order(self, market: Market) -> NewOrder:
        """The order Enter would send, or :class:`TicketError` saying what to change."""
        try:
            return build_order(self.intent(), market, exact=True)
        except InvalidOrder as exc:
            raise TicketError(str(exc)) from None

    def preview(
        self,
        market: Market,
        book: Walker | None,
        best_taken: Decimal | None,
        fees: Fees,
        exposure: Exposure | None = None,
    ) -> Preview:
        """Notional, fee, and where a full fill leaves the position and the account.

        ``best_taken`` is the best price on the side a market order takes (best ask
        for a buy); slippage is measured from it, and a limit order priced at or through
        it crosses the book: it pays the taker fee, not the maker fee.
        """
        try:
            intent = self.order(market).terms
        except TicketError as exc:
            return Preview(error=str(exc))
        quote_amount = intent.quote_quantity
        if not self.is_market:
            assert intent.price is not None and intent.quantity is not None
            price, size = intent.price, intent.quantity
            crosses = best_taken is not None and (
                price >= best_taken if self.side == "Bid" else price <= best_taken
            )
            warning = None
            if crosses and self.post_only:
                warning = (
                    f"post-only at or through the best {'ask' if self.side == 'Bid' else 'bid'}"
                    f" {market.format_price(best_taken or 0)}: the exchange will reject it"
                )
            notional = price * size
            if self.in_quote:
                quote_amount = parse_size(self.size)[0]
            rate = fees.taker if crosses else fees.maker
            base = Preview(
                size,
                notional,
                notional * rate,
                quote_amount=quote_amount,
                maker=not crosses,
                # A post-only that crosses is rejected, not filled: its warning says so.
                marketable=crosses and not self.post_only,
                warning=warning,
            )
            return self._with_result(base, market, price, exposure)
        if book is None or best_taken is None:
            return Preview(error="no order book yet: cannot estimate the fill")
        quantity: Decimal | None = intent.quantity
        if quantity is None:
            assert intent.quote_quantity is not None
            # An estimate for the preview only: the exchange sizes a quote order itself.
            quantity = round_to_step(intent.quote_quantity / best_taken, market.step_size, "down")
        estimate = book.estimate_fill(self.side, quantity)
        if estimate.average_price is None or estimate.filled < quantity:
            return Preview(
                quantity,
                error=f"the book holds only {estimate.filled} of {quantity} on that side",
            )
        notional = estimate.average_price * quantity
        slippage = abs(estimate.average_price - best_taken) / best_taken
        base = Preview(
            quantity,
            notional,
            notional * fees.taker,
            estimate.average_price,
            slippage,
            quote_amount=quote_amount,
        )
        return self._with_result(base, market, estimate.average_price, exposure)

    def _with_result(
        self, preview: Preview, market: Market, price: Decimal, exposure: Exposure | None
    ) -> Preview:
        """Add the position after a full fill and the account leverage it brings."""
        if exposure is None or not market.is_perp or preview.quantity is None:
            return preview
        held = exposure.position
        delta = preview.quantity if self.side == "Bid" else -preview.quantity
        after = held + delta
        warning = preview.warning
        if self.reduce_only:
            if held == 0 or (held > 0) == (delta > 0):
                warning = "reduce-only with nothing to reduce on this side: it will not fill"
                after = held
            elif (after > 0) != (held > 0):
                after = Decimal(0)  # reduce-only never flips: it stops at flat
        leverage = None
        if exposure.equity is not None and exposure.equity > 0:
            leverage = (exposure.other_notional + abs(after) * price) / exposure.equity
        return replace(preview, held=held, resulting=after, leverage=leverage, warning=warning)


def describe_result(held: Decimal, after: Decimal, base: str, decimals: int) -> str:
    """Where a full fill leaves the position, as a trader says it."""

    def side(quantity: Decimal) -> str:
        return f"{'LONG' if quantity > 0 else 'SHORT'} {fmt.num(abs(quantity), decimals)} {base}"

    if after == 0:
        return "FLAT" if held == 0 else f"FLAT (closes {side(held)})"
    if held == 0:
        return f"you will be {side(after)}"
    if (held > 0) != (after > 0):
        return f"flips you to {side(after)}"
    verb = "adds to" if abs(after) > abs(held) else "reduces to"
    return f"{verb} {side(after)}" if after != held else f"stays {side(after)}"


def answer_line(order: Order, market: Market) -> str:
    """An accepted order as the closed ticket shows it until the next one opens.

    The verb is what happened to the order (``filled`` when it filled, ``partly
    filled``, else ``accepted``) and the exchange's own status ends the line, so an IOC
    that expired unfilled reads ``accepted … · Expired``, never ``filled``. A limit
    that filled says at what average: through the book it fills better than its limit.
    """
    executed = order.executed_quantity
    if order.status == "Filled":
        verb = "filled"
    elif executed > 0:
        verb = "partly filled"
    else:
        verb = "accepted"
    if order.quantity is not None:
        size = market.format_quantity(order.quantity)
    elif order.quote_quantity is not None:
        size = f"{fmt.num(order.quote_quantity, 2)} {market.quote_symbol or 'USDC'} of"
    else:
        size = fmt.DASH
    average = order.executed_quote_quantity / executed if executed > 0 else None
    status = order.status
    if order.order_type != "Market" and order.price is not None:
        price = f"@ {fmt.num(order.price, market.price_decimals)}"
        if average is not None:  # a limit that crossed fills at the book's prices
            status += f" avg {fmt.num(average, market.price_decimals)}"
    elif average is not None:
        price = f"@ {fmt.num(average, market.price_decimals)} avg"
    else:
        price = "at market"
    words = [fmt.side_word(order.side), size, order.symbol, order.order_type, price]
    return f"✓ {verb}: {' '.join(words)} · {status}"
