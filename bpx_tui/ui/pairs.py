"""Spot-against-perp pairs among the account's holdings: what the positions panel shows
under its table for the funding trader.

A pair is read from the account as it stands, never from a record of pair trades: a
short perp and a spot balance of the same asset hedge each other however they were
opened (``:pair``, two tickets, or another client), and a pair trade unwound by hand
stops being one the moment the exchange says so. Only the ``short-perp`` shape is
visible this way — the spot leg of a ``long-perp`` pair is a sale, which leaves no
balance to read — so a long perp is always shown as the plain position it is.

A leg smaller than :data:`MIN_HEDGE` of the other is dust beside a position, not a
hedge, and is not called one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from bpx_tui.exchange.models import Balance, Market, MarkPrice, Position
from bpx_tui.trading.pair import funding_per_day
from bpx_tui.ui import fmt

MIN_HEDGE = Decimal("0.1")
"""The smaller leg must be at least this fraction of the larger to be a pair."""
_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class PairRow:
    """One asset held as spot against a short perp."""

    asset: str
    perp_symbol: str
    spot: Decimal  # the spot balance, available + locked
    perp: Decimal  # the perp's net quantity (negative: short)
    spot_price: Decimal | None
    mark: Decimal | None  # the perp's mark
    funding_earned: Decimal  # the perp position's cumulative funding (positive: received)
    rate: Decimal | None  # the current funding rate per interval
    interval_ms: int | None
    quantity_decimals: int

    @property
    def delta(self) -> Decimal:
        """The pair's net exposure in the asset: spot plus the (negative) perp."""
        return self.spot + self.perp

    @property
    def hedged(self) -> Decimal:
        """The quantity hedged: the smaller leg."""
        return min(self.spot, -self.perp)

    @property
    def delta_notional(self) -> Decimal | None:
        price = self.spot_price or self.mark
        return None if price is None else self.delta * price

    @property
    def basis_bps(self) -> Decimal | None:
        """Perp mark over spot, in basis points: what closing both legs now would lock in
        on top of the funding (positive: the perp sold dearer than the spot)."""
        if self.mark is None or not self.spot_price:
            return None
        return (self.mark - self.spot_price) / self.spot_price * _BPS

    @property
    def per_day(self) -> Decimal | None:
        """What the hedged quantity earns a day at the current rate (negative: pays)."""
        if self.rate is None or self.mark is None or not self.interval_ms:
            return None
        return funding_per_day("short-perp", self.hedged, self.mark, self.rate, self.interval_ms)


def pair_rows(
    positions: Mapping[str, Position],
    balances: Mapping[str, Balance],
    markets: Mapping[str, Market],
    marks: Mapping[str, MarkPrice],
    spot_price: Callable[[str], Decimal | None],
) -> list[PairRow]:
    """Every short perp with a spot balance of its asset big enough to hedge it, by asset."""
    rows = []
    for symbol in sorted(positions):
        position, market = positions[symbol], markets.get(symbol)
        if market is None or not market.is_perp or position.net_quantity >= 0:
            continue
        asset = market.base_symbol
        balance = balances.get(asset)
        spot = balance.available + balance.locked if balance is not None else Decimal(0)
        short = -position.net_quantity
        if spot <= 0 or min(spot, short) < MIN_HEDGE * max(spot, short):
            continue
        mark = marks.get(symbol)
        rows.append(
            PairRow(
                asset=asset,
                perp_symbol=symbol,
                spot=spot,
                perp=position.net_quantity,
                spot_price=spot_price(asset),
                mark=mark.mark_price if mark else position.mark_price or None,
                funding_earned=position.cumulative_funding,
                rate=mark.funding_rate if mark else None,
                interval_ms=market.funding_interval_ms,
                quantity_decimals=market.quantity_decimals,
            )
        )
    return rows


def spot_symbols(rows: Iterable[PairRow]) -> set[str]:
    """The spot markets the pairs are priced on (``SOL`` → ``SOL_USDC``)."""
    return {f"{row.asset}_USDC" for row in rows}


def pair_line(row: PairRow) -> str:
    """A pair on one line, what a funding trader checks first at the front (a narrow
    panel cuts the tail): ``⇄ SOL pair · earned +1.23 · now +0.0100%/1h → +2.40/day ·
    Δ +0.00 SOL (+0.00 USDC) · basis +3.1 bps · spot 10.00 / perp -10.00``."""
    q = row.quantity_decimals
    parts = [f"⇄ {row.asset} pair", f"earned {fmt.num(row.funding_earned, 2, sign=True)}"]
    if row.rate is not None:
        now = f"now {fmt.pct(row.rate, 4)}/{interval_word(row.interval_ms)}"
        per_day = row.per_day
        parts.append(now + ("" if per_day is None else f" → {fmt.num(per_day, 2, sign=True)}/day"))
    parts += [
        f"Δ {fmt.num(row.delta, q, sign=True)} {row.asset}" + _usdc(row.delta_notional),
        f"basis {fmt.DASH if row.basis_bps is None else fmt.num(row.basis_bps, 1, sign=True)} bps",
        f"spot {fmt.num(row.spot, q)} / perp {fmt.num(row.perp, q, sign=True)}",
    ]
    return " · ".join(parts)


def _usdc(value: Decimal | None) -> str:
    return "" if value is None else f" ({fmt.num(value, 2, sign=True)} USDC)"


def interval_word(interval_ms: int | None) -> str:
    """``1h`` / ``8h``: the funding interval as a trader names it."""
    hours = (interval_ms or fmt.HOUR_MS) / fmt.HOUR_MS
    return f"{hours:g}h" if hours >= 1 else f"{hours * 60:g}m"
