"""What the history screen (``H``, ``:history``) shows, computed from the exchange's lists.

Pure (no Textual): the screen draws these values, the CSV export writes them, and the
tests check them against hand-computed numbers and against an independent client.

Money is in the market's quote asset (USDC). A fill's fee is charged in the asset
named by ``feeSymbol``: the quote, or the base on a spot buy; a base fee is valued at
that fill's price. A fee in any other asset cannot be valued here and is left out of
the quote totals (it stays in :attr:`FillTotals.fees_by_asset`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from bpx_tui.exchange.history import AccountHistory, Read
from bpx_tui.exchange.models import Fill, FundingPayment, Order
from bpx_tui.ui import fmt

T = TypeVar("T")

ZERO = Decimal(0)
Tab = Literal["fills", "orders", "funding", "pnl"]
TABS: tuple[Tab, ...] = ("fills", "orders", "funding", "pnl")
TAB_TITLES: Mapping[Tab, str] = {
    "fills": "Fills",
    "orders": "Orders",
    "funding": "Funding",
    "pnl": "PnL by day",
}
COST_QUANTUM = Decimal("1e-10")
"""Where a partly closed position's basis is rounded (as the exchange rounds it)."""
PAGE_ROWS = 100
"""Rows built per page: the table never holds more, however long the history."""


def assets(symbol: str) -> tuple[str, str]:
    """``BTC_USDC_PERP`` -> ``("BTC", "USDC")``: base and quote from the name."""
    parts = symbol.split("_")
    return parts[0], parts[1] if len(parts) > 1 else ""


def day_of(ms: int | None) -> str:
    """The UTC calendar day of a time (``2025-11-24``); ``?`` when the time is unknown."""
    if ms is None:
        return "?"
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def fee_in_quote(fill: Fill) -> Decimal | None:
    """The fee valued in the quote asset; None when it is in a third asset."""
    base, quote = assets(fill.symbol)
    if fill.fee_symbol in (quote, ""):
        return fill.fee
    if fill.fee_symbol == base:
        return fill.fee * fill.price
    return None


def signed_qty(fill: Fill) -> Decimal:
    return fill.quantity if fill.side == "Bid" else -fill.quantity


# ----------------------------------------------------------------------------- totals


@dataclass(frozen=True, slots=True)
class FillTotals:
    count: int = 0
    volume: Decimal = ZERO
    """Σ price × quantity, in the quote asset."""
    fees: Decimal = ZERO
    """Σ fees valued in the quote asset (see the module docstring)."""
    fees_by_asset: Mapping[str, Decimal] = field(default_factory=dict)
    maker: int = 0


def fill_totals(fills: Iterable[Fill]) -> FillTotals:
    count = maker = 0
    volume = fees = ZERO
    by_asset: dict[str, Decimal] = {}
    for fill in fills:
        count += 1
        maker += fill.is_maker
        volume += fill.price * fill.quantity
        valued = fee_in_quote(fill)
        if valued is not None:
            fees += valued
        by_asset[fill.fee_symbol] = by_asset.get(fill.fee_symbol, ZERO) + fill.fee
    return FillTotals(count, volume, fees, by_asset, maker)


@dataclass(frozen=True, slots=True)
class OrderTotals:
    count: int = 0
    by_status: Mapping[str, int] = field(default_factory=dict)
    """Orders per final state (``Filled``, ``Cancelled``, ``Expired``, …), most first."""
    executed_quote: Decimal = ZERO


def order_totals(orders: Iterable[Order]) -> OrderTotals:
    statuses: Counter[str] = Counter()
    executed = ZERO
    for order in orders:
        statuses[order.status or "?"] += 1
        executed += order.executed_quote_quantity
    return OrderTotals(sum(statuses.values()), dict(statuses.most_common()), executed)


@dataclass(frozen=True, slots=True)
class FundingTotals:
    count: int = 0
    paid: Decimal = ZERO
    """Σ of the payments the account made, as a positive amount."""
    received: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.received - self.paid


