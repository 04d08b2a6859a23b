"""A position's exits: which trigger orders are its take-profit and stop-loss.

Backpack does not label a trigger order as a take-profit or a stop-loss (an attached
leg carries only ``relatedOrderId``; a standalone one nothing at all), so the console
works it out, here, once, for the positions view, the ladder and ``attach_exit``:

- an exit is an open trigger order of the position's market that is reduce-only and
  on the closing side (an ``Ask`` for a long, a ``Bid`` for a short);
- it is a **take-profit** when it fires as the price moves the position's way — a
  trigger above the reference for a long, below it for a short — and a **stop-loss**
  when it fires on a move against it.

The reference is the **mark** (what the exits watch by default, and the price they fire
against), and the position's entry only when no mark is known. Measured from the entry
alone, a stop the trader moved into profit (a long's stop raised above entry, below
mark) would read as a take-profit, and replacing "the take-profit" would cancel the
position's only stop. With a fresh position (mark near entry) both readings agree. A
trigger exactly at the reference is a stop: it protects, it does not take profit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.models import Order, Position
from bpx_tui.exchange.vocab import Side, TriggerBy
from bpx_tui.trading.order import OrderIntent

ExitKind = Literal["tp", "sl"]
EXIT_NAMES: dict[ExitKind, str] = {"tp": "take-profit", "sl": "stop-loss"}


def closing_side(position: Position) -> Side:
    """The side that reduces ``position``."""
    return "Ask" if position.net_quantity > 0 else "Bid"


def reference_price(position: Position, mark: Decimal | None) -> Decimal:
    """What an exit is judged against: the mark when known, else the entry."""
    return mark if mark is not None and mark > 0 else position.entry_price


def exit_kind(order: Order, position: Position, mark: Decimal | None) -> ExitKind | None:
    """``order`` as an exit of ``position`` (see the module docstring), or None."""
    if (
        order.trigger_price is None
        or not order.is_open
        or not order.reduce_only
        or order.symbol != position.symbol
        or position.net_quantity == 0
        or order.side != closing_side(position)
    ):
        return None
    above = order.trigger_price > reference_price(position, mark)
    return "tp" if above == (position.net_quantity > 0) else "sl"


@dataclass(frozen=True, slots=True)
class Exits:
    """A position's take-profits and stop-losses, each nearest to the reference first
    (the one that fires first)."""

    tp: tuple[Order, ...] = ()
    sl: tuple[Order, ...] = ()

    def of(self, kind: ExitKind) -> tuple[Order, ...]:
        return self.tp if kind == "tp" else self.sl

    def ids(self) -> frozenset[str]:
        return frozenset(o.id for o in (*self.tp, *self.sl))


def position_exits(orders: Iterable[Order], position: Position, mark: Decimal | None) -> Exits:
    """The exits of ``position`` among ``orders`` (the open orders of the account)."""
    found: dict[ExitKind, list[Order]] = {"tp": [], "sl": []}
    for order in orders:
        kind = exit_kind(order, position, mark)
        if kind is not None:
            found[kind].append(order)
    reference = reference_price(position, mark)

    def distance(order: Order) -> Decimal:
        assert order.trigger_price is not None
        return abs(order.trigger_price - reference)

    return Exits(tuple(sorted(found["tp"], key=distance)), tuple(sorted(found["sl"], key=distance)))


def check_exit_side(kind: ExitKind, position: Position, trigger: Decimal, mark: Decimal) -> None:
    """Refuse an exit on the wrong side of the mark: it would fire at once (a long's
    take-profit below the mark is a market sell now, not a take-profit)."""
    long = position.net_quantity > 0
    up = long == (kind == "tp")
    if trigger > mark if up else trigger < mark:
        return
    where = "above" if up else "below"
    holding = "long" if long else "short"
    raise InvalidOrder(
        f"a {EXIT_NAMES[kind]} on a {holding} must be {where} the mark {mark} "
        f"(got {trigger}): it would fire at once"
    )


def exit_intent(position: Position, trigger: Decimal, trigger_by: TriggerBy | None) -> OrderIntent:
    """One reduce-only market-on-trigger order for the whole position, closing side."""
    return OrderIntent(
        symbol=position.symbol,
        side=closing_side(position),
        order_type="Market",
        quantity=abs(position.net_quantity),
        reduce_only=True,
        trigger_price=trigger,
        trigger_by=trigger_by,
    )


@dataclass
class ExitPlaced:
    """What ``OrderService.attach_exit`` did: the new exit, the ones it replaced, and the
    old ones it could not cancel (the position then has both until they are)."""

    kind: ExitKind
    order: Order
    replaced: list[Order] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
