"""Text formatting for the console: one place decides how numbers look on screen.

Widgets never format money themselves, so a price shows the same digits in the
watchlist, the ladder, the ticket and the positions table.
"""

from __future__ import annotations

import time
from decimal import Decimal

DASH = "—"
HOUR_MS = 3_600_000
YEAR_MS = 365 * 24 * HOUR_MS


def num(value: Decimal | float | None, decimals: int = 2, *, sign: bool = False) -> str:
    """A number with thousands separators; ``—`` when unknown."""
    if value is None:
        return DASH
    spec = f"{'+' if sign else ''},.{max(0, decimals)}f"
    return format(value, spec)


def plain(value: Decimal) -> str:
    """An exact decimal without trailing zeros or exponent (``0.00010`` -> ``0.0001``)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def exact(value: Decimal | str | None) -> str:
    """A number with thousands separators and exactly the digits it came with
    (``97003.70`` -> ``97,003.70``): for values quoted from the exchange, whose
    precision is part of the message. Text that is not a number comes back as it is."""
    if value is None or value == "":
        return ""
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except ArithmeticError:
        return str(value)
    if not number.is_finite():
        return str(value)
    exponent = number.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return num(number, decimals)


def pct(fraction: Decimal | float | None, decimals: int = 2, *, sign: bool = True) -> str:
    """A fraction as a percentage (``0.0123`` -> ``+1.23%``)."""
    if fraction is None:
        return DASH
    return f"{format(Decimal(str(fraction)) * 100, ('+' if sign else '') + f'.{decimals}f')}%"


def compact(value: Decimal | float | None, decimals: int = 1) -> str:
    """A large number in k/M/B so it fits a narrow column."""
    if value is None:
        return DASH
    number = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.{decimals}f}{suffix}"
    return f"{number:.{decimals}f}"


def countdown(ms: int | float | None) -> str:
    """Time left as ``in 52m07s`` / ``in 1h02m`` / ``in 2d03h``; ``due`` at zero.

    ``52:07`` read like a time of day; the words make it a span, and at most two units
    keep it within nine characters (the watchlist's "Next" column).
    """
    if ms is None:
        return DASH
    seconds = max(0, int(ms // 1000))
    if seconds == 0:
        return "due"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"in {days}d{hours:02d}h"
    if hours:
        return f"in {hours}h{minutes:02d}m"
    if minutes:
        return f"in {minutes}m{secs:02d}s"
    return f"in {secs}s"


def annualised(rate: Decimal | None, interval_ms: int | None) -> Decimal | None:
    """A per-interval funding rate as a yearly fraction.

    Backpack pays funding every ``fundingInterval`` ms (hourly since 2025, 8-hourly
    before): the interval comes from the market, never a constant.
    """
    if rate is None:
        return None
    interval = interval_ms if interval_ms and interval_ms > 0 else HOUR_MS
    return rate * Decimal(YEAR_MS) / Decimal(interval)


def age(ms: int | float | None) -> str:
    """A short age: ``42s``, ``7m``, ``3h``, ``2d``."""
    if ms is None:
        return DASH
    seconds = max(0, int(ms // 1000))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def side_word(side: str) -> str:
    """Backpack's ``Bid``/``Ask`` as the words a trader reads."""
    return {"Bid": "BUY", "Ask": "SELL"}.get(side, side.upper())


def clock(at_ms: int) -> str:
    """Local wall-clock time of day, to the second (the log's and the tape's time column)."""
    return time.strftime("%H:%M:%S", time.localtime(at_ms / 1000))
