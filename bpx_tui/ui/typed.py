"""Numbers and exit levels as a trader types them, without Textual.

The ticket's fields and the ``:`` command line read the same words (``97000``,
``1,000``, ``+1%``), so they read them here, once: a typed number is a positive
:class:`~decimal.Decimal` or a :class:`TypedError` saying what is wrong with it, and a
take-profit / stop-loss is a :class:`Level`, a price or a distance from the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from bpx_tui.exchange.models import Market
from bpx_tui.exchange.vocab import Side

ExitKind = Literal["tp", "sl"]
EXIT_NAMES: dict[ExitKind, str] = {"tp": "take-profit", "sl": "stop-loss"}
HUNDRED = Decimal(100)


class TypedError(ValueError):
    """What the trader typed is not a usable value; the text says why."""


def parse_positive(text: str, what: str) -> Decimal:
    """A positive finite number; thousands separators (``,`` ``_``) are allowed."""
    stripped = text.strip()
    cleaned = stripped.replace(",", "").replace("_", "")
    if not cleaned:
        raise TypedError(f"enter a {what}")
    try:
        value = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        raise TypedError(f"{what} {stripped!r} is not a number") from None
    if not value.is_finite():
        raise TypedError(f"{what} {stripped!r} is not a number")
    if value <= 0:
        raise TypedError(f"{what} must be positive, got {stripped}")
    return value


@dataclass(frozen=True, slots=True)
class Level:
    """A take-profit or stop-loss as written: a price, or a distance in percent.

    The distance is always toward what the exit is for (a gain for a take-profit, a
    loss for a stop-loss), so ``+1%`` is above a buy's entry and below a sell's: the
    trader says how much, the side says which way.
    """

    kind: ExitKind
    price: Decimal | None = None
    percent: Decimal | None = None  # 0 < percent < 100

    @property
    def relative(self) -> bool:
        return self.percent is not None

    def resolve(self, side: Side, entry: Decimal | None, market: Market) -> Decimal:
        """The trigger price, on ``market``'s tick (nearest) when measured from ``entry``."""
        if self.price is not None:
            return self.price
        assert self.percent is not None
        if entry is None:
            raise TypedError(
                f"{EXIT_NAMES[self.kind]} {self.percent}%: no entry price yet to measure it from"
            )
        up = (side == "Bid") == (self.kind == "tp")
        factor = 1 + self.percent / HUNDRED if up else 1 - self.percent / HUNDRED
        return market.round_price(entry * factor, "nearest")


def parse_level(text: str, kind: ExitKind) -> Level:
    """``97500``, ``1%``, ``+1%`` (take-profit) or ``-1%`` (stop-loss) into a :class:`Level`."""
    name = EXIT_NAMES[kind]
    stripped = text.strip()
    if not stripped.endswith("%"):
        if stripped[:1] in ("+", "-"):
            raise TypedError(f"{name} {stripped!r}: write a price, or a distance such as 1%")
        return Level(kind, price=parse_positive(stripped, f"{name} price"))
    body = stripped[:-1].strip()
    sign = body[:1]
    wrong = "-" if kind == "tp" else "+"
    if sign == wrong:
        right = "+" if kind == "tp" else "-"
        gain = "a gain" if kind == "tp" else "a loss"
        raise TypedError(f"a {name} is {gain}: write {right}{body[1:]}% (or {body[1:]}%)")
    if sign in ("+", "-"):
        body = body[1:]
    percent = parse_positive(body, f"{name} distance")
    if percent >= HUNDRED:
        raise TypedError(f"{name} {stripped}: a distance must be under 100%")
    return Level(kind, percent=percent)