def funding_totals(payments: Iterable[FundingPayment]) -> FundingTotals:
    count = 0
    paid = received = ZERO
    for payment in payments:
        count += 1
        if payment.quantity < 0:
            paid -= payment.quantity
        else:
            received += payment.quantity
    return FundingTotals(count, paid, received)


# ----------------------------------------------------------------------------- realised PnL


@dataclass(frozen=True, slots=True)
class PnlRow:
    """One market on one UTC day."""

    day: str
    symbol: str
    fills: int
    volume: Decimal
    realised: Decimal
    """Trading PnL of the part closed that day, average cost, before fees and funding."""
    fees: Decimal
    funding: Decimal
    """Net funding received (negative: paid); perps only."""

    @property
    def key(self) -> str:
        return f"{self.day} {self.symbol}"

    @property
    def net(self) -> Decimal:
        return self.realised - self.fees + self.funding


class _Book:
    """One market's open position at average cost: ``cost`` is the signed basis
    (positive for a long, negative for a short), as the exchange keeps it."""

    __slots__ = ("cost", "net")

    def __init__(self) -> None:
        self.net = ZERO
        self.cost = ZERO

    def trade(self, qty: Decimal, price: Decimal) -> Decimal:
        """Apply a signed fill; the PnL it realises."""
        net = self.net
        if net == 0 or (net > 0) == (qty > 0):
            self.net += qty
            self.cost += qty * price
            return ZERO
        closing = min(abs(qty), abs(net))
        removed = self.cost
        if closing != abs(net):  # a share of the basis: a division, kept to COST_QUANTUM
            removed = (self.cost * closing / abs(net)).quantize(COST_QUANTUM)
        closing_value = closing * price
        realised = (closing_value if net > 0 else -closing_value) - removed
        self.cost -= removed
        self.net += closing if qty > 0 else -closing
        rest = abs(qty) - closing
        if rest:
            self.net += rest if qty > 0 else -rest
            self.cost += rest * price if qty > 0 else -rest * price
        return realised


def _oldest_first(fill: Fill) -> tuple[int, int]:
    return (fill.timestamp_ms or 0, fill.trade_id or 0)


def realised_pnl(fills: Iterable[Fill], funding: Iterable[FundingPayment]) -> list[PnlRow]:
    """Realised PnL per market and UTC day, newest day first.

    **Average cost**, not FIFO: a fill that reduces a position realises
    ``(price − average entry) × closed quantity`` (sign flipped for a short), and the
    average entry of what is left is unchanged; a fill through zero closes the whole
    position and opens the rest at its price. This is how Backpack accounts a position
    (``pnlRealized``) and how the local exchange does (``accounts.Position``), so the
    figures agree with the exchange's own. Fees and funding are separate columns, never
    mixed into ``realised``; :attr:`PnlRow.net` is realised − fees + funding.

    Only the fills given are known: a position opened before the first of them has no
    known entry, so its first reducing fills open the other way instead (the history
    read is capped; the screen says so when it was).
    """
    books: dict[str, _Book] = {}
    cells: dict[tuple[str, str], list[Decimal | int]] = {}

    def cell(day: str, symbol: str) -> list[Decimal | int]:
        return cells.setdefault((day, symbol), [0, ZERO, ZERO, ZERO, ZERO])

    for fill in sorted(fills, key=_oldest_first):
        book = books.setdefault(fill.symbol, _Book())
        row = cell(day_of(fill.timestamp_ms), fill.symbol)
        row[0] += 1
        row[1] += fill.price * fill.quantity
        row[2] += book.trade(signed_qty(fill), fill.price)
        row[3] += fee_in_quote(fill) or ZERO
    for payment in funding:
        cell(day_of(payment.interval_end_ms), payment.symbol)[4] += payment.quantity
    rows = [
        PnlRow(day, symbol, int(n), Decimal(v), Decimal(r), Decimal(f), Decimal(fu))
        for (day, symbol), (n, v, r, f, fu) in cells.items()
    ]
    rows.sort(key=lambda row: row.symbol)
    rows.sort(key=lambda row: row.day, reverse=True)
    return rows


