"""The one number parser at the edge of the local exchange.

Every number a client sends (JSON body fields, query parameters, signature headers)
passes through here before any arithmetic touches it. ``Decimal`` and ``int`` accept
far more than Backpack does -- ``"1e999999"`` (whose margin arithmetic froze the event
loop for half a minute), ``"NaN"``, ``" 3 "``, Arabic-Indic ``"٣"``, integers of
thousands of digits -- so the accepted language is narrowed to what Backpack's own
clients send: ASCII digits with one optional point, no exponent, no whitespace, a
bounded length. Bounded text means bounded arithmetic everywhere behind it.

JSON numbers are accepted where Backpack accepts them (some clients send a price as a
float), provided their plain fixed-point rendering obeys the same bound.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from bpx_tui.sim.errors import INTEGER_BOUND, SimError, bad_request, shown

MAX_NUMBER_CHARS = 40
"""Longest decimal text accepted: far beyond any price or size, far below slow."""

MAX_INTEGER_CHARS = 20
"""Longest integer text accepted: a signed 19-digit integer (timestamps in µs fit)."""

_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INTEGER = re.compile(r"-?[0-9]+")
_PLAIN_DECIMAL = (
    f'a plain decimal like "0.01" (ASCII digits, no exponent, <= {MAX_NUMBER_CHARS} chars)'
)
_DECIMAL_BOUND = 10**MAX_NUMBER_CHARS


def _refuse(field: str, expected: str, value: object) -> SimError:
    return bad_request(f'failed to parse "{field}": expected {expected}, got {shown(value)}')


def parse_decimal(value: object, field: str, *, negative: bool = False) -> Decimal:
    """``value`` as an exact ``Decimal``, or a 400 naming ``field``.

    ``negative`` admits a leading minus; without it a negative number is a parse error,
    as Backpack's unsigned fields are.
    """
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS or _DECIMAL.fullmatch(value) is None:
            raise _refuse(field, _PLAIN_DECIMAL, value)
        result = Decimal(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= _DECIMAL_BOUND:  # compared, not printed: str() of 10**5000 raises
            raise _refuse(field, _PLAIN_DECIMAL, value)
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _refuse(field, _PLAIN_DECIMAL, value)
        # repr is the shortest text that round-trips: what the client's encoder wrote.
        result = Decimal(repr(value))
        if len(format(result, "f")) > MAX_NUMBER_CHARS:
            raise _refuse(field, _PLAIN_DECIMAL, value)
    else:
        raise _refuse(field, _PLAIN_DECIMAL, value)
    if result.is_signed() and not negative and result != 0:
        raise _refuse(field, "a non-negative decimal", value)
    return result


def parse_integer(
    value: object,
    field: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """``value`` (a JSON integer or ASCII digits) as an ``int`` within the bounds, or a 400."""
    if isinstance(value, str) and len(value) <= MAX_INTEGER_CHARS and _INTEGER.fullmatch(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise _refuse(field, f"an integer of at most {MAX_INTEGER_CHARS} ASCII digits", value)
    if abs(number) >= INTEGER_BOUND:
        raise _refuse(field, "an integer that fits 64 bits", value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "" if minimum is None else f" >= {minimum}"
        high = "" if maximum is None else f" <= {maximum}"
        joiner = " and" if low and high else ""
        raise _refuse(field, f"an integer{low}{joiner}{high}", value)
    return number


def optional_integer(value: object, field: str) -> int | None:
    """An integer parameter that may be absent or arrive as text; junk is a 400."""
    return None if value is None else parse_integer(value, field)


def page_limit(value: object, default: int, maximum: int) -> int:
    """A ``limit`` parameter: ``default`` when absent, capped at ``maximum``."""
    number = optional_integer(value, "limit")
    if number is None:
        return default
    if number < 0:
        raise bad_request("Invalid limit")
    return min(number, maximum)
