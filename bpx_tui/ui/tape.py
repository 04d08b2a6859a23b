"""Time and sales, and the volume traded at each price this session, from the trade stream.

Both are pure bookkeeping (no Textual): :class:`SessionVolume` is fed by the feed's
trade callback (O(1) per trade, every market the client streams) and read by the ladder
for its volume column; :func:`tape_rows` turns the active market's recent trades into
the tape's rows.

A burst — one aggressive order sweeping a price — prints as many trades with the same
timestamp, price and aggressor side; the tape shows it as one line with the summed
size and how many prints it was, because that is one decision by one trader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from bpx_tui.exchange.models import Trade

_ZERO = Decimal(0)


class SessionVolume:
    """Base volume traded per exact price since the console started, per market."""

    def __init__(self) -> None:
        self._by_symbol: dict[str, dict[Decimal, Decimal]] = {}

    def add(self, trade: Trade) -> None:
        prices = self._by_symbol.setdefault(trade.symbol, {})
        prices[trade.price] = prices.get(trade.price, _ZERO) + trade.quantity

    def at(self, symbol: str) -> Mapping[Decimal, Decimal]:
        """``{price: volume}`` of one market (empty when nothing traded yet)."""
        return self._by_symbol.get(symbol, {})


@dataclass(frozen=True, slots=True)
class TapeRow:
    """One line of the tape: a trade, or a burst of prints at one price in one ms."""

    key: str
    """Row key for the table: the first print's id (or its time and price)."""
    timestamp_ms: int | None
    price: Decimal
    quantity: Decimal
    buy: bool
    """The aggressor bought (the maker was the seller)."""
    prints: int
    """How many trades the line sums (1 for a lone trade)."""
    big: bool
    """Notional at or above the highlight threshold."""


def tape_rows(trades: Iterable[Trade], big_notional: Decimal, limit: int) -> list[TapeRow]:
    """Newest first, bursts merged, at most ``limit`` lines.

    ``trades`` come oldest first (as the stream delivered them). A burst is consecutive
    prints sharing timestamp, price and aggressor side.
    """
    merged: list[list[Trade]] = []
    for trade in trades:
        last = merged[-1][-1] if merged else None
        if (
            last is not None
            and last.timestamp_ms is not None
            and last.timestamp_ms == trade.timestamp_ms
            and last.price == trade.price
            and last.is_buyer_maker == trade.is_buyer_maker
        ):
            merged[-1].append(trade)
        else:
            merged.append([trade])
    rows: list[TapeRow] = []
    for burst in reversed(merged[-limit:] if limit > 0 else []):
        first = burst[0]
        quantity = sum((t.quantity for t in burst), _ZERO)
        key = str(first.id) if first.id is not None else f"{first.timestamp_ms}:{first.price}"
        rows.append(
            TapeRow(
                key=key,
                timestamp_ms=first.timestamp_ms,
                price=first.price,
                quantity=quantity,
                buy=not first.is_buyer_maker,
                prints=len(burst),
                big=quantity * first.price >= big_notional,
            )
        )
    return rows