@dataclass(frozen=True, slots=True)
class PnlTotals:
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO
    volume: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.realised - self.fees + self.funding


def pnl_totals(rows: Iterable[PnlRow]) -> PnlTotals:
    realised = fees = funding = volume = ZERO
    for row in rows:
        realised += row.realised
        fees += row.fees
        funding += row.funding
        volume += row.volume
    return PnlTotals(realised, fees, funding, volume)


# ----------------------------------------------------------------------------- the view


@dataclass(frozen=True, slots=True)
class HistoryView:
    """Everything the screen draws, computed once per read (never per paint)."""

    history: AccountHistory
    pnl: tuple[PnlRow, ...]
    fills: FillTotals
    orders: OrderTotals
    funding: FundingTotals
    totals: PnlTotals

    def _reads(self, tab: Tab) -> dict[str, Read[Any]]:
        """The exchange lists a tab is made of (PnL: fills and funding)."""
        h = self.history
        lists: dict[str, Read[Any]] = {"fills": h.fills, "orders": h.orders, "funding": h.funding}
        if tab == "pnl":
            return {"fills": h.fills, "funding": h.funding}
        return {tab: lists[tab]}

    def count(self, tab: Tab) -> int:
        """Rows on the tab."""
        return len(self.pnl) if tab == "pnl" else len(self._reads(tab)[tab].rows)

    def error(self, tab: Tab) -> str | None:
        """Why the tab has no rows: its read failed (PnL needs fills and funding)."""
        reads = self._reads(tab)
        failed = {name: read.error for name, read in reads.items() if read.error}
        if tab != "pnl":
            return failed.get(tab)
        return "; ".join(f"{name}: {error}" for name, error in failed.items()) or None

    def capped(self, tab: Tab) -> bool:
        return any(read.capped for read in self._reads(tab).values())


def build_view(history: AccountHistory) -> HistoryView:
    pnl = tuple(realised_pnl(history.fills.rows, history.funding.rows))
    return HistoryView(
        history,
        pnl,
        fill_totals(history.fills.rows),
        order_totals(history.orders.rows),
        funding_totals(history.funding.rows),
        pnl_totals(pnl),
    )


def page_count(rows: int, size: int = PAGE_ROWS) -> int:
    return max(1, -(-rows // size))


def page_bounds(rows: int, page: int, size: int = PAGE_ROWS) -> tuple[int, int]:
    """``[start, end)`` of page ``page`` (clamped to the pages there are)."""
    page = max(0, min(page, page_count(rows, size) - 1))
    start = page * size
    return start, min(rows, start + size)


def page_of(items: Sequence[T], page: int, size: int = PAGE_ROWS) -> Sequence[T]:
    start, end = page_bounds(len(items), page, size)
    return items[start:end]


def money(value: Decimal, decimals: int = 2, *, sign: bool = False) -> str:
    return fmt.num(value, decimals, sign=sign)


def totals_line(view: HistoryView, tab: Tab) -> str:
    """The tab's totals over every row read (not only the page shown)."""
    if tab == "fills":
        f = view.fills
        return (
            f"{f.count:,} fills · volume {money(f.volume)} · fees {money(f.fees)}"
            f" · maker {f.maker:,} / taker {f.count - f.maker:,}"
        )
    if tab == "orders":
        o = view.orders
        states = " · ".join(f"{status} {n:,}" for status, n in o.by_status.items())
        return (
            f"{o.count:,} orders"
            + (f" · {states}" if states else "")
            + (f" · executed {money(o.executed_quote)}")
        )
    if tab == "funding":  # payments are often fractions of a cent
        fu = view.funding
        return (
            f"{fu.count:,} payments · paid {money(fu.paid, 4)}"
            f" · received {money(fu.received, 4)} · net {money(fu.net, 4, sign=True)}"
        )
    t = view.totals
    return (
        f"realised {money(t.realised, sign=True)} · fees {money(t.fees)}"
        f" · funding {money(t.funding, 4, sign=True)} · net {money(t.net, sign=True)}"
        f" · volume {money(t.volume)}"
    )
