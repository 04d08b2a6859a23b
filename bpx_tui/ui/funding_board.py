"""The funding board's rows: every perp's funding, annualised, sorted and filtered.

Pure (no Textual, no client), so the arithmetic a funding-rate arbitrage trader acts on
— the sign of a rate, its yearly figure, the time to the payment, the basis — is tested
without a screen; ``ui/screens/funding.py`` only draws what :func:`arrange` returns.

Where each figure comes from (Backpack's own fields, nothing estimated here):

- **rate**: ``fundingRate`` of ``GET /api/v1/markPrices`` / the ``markPrice.<symbol>``
  stream (``f``): the rate of the interval in progress, paid at ``nextFundingTimestamp``.
  Positive: longs pay shorts. Backpack publishes no separate *predicted* next rate, so
  the board has no such column rather than an invented one.
- **annualised**: rate × payments per year, the interval being the market's
  ``fundingInterval`` (``GET /api/v1/markets``; hourly since 2025, 8-hourly before),
  through :func:`bpx_tui.ui.fmt.annualised`, the watchlist's figure too.
- **next**: seconds to ``nextFundingTimestamp``, rounded up, so it reads 0 only once the
  payment is due.
- **open interest**: ``GET /api/v1/openInterest`` in base units, shown as its notional at
  the mark (what a trader compares across markets).
- **basis**: (mark − index) / index in basis points, from the same mark price.
- **volume** / **change**: the 24 h ticker's quote volume and change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal, TypeVar

from bpx_tui.exchange.models import Market, MarkPrice, Ticker
from bpx_tui.ui import fmt

SortKey = Literal["symbol", "rate", "apr", "next", "oi", "basis", "volume", "change"]
SORT_KEYS: tuple[SortKey, ...] = (
    "symbol",
    "rate",
    "apr",
    "next",
    "oi",
    "basis",
    "volume",
    "change",
)
SORT_LABELS: dict[SortKey, str] = {
    "symbol": "market",
    "rate": "rate",
    "apr": "annualised",
    "next": "next payment",
    "oi": "open interest",
    "basis": "basis",
    "volume": "24h volume",
    "change": "24h change",
}
BPS = Decimal(10_000)
POLL_S = 5.0
"""While the board is open the app reads every market's marks, tickers and open interest
by REST this often: the stream only carries the watched markets."""


@dataclass(frozen=True, slots=True)
class FundingRow:
    """One perp on the board; ``None`` where the exchange has not said yet."""

    symbol: str
    active: bool
    rate: Decimal | None  # per funding interval, a fraction; positive: longs pay shorts
    apr: Decimal | None  # rate × payments per year, a fraction
    interval_ms: int | None
    next_funding_s: int | None
    open_interest: Decimal | None  # notional at the mark, quote units
    basis_bps: Decimal | None
    volume: Decimal | None  # 24 h, quote units
    change: Decimal | None  # 24 h, a fraction

    @property
    def key(self) -> str:
        return self.symbol


@dataclass(frozen=True, slots=True)
class BoardSort:
    """Which column orders the board and which way; by default the best-paying rate for a
    short (the highest annualised rate) is at the top."""

    column: SortKey = "apr"
    descending: bool = True

    def cycled(self) -> BoardSort:
        """The next column; a new column starts descending (biggest first)."""
        index = (SORT_KEYS.index(self.column) + 1) % len(SORT_KEYS)
        return BoardSort(SORT_KEYS[index], descending=SORT_KEYS[index] != "symbol")

    def flipped(self) -> BoardSort:
        return replace(self, descending=not self.descending)

    @property
    def title(self) -> str:
        return f"sorted by {SORT_LABELS[self.column]} {'▼' if self.descending else '▲'}"


def seconds_until(at_ms: int | None, now_ms: int) -> int | None:
    """Whole seconds to ``at_ms``, rounded up: 0 exactly at the payment time and after."""
    if at_ms is None:
        return None
    return max(0, -(-(at_ms - now_ms) // 1000))


def basis_bps(mark: Decimal | None, index: Decimal | None) -> Decimal | None:
    """The mark's premium over the index in basis points (negative: a discount)."""
    if mark is None or not index:
        return None
    return (mark - index) / index * BPS


