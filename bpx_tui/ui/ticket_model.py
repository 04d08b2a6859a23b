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
from typing import Literal, Protocol

from bpx_tui.exchange.book import FillEstimate
from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.models import Market, Order
from bpx_tui.exchange.numbers import round_to_step
from bpx_tui.exchange.vocab import TIMES_IN_FORCE, OrderType, Side, TimeInForce, TriggerBy
from bpx_tui.trading.order import Exit, NewOrder, OrderIntent, build_order, check_exits
from bpx_tui.ui import fmt
from bpx_tui.ui.typed import ExitKind, TypedError, parse_level, parse_positive

TIFS = TIMES_IN_FORCE
THOUSAND_SUFFIXES = ("k", "K")
QUOTE_CENT = Decimal("0.01")  # a quote-sized ticket is written to the cent
DEFAULT_MAKER_FEE = Decimal("0.0002")
DEFAULT_TAKER_FEE = Decimal("0.0005")

Kind = Literal["limit", "market", "stop-market", "stop-limit"]
KINDS: tuple[Kind, ...] = ("limit", "market", "stop-market", "stop-limit")
"""The order types ``m`` cycles through, in that order."""


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
class ExitPreview:
    """A take-profit or stop-loss as it would be placed, and what it makes or loses."""

    kind: ExitKind
    trigger: Decimal
    limit: Decimal | None  # None: it fires as a market order
    trigger_by: TriggerBy | None
    distance: Decimal  # (trigger - entry) / entry, signed
    pnl: Decimal | None  # at the exit's price, after the entry's and the exit's fees


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
    entry: Decimal | None = None  # the price the exits are measured from (limit, fill, trigger)
    trigger: Decimal | None = None  # a stop entry's trigger price
    trigger_rises: bool | None = None  # the stop fires on a rise to its trigger (else a fall)
    take_profit: ExitPreview | None = None
    stop_loss: ExitPreview | None = None


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
    try:
        return parse_positive(text, what)
    except TypedError as exc:
        raise TicketError(str(exc)) from None


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
    stop: bool = False  # a stop entry: it waits off the book until ``trigger`` is reached
    trigger: str = ""
    take_profit: str = ""  # a price, or a distance from the entry such as +1%
    tp_limit: str = ""  # empty: the take-profit fires as a market order
    stop_loss: str = ""
    sl_limit: str = ""
    trigger_by: TriggerBy = "MarkPrice"  # what the exits and a stop watch (config)

    @property
    def is_market(self) -> bool:
        """No limit price: a market order or a stop-market."""
        return self.order_type == "Market"

    @property
    def kind(self) -> Kind:
        if self.stop:
            return "stop-market" if self.is_market else "stop-limit"
        return "market" if self.is_market else "limit"

    @property
    def has_exits(self) -> bool:
        return bool(self.take_profit.strip() or self.stop_loss.strip())

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

    def with_text(self, name: str, value: str) -> Ticket:
        """One of the stop / exit fields as typed (``trigger``, ``take_profit`` …)."""
        if name == "trigger":
            return replace(self, trigger=value)
        if name == "take_profit":
            return replace(self, take_profit=value)
        if name == "tp_limit":
            return replace(self, tp_limit=value)
        if name == "stop_loss":
            return replace(self, stop_loss=value)
        if name == "sl_limit":
            return replace(self, sl_limit=value)
        raise ValueError(f"unknown ticket field {name!r}")

    def with_kind(self, kind: Kind) -> Ticket:
        order_type: OrderType = "Market" if kind in ("market", "stop-market") else "Limit"
        return replace(self, order_type=order_type, stop=kind.startswith("stop"))

    def next_kind(self) -> Ticket:
        """``m``: limit → market → stop-market → stop-limit → limit."""
        return self.with_kind(KINDS[(KINDS.index(self.kind) + 1) % len(KINDS)])

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

    def intent(self, market: Market, entry: Decimal | None = None) -> OrderIntent:
        """What the typed fields ask for, or :class:`TicketError` when a field is not a number.

        A take-profit / stop-loss written as a distance (``+1%``) is measured from the
        limit price, else a stop's trigger, else ``entry`` (a market order's estimated
        average fill, the number its preview shows), and put on the tick.
        """
        amount, quoted = parse_size(self.size)
        quoted = quoted or self.size_in_quote
        price = None if self.is_market else parse_number(self.price, "price")
        trigger = parse_number(self.trigger, "trigger price") if self.stop else None
        reference = price or trigger or entry
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
            trigger_price=trigger,
            trigger_by=self.trigger_by if self.stop else None,
            take_profit=self._exit("tp", self.take_profit, self.tp_limit, reference, market),
            stop_loss=self._exit("sl", self.stop_loss, self.sl_limit, reference, market),
        )

    def _exit(
        self, kind: ExitKind, text: str, limit: str, entry: Decimal | None, market: Market
    ) -> Exit | None:
        name = "take-profit" if kind == "tp" else "stop-loss"
        if not text.strip():
            if limit.strip():
                raise TicketError(f"a {name} limit price needs a {name} trigger")
            return None
        try:
            trigger = parse_level(text, kind).resolve(self.side, entry, market)
        except (TypedError, InvalidOrder) as exc:
            raise TicketError(str(exc)) from None
        return Exit(
            trigger_price=trigger,
            limit_price=parse_number(limit, f"{name} limit price") if limit.strip() else None,
            trigger_by=self.trigger_by,
        )

    def order(self, market: Market, entry: Decimal | None = None) -> NewOrder:
        """The order Enter would send, or :class:`TicketError` saying what to change.

        ``entry`` is a market order's estimated fill: its exits are measured from it
        and checked against it (a limit's are checked against the limit price).
        """
        try:
            order = build_order(self.intent(market, entry), market, exact=True)
            terms = order.terms
            if terms.order_type == "Market" and terms.trigger_price is None and entry:
                check_exits(terms.side, entry, terms.take_profit, terms.stop_loss)
            return order
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
        """Notional, fee, where a full fill leaves the position and the account, and
        the take-profit / stop-loss prices with what each makes or loses.

        ``best_taken`` is the best price on the side a market order takes (best ask
        for a buy); slippage is measured from it, and a limit order priced at or through
        it crosses the book: it pays the taker fee, not the maker fee.
        """
        bare = replace(self, take_profit="", tp_limit="", stop_loss="", sl_limit="")
        base = bare._entry_preview(market, book, best_taken, fees, exposure)
        if base.error is not None or not (self.has_exits or self.tp_limit or self.sl_limit):
            return base
        try:
            terms = self.order(market, base.entry).terms
        except TicketError as exc:
            return replace(base, error=str(exc))
        return replace(
            base,
            take_profit=self._exit_preview("tp", terms.take_profit, base, fees),
            stop_loss=self._exit_preview("sl", terms.stop_loss, base, fees),
        )

    def _exit_preview(
        self, kind: ExitKind, exit_: Exit | None, base: Preview, fees: Fees
    ) -> ExitPreview | None:
        if exit_ is None or base.entry is None:
            return None
        entry = base.entry
        price = exit_.limit_price or exit_.trigger_price
        pnl = None
        if base.quantity is not None:
            direction = 1 if self.side == "Bid" else -1
            gross = direction * (price - entry) * base.quantity
            pnl = gross - (base.fee or 0) - price * base.quantity * fees.taker
        return ExitPreview(
            kind,
            exit_.trigger_price,
            exit_.limit_price,
            exit_.trigger_by,
            (exit_.trigger_price - entry) / entry,
            pnl,
        )

    def _entry_preview(
        self,
        market: Market,
        book: Walker | None,
        best_taken: Decimal | None,
        fees: Fees,
        exposure: Exposure | None,
    ) -> Preview:
        """The preview of the entry alone (no exits)."""
        try:
            intent = self.order(market).terms
        except TicketError as exc:
            return Preview(error=str(exc))
        if self.stop:
            return self._stop_preview(intent, market, best_taken, fees, exposure)
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
                entry=price,
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
            entry=estimate.average_price,
        )
        return self._with_result(base, market, estimate.average_price, exposure)

    def _stop_preview(
        self,
        intent: OrderIntent,
        market: Market,
        best_taken: Decimal | None,
        fees: Fees,
        exposure: Exposure | None,
    ) -> Preview:
        """A stop entry: nothing happens until the trigger, so it is priced there (a
        stop-market) or at its limit (a stop-limit), and charged the taker fee, as an
        order that fires into a moving market most likely takes."""
        trigger = intent.trigger_price
        assert trigger is not None and intent.quantity is not None
        price = intent.price if intent.price is not None else trigger
        notional = price * intent.quantity
        rises = None if best_taken is None else trigger >= best_taken
        base = Preview(
            intent.quantity,
            notional,
            notional * fees.taker,
            entry=price,
            trigger=trigger,
            trigger_rises=rises,
        )
        return self._with_result(base, market, price, exposure)

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
