"""Pre-trade checks: the last line between a key press and a live order.

Pure and synchronous (no I/O, no clock reads) so every rule is unit-testable and the
check costs microseconds on the order path. The caller builds a :class:`MarketSnapshot`
from the client's caches; :func:`check` reads the order exactly as it will be sent (a
:class:`~bpx_tui.trading.order.NewOrder`, already on the market's grid) and refuses
with :class:`RiskRejected`, whose text is shown to the trader as is.

Policy (docs/ARCHITECTURE.md "Safety model"):

* Orders that only *reduce* the position (reduce-only, or opposite to the position and
  no larger than it) skip the notional, stale-data, slippage and kill-switch checks:
  getting out must never be blocked by a local estimate or a stale feed.
* Everything else is new risk and must pass every check, on fresh data.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bpx_tui.exchange.book import FillEstimate
from bpx_tui.exchange.models import Market, Order
from bpx_tui.exchange.numbers import wire
from bpx_tui.exchange.vocab import Side
from bpx_tui.trading.order import NewOrder, OrderIntent

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class RiskRejected(Exception):
    """A pre-trade check refused an order; ``limit`` names the rule (a config key)."""

    def __init__(self, reason: str, limit: str) -> None:
        self.reason = reason
        self.limit = limit
        super().__init__(reason)


class DuplicateSubmit(Exception):
    """A submit for the same key is still in flight (a held-down key, a double Enter)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"an order for {key} is already being sent; wait for its answer")


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits for one market. Notionals are in the quote currency (USDC); percentages are
    percent (``5`` means 5 %)."""

    max_order_notional: Decimal = Decimal(50_000)
    max_position_notional: Decimal = Decimal(250_000)
    price_band_pct: Decimal = Decimal(5)
    max_slippage_pct: Decimal = Decimal(1)
    stale_after_s: float = 5.0


class FillEstimator(Protocol):
    """The slice of :class:`bpx_tui.exchange.book.OrderBook` the slippage check walks."""

    def estimate_fill(self, side: Side, quantity: Decimal) -> FillEstimate: ...


FillFunction = Callable[[Side, Decimal], FillEstimate]


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Everything :func:`check` looks at, captured at one instant by the caller."""

    market: Market
    mark_price: Decimal | None
    mark_age_s: float | None
    book_synced: bool
    book: FillEstimator | FillFunction | None  # the local book, or its estimate_fill
    position_quantity: Decimal = ZERO  # signed: > 0 long, < 0 short
    base_available: Decimal | None = None  # spot: the base asset free to sell (None: perp)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _plain(value: Decimal) -> str:
    """A quantity as a trader writes it: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


def _pct(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))} %"


def _base_quantity(intent: OrderIntent, snapshot: MarketSnapshot) -> Decimal | None:
    """Base quantity of the order; a quote-sized market order is converted at mark."""
    if intent.quantity is not None:
        return intent.quantity
    if intent.quote_quantity is not None and snapshot.mark_price:
        return intent.quote_quantity / snapshot.mark_price
    return None


def is_reducing(order: NewOrder, snapshot: MarketSnapshot) -> bool:
    """True when the order can only shrink the position (never open or flip it)."""
    return _reduces(order.terms, snapshot)


def adds_risk(order: Order, position: Decimal) -> bool:
    """True when a resting ``order`` could open or grow a position if it filled: not
    reduce-only, and not an opposite-side order no larger than ``position`` (the net
    quantity of its market). The rule of :func:`is_reducing`, for an order that is
    already working (a trigger order's size is its trigger quantity; a share of the
    position, ``"50%"``, is judged as if it were no larger)."""
    if order.reduce_only:
        return False
    if position == 0 or (position > 0) != (order.side == "Ask"):
        return True
    size = order.unfilled
    if size is None:  # a share of the position cannot outgrow it; an unknown size can
        return not (order.trigger_quantity or "").endswith("%")
    return size > abs(position)


def _reduces(intent: OrderIntent, snapshot: MarketSnapshot) -> bool:
    if intent.reduce_only:
        return True
    position = snapshot.position_quantity
    if position == 0:
        return False
    if (position > 0) != (intent.side == "Ask"):
        return False
    quantity = _base_quantity(intent, snapshot)
    return quantity is not None and quantity <= abs(position)


def _check_fresh(intent: OrderIntent, snapshot: MarketSnapshot, limits: RiskLimits) -> Decimal:
    """Refuse new risk on data the trader cannot trust; returns the mark price."""
    symbol = intent.symbol
    if snapshot.book is None:
        raise RiskRejected(
            f"{symbol}: no live order book (is the market watched?); new orders are blocked",
            "stale_after_s",
        )
    if not snapshot.book_synced:
        raise RiskRejected(
            f"{symbol}: the order book is resyncing; new orders wait until it is live again",
            "stale_after_s",
        )
    if snapshot.mark_price is None or snapshot.mark_price <= 0:
        raise RiskRejected(f"{symbol}: no mark price yet; new orders are blocked", "stale_after_s")
    if snapshot.mark_age_s is None or snapshot.mark_age_s > limits.stale_after_s:
        age = "unknown" if snapshot.mark_age_s is None else f"{snapshot.mark_age_s:.1f} s"
        raise RiskRejected(
            f"{symbol}: the mark price is stale ({age} old, limit {limits.stale_after_s:g} s); "
            "new orders are blocked",
            "stale_after_s",
        )
    return snapshot.mark_price


# The price band and the slippage cap are one rule (how far a price is from mark, in
# percent) on two prices: the limit price, and a market order's estimated average fill.
_BAND = "{symbol}: limit price {price} is {distance} from mark {mark} (band {cap})"
_SLIPPAGE = (
    "{symbol}: estimated slippage {distance} (average {average}, worst {worst}, mark {mark}) "
    "is above the cap of {cap}"
)


def _check_off_mark(
    intent: OrderIntent,
    price: Decimal,
    mark: Decimal,
    cap: Decimal,
    limit: str,
    message: str,
    /,
    **shown: object,
) -> None:
    """Refuse when ``price`` is more than ``cap`` percent from ``mark``.

    The message is formatted only on a refusal: an order that passes, the common case on
    the order path, pays for one division.
    """
    distance = abs(price - mark) / mark * HUNDRED
    if distance > cap:
        text = message.format(
            symbol=intent.symbol, distance=_pct(distance), mark=mark, cap=_pct(cap), **shown
        )
        raise RiskRejected(text, limit)


def _check_band(intent: OrderIntent, mark: Decimal, limits: RiskLimits) -> None:
    assert intent.price is not None
    _check_off_mark(
        intent,
        intent.price,
        mark,
        limits.price_band_pct,
        "price_band_pct",
        _BAND,
        price=wire(intent.price),
    )


def _market_fill_price(
    intent: OrderIntent, snapshot: MarketSnapshot, mark: Decimal, limits: RiskLimits
) -> Decimal:
    """Walk the local book; refuse a thin book or a fill too far from mark."""
    quantity = _base_quantity(intent, snapshot)
    assert quantity is not None
    book = snapshot.book
    assert book is not None  # _check_fresh refused a missing book
    estimate = (
        book.estimate_fill(intent.side, quantity)
        if hasattr(book, "estimate_fill")
        else book(intent.side, quantity)
    )
    if estimate.filled < quantity or estimate.average_price is None:
        taking = "ask" if intent.side == "Bid" else "bid"
        raise RiskRejected(
            f"{intent.symbol}: the book is too thin: only {wire(estimate.filled)} of "
            f"{wire(quantity)} "
            f"available on the {taking} side",
            "max_slippage_pct",
        )
    _check_off_mark(
        intent,
        estimate.average_price,
        mark,
        limits.max_slippage_pct,
        "max_slippage_pct",
        _SLIPPAGE,
        average=estimate.average_price,
        worst=estimate.worst_price,
    )
    return estimate.average_price


def check(
    order: NewOrder,
    snapshot: MarketSnapshot,
    limits: RiskLimits,
    *,
    halted: str | None = None,
) -> None:
    """Raise :class:`RiskRejected` unless the order may be sent.

    ``halted`` is the kill switch's reason when it is active (see :class:`RiskGate`).
    The order's shape (flags, sizes, grid) was settled when it was built; only the
    market and the account are judged here.
    """
    intent = order.terms
    if _reduces(intent, snapshot):
        if intent.order_type == "Limit" and snapshot.mark_price and snapshot.book_synced:
            _check_band(intent, snapshot.mark_price, limits)
        return
    if halted is not None:
        raise RiskRejected(
            f"trading is halted: {halted}; only reducing orders go out", "kill_switch"
        )
    mark = _check_fresh(intent, snapshot, limits)
    if intent.order_type == "Limit":
        _check_band(intent, mark, limits)
        assert intent.price is not None
        price = intent.price
    else:
        price = _market_fill_price(intent, snapshot, mark, limits)
    quantity = _base_quantity(intent, snapshot)
    assert quantity is not None
    notional = (
        intent.quote_quantity
        if intent.quote_quantity is not None and intent.quantity is None
        else quantity * price
    )
    if notional > limits.max_order_notional:
        raise RiskRejected(
            f"{intent.symbol}: order notional {_money(notional)} is above the limit of "
            f"{_money(limits.max_order_notional)}",
            "max_order_notional",
        )
    available = snapshot.base_available
    if available is not None and intent.side == "Ask" and quantity > available:
        base = snapshot.market.base_symbol
        raise RiskRejected(
            f"{intent.symbol}: selling {_plain(quantity)} {base} but only "
            f"{_plain(available)} {base} is available (spot sells are capped by "
            "the balance)",
            "spot_balance",
        )
    signed = quantity if intent.side == "Bid" else -quantity
    after = abs(snapshot.position_quantity + signed) * mark
    if after > limits.max_position_notional:
        raise RiskRejected(
            f"{intent.symbol}: the position would be {_money(after)} notional after this order, "
            f"above the limit of {_money(limits.max_position_notional)}",
            "max_position_notional",
        )


class RiskGate:
    """Process-wide safety state: the kill switch, in-flight submits, blocked markets.

    A market is blocked after an order on it ended with an unknown outcome: nothing new
    goes out there until the journal has reconciled that order with the exchange.
    """

    def __init__(self) -> None:
        self._halt_reason: str | None = None
        self._in_flight: set[str] = set()
        self._blocked: dict[str, str] = {}

    @property
    def halted(self) -> bool:
        return self._halt_reason is not None

    @property
    def halt_reason(self) -> str | None:
        return self._halt_reason

    def halt(self, reason: str) -> None:
        self._halt_reason = reason or "kill switch"

    def resume(self) -> None:
        self._halt_reason = None

    def block(self, symbol: str, reason: str) -> None:
        self._blocked[symbol] = reason

    def unblock(self, symbol: str) -> None:
        self._blocked.pop(symbol, None)

    def blocked(self, symbol: str) -> str | None:
        return self._blocked.get(symbol)

    def in_flight(self, key: str) -> bool:
        return key in self._in_flight

    @contextlib.asynccontextmanager
    async def submitting(self, key: str) -> AsyncIterator[None]:
        """Hold ``key`` for the duration of one submit; a second one raises at once."""
        if key in self._in_flight:
            raise DuplicateSubmit(key)
        self._in_flight.add(key)
        try:
            yield
        finally:
            self._in_flight.discard(key)

    def check(self, order: NewOrder, snapshot: MarketSnapshot, limits: RiskLimits) -> None:
        """:func:`check` plus the gate's own state (kill switch, blocked market)."""
        reason = self._blocked.get(order.symbol)
        if reason is not None and not is_reducing(order, snapshot):
            raise RiskRejected(
                f"{order.symbol}: {reason}; new orders wait until it is reconciled",
                "unresolved_order",
            )
        check(order, snapshot, limits, halted=self._halt_reason)