V = TypeVar("V")


def prefer_streamed(
    polled: Mapping[str, V], streamed: Mapping[str, V], watched: Set[str]
) -> dict[str, V]:
    """One value per symbol: the stream's for a watched market (it is the fresher), the
    latest REST poll's otherwise, and the client's cache when neither has it."""
    merged = {**streamed, **polled}
    merged.update((symbol, streamed[symbol]) for symbol in watched if symbol in streamed)
    return merged


def board_rows(
    markets: Iterable[Market],
    marks: Mapping[str, MarkPrice],
    tickers: Mapping[str, Ticker],
    open_interest: Mapping[str, Decimal],
    now_ms: int,
    active: str,
) -> list[FundingRow]:
    """A row for every perp in ``markets`` (spot markets pay no funding), unsorted."""
    rows: list[FundingRow] = []
    for market in markets:
        if not market.is_perp:
            continue
        symbol = market.symbol
        mark, ticker = marks.get(symbol), tickers.get(symbol)
        rate = mark.funding_rate if mark else None
        oi = open_interest.get(symbol)
        rows.append(
            FundingRow(
                symbol=symbol,
                active=symbol == active,
                rate=rate,
                apr=fmt.annualised(rate, market.funding_interval_ms),
                interval_ms=market.funding_interval_ms,
                next_funding_s=seconds_until(mark.next_funding_ms, now_ms) if mark else None,
                open_interest=oi * mark.mark_price if oi is not None and mark else None,
                basis_bps=basis_bps(mark.mark_price, mark.index_price) if mark else None,
                volume=ticker.quote_volume if ticker else None,
                change=ticker.change_percent if ticker else None,
            )
        )
    return rows


def _figure(row: FundingRow, column: SortKey) -> Decimal | None:
    """The number a numeric column sorts by."""
    match column:
        case "rate":
            return row.rate
        case "apr":
            return row.apr
        case "next":
            return None if row.next_funding_s is None else Decimal(row.next_funding_s)
        case "oi":
            return row.open_interest
        case "basis":
            return row.basis_bps
        case "volume":
            return row.volume
        case "change":
            return row.change
        case "symbol":
            return None


def matches(symbol: str, query: str) -> bool:
    """Every space-separated part of ``query`` is in ``symbol`` (case-insensitive)."""
    upper = symbol.upper()
    return all(part in upper for part in query.upper().split())


def arrange(rows: Iterable[FundingRow], query: str, sort: BoardSort) -> list[FundingRow]:
    """The rows whose symbol matches ``query``, in ``sort`` order.

    A row the exchange has no figure for goes last whichever the direction (an unknown
    rate is neither the best nor the worst); equal figures keep symbol order.
    """
    shown = sorted((row for row in rows if matches(row.symbol, query)), key=lambda r: r.symbol)
    if sort.column == "symbol":
        return shown[::-1] if sort.descending else shown
    known = [(figure, row) for row in shown if (figure := _figure(row, sort.column)) is not None]
    known.sort(key=lambda pair: pair[0], reverse=sort.descending)  # stable: ties by symbol
    unknown = [row for row in shown if _figure(row, sort.column) is None]
    return [row for _figure_, row in known] + unknown


def interval_text(interval_ms: int | None) -> str:
    """The funding interval as ``1h`` / ``8h``; ``—`` when the market does not say."""
    if not interval_ms:
        return fmt.DASH
    hours, rest = divmod(interval_ms, fmt.HOUR_MS)
    return f"{hours}h" if not rest else f"{interval_ms // 60_000}m"
