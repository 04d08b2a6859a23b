"""Exact decimal handling for the order path.

Backpack rejects a price or quantity with more decimals than the market's tick or
step ("Price decimal too long"), and a float such as ``0.1 + 0.2`` would put
``0.30000000000000004`` on the wire. Everything that is sent therefore goes
through :func:`to_decimal` (which reads floats through ``repr``, the shortest
round-tripping text) and :func:`wire`, which never emits an exponent.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation
from typing import Literal

Number = Decimal | float | int | str

RoundingMode = Literal["nearest", "down", "up"]
_ROUNDING = {"nearest": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}


class NumberError(ValueError):
    """A value cannot be turned into an exact, finite decimal."""


def to_decimal(value: Number | None, what: str = "value") -> Decimal:
    """Convert user or API input to a finite ``Decimal``.

    Floats go through ``repr`` so that ``0.1`` becomes ``Decimal("0.1")`` and not
    the 55-digit binary expansion.
    """
    if value is None:
        raise NumberError(f"{what} is missing")
    if isinstance(value, bool):
        raise NumberError(f"{what} must be a number, not a boolean")
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, float):
            result = Decimal(repr(value))
        elif isinstance(value, int):
            result = Decimal(value)
        elif isinstance(value, str):
            result = Decimal(value.strip())
        else:
            raise NumberError(f"{what} must be a number, got {type(value).__name__}")
    except InvalidOperation:
        raise NumberError(f"{what} is not a number: {value!r}") from None
    if not result.is_finite():
        raise NumberError(f"{what} must be finite, got {value!r}")
    return result


def wire(value: Decimal) -> str:
    """Render a decimal as Backpack expects it on the wire: plain digits, no exponent.

    Trailing zeros after the point are dropped (``"0.010"`` -> ``"0.01"``) so that
    what we sign is the shortest exact text; ``-0`` becomes ``0``.
    """
    if not value.is_finite():
        raise NumberError(f"cannot send a non-finite number: {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def decimals_of(step: Decimal) -> int:
    """How many decimal places a tick or step size allows."""
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def round_to_step(value: Decimal, step: Decimal, mode: RoundingMode = "nearest") -> Decimal:
    """Round ``value`` to a multiple of ``step`` (a tick or a lot size)."""
    if step <= 0:
        return value
    units = (value / step).to_integral_value(rounding=_ROUNDING[mode])
    return (units * step).quantize(step) if step == step.normalize() else units * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` lies exactly on the ``step`` grid."""
    if step <= 0:
        return True
    return (value / step) == (value / step).to_integral_value()


def parse_decimal(value: object, default: Decimal | None = None) -> Decimal | None:
    """Lenient parse for exchange payloads: strings, ints, floats; ``None``/junk -> default.

    Backpack sometimes sends ``"N/A"`` or JSON numbers where strings are documented;
    a display value must never crash the reader.
    """
    if value is None or isinstance(value, bool):
        return default
    try:
        if isinstance(value, float):
            return Decimal(repr(value))
        if isinstance(value, int | str | Decimal):
            result = Decimal(value) if not isinstance(value, str) else Decimal(value.strip())
            return result if result.is_finite() else default
    except InvalidOperation:
        return default
    return default


def parse_int(value: object, default: int | None = None) -> int | None:
    """Parse an integer that may arrive as a JSON number or a string (WS ``E``/``T``/``u``)."""
    if value is None or isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        if isinstance(value, str):
            return int(value.strip())
        if isinstance(value, float) and value.is_integer():
            return int(value)
    except ValueError:
        return default
    return default
