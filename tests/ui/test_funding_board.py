"""The funding board's row model: sign, annualising, sort, filter, countdown, basis."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bpx_tui.exchange.models import Market, MarkPrice, Ticker
from bpx_tui.ui.funding_board import (
    SORT_KEYS,
    BoardSort,
    FundingRow,
    arrange,
    basis_bps,
    board_rows,
    interval_text,
    prefer_streamed,
    seconds_until,
)

HOUR_MS = 3_600_000
NOW_MS = 1_763_942_400_000


def market(symbol: str, kind: str = "PERP", interval_ms: int | None = HOUR_MS) -> Market:
    return Market.from_api({"symbol": symbol, "marketType": kind, "fundingInterval": interval_ms})


def mark(symbol: str, rate: str, mark_price: str = "100", index: str = "100") -> MarkPrice:
    return MarkPrice(symbol, Decimal(mark_price), Decimal(index), Decimal(rate), NOW_MS + 90_500)


def ticker(symbol: str, volume: str, change: str) -> Ticker:
    d = Decimal
    return Ticker(symbol, d(1), d(1), d(1), d(1), d(1), d(volume), d(change), 1)


def row(symbol: str, **figures: Decimal | int | None) -> FundingRow:
    values: dict[str, Decimal | int | None] = dict.fromkeys(
        ("rate", "apr", "interval_ms", "next_funding_s", "open_interest", "basis_bps"), None
    )
    values.update(volume=None, change=None)
    values.update(figures)
    return FundingRow(symbol, False, **values)  # type: ignore[arg-type]


def test_only_perps_are_listed_and_the_rate_is_annualised_by_the_markets_interval() -> None:
    markets = [market("BTC_USDC_PERP"), market("ETH_USDC_PERP", interval_ms=8 * HOUR_MS)]
    markets.append(market("SOL_USDC", kind="SPOT", interval_ms=None))
    marks = {"BTC_USDC_PERP": mark("BTC_USDC_PERP", "0.0001")}
    marks["ETH_USDC_PERP"] = mark("ETH_USDC_PERP", "-0.0002")
    rows = {r.symbol: r for r in board_rows(markets, marks, {}, {}, NOW_MS, "ETH_USDC_PERP")}
    assert set(rows) == {"BTC_USDC_PERP", "ETH_USDC_PERP"}
    # hourly: 24 × 365 payments a year; 8-hourly: 3 × 365
    assert rows["BTC_USDC_PERP"].apr == Decimal("0.0001") * 8760
    assert rows["BTC_USDC_PERP"].apr == Decimal("0.876")
    assert rows["ETH_USDC_PERP"].apr == Decimal("-0.0002") * 1095
    assert rows["ETH_USDC_PERP"].apr is not None and rows["ETH_USDC_PERP"].apr < 0
    assert rows["ETH_USDC_PERP"].active and not rows["BTC_USDC_PERP"].active


def test_a_row_carries_the_exchanges_figures() -> None:
    marks = {"BTC_USDC_PERP": mark("BTC_USDC_PERP", "0.0001", mark_price="101", index="100")}
    tickers = {"BTC_USDC_PERP": ticker("BTC_USDC_PERP", "12345.6", "-0.031")}
    oi = {"BTC_USDC_PERP": Decimal("2.5")}
    (only,) = board_rows([market("BTC_USDC_PERP")], marks, tickers, oi, NOW_MS, "")
    assert only.next_funding_s == 91  # 90.5 s rounded up
    assert only.open_interest == Decimal("252.5")  # 2.5 × the mark 101
    assert only.basis_bps == Decimal(100)
    assert (only.volume, only.change) == (Decimal("12345.6"), Decimal("-0.031"))


def test_a_market_the_exchange_said_nothing_about_has_no_figures() -> None:
    (only,) = board_rows([market("BTC_USDC_PERP")], {}, {}, {}, NOW_MS, "")
    assert (only.rate, only.apr, only.next_funding_s, only.basis_bps) == (None,) * 4
    assert (only.open_interest, only.volume, only.change) == (None,) * 3


def test_the_countdown_reaches_zero_at_the_payment_time_and_stays_there() -> None:
    at = NOW_MS + 3_000
    assert seconds_until(at, NOW_MS) == 3
    assert seconds_until(at, at - 1) == 1  # never "0" while the payment is still ahead
    assert seconds_until(at, at) == 0
    assert seconds_until(at, at + 5_000) == 0
    assert seconds_until(None, NOW_MS) is None


def test_basis_is_in_basis_points_and_signed() -> None:
    assert basis_bps(Decimal("100.05"), Decimal(100)) == Decimal(5)
    assert basis_bps(Decimal("99.9"), Decimal(100)) == Decimal(-10)
    assert basis_bps(Decimal(100), None) is None
    assert basis_bps(Decimal(100), Decimal(0)) is None


ROWS = [
    row("AAA_USDC_PERP", rate=Decimal("0.0001"), apr=Decimal("0.876"), next_funding_s=30,
        open_interest=Decimal(5), basis_bps=Decimal(-3), volume=Decimal(900), change=Decimal("0.02")),
    row("BBB_USDC_PERP", rate=Decimal("-0.0003"), apr=Decimal("-2.628"), next_funding_s=10,
        open_interest=Decimal(50), basis_bps=Decimal(7), volume=Decimal(100), change=Decimal("-0.05")),
    row("CCC_USDC_PERP", rate=Decimal("0.0002"), apr=Decimal("1.752"), next_funding_s=20,
        open_interest=Decimal(1), basis_bps=Decimal(1), volume=Decimal(500), change=Decimal("0.10")),
    row("DDD_USDC_PERP"),  # nothing known yet
]  # fmt: skip
ASCENDING = {
    "symbol": ["AAA", "BBB", "CCC", "DDD"],
    "rate": ["BBB", "AAA", "CCC", "DDD"],
    "apr": ["BBB", "AAA", "CCC", "DDD"],
    "next": ["BBB", "CCC", "AAA", "DDD"],
    "oi": ["CCC", "AAA", "BBB", "DDD"],
    "basis": ["AAA", "CCC", "BBB", "DDD"],
    "volume": ["BBB", "CCC", "AAA", "DDD"],
    "change": ["BBB", "AAA", "CCC", "DDD"],
}


def _bases(rows: list[FundingRow]) -> list[str]:
    return [r.symbol.split("_")[0] for r in rows]


@pytest.mark.parametrize("column", SORT_KEYS)
def test_every_column_sorts_both_ways_with_unknowns_last(column: str) -> None:
    up = ASCENDING[column]
    assert _bases(arrange(ROWS, "", BoardSort(column, descending=False))) == up  # type: ignore[arg-type]
    known, unknown = (up, []) if column == "symbol" else (up[:-1], ["DDD"])
    down = arrange(ROWS, "", BoardSort(column, descending=True))  # type: ignore[arg-type]
    assert _bases(down) == known[::-1] + unknown


def test_the_default_puts_the_best_paying_rate_for_shorts_first() -> None:
    assert BoardSort() == BoardSort("apr", descending=True)
    assert _bases(arrange(ROWS, "", BoardSort())) == ["CCC", "AAA", "BBB", "DDD"]


def test_the_sort_cycles_through_every_column_and_flips() -> None:
    sort, seen = BoardSort(), []
    for _ in SORT_KEYS:
        seen.append(sort.column)
        sort = sort.cycled()
    assert sorted(seen) == sorted(SORT_KEYS) and sort == BoardSort()
    assert BoardSort().flipped() == BoardSort("apr", descending=False)
    assert BoardSort().flipped().flipped() == BoardSort()


def test_equal_figures_keep_symbol_order() -> None:
    same = [row(s, rate=Decimal(1)) for s in ("ZZZ_USDC_PERP", "MMM_USDC_PERP", "AAA_USDC_PERP")]
    assert _bases(arrange(same, "", BoardSort("rate"))) == ["AAA", "MMM", "ZZZ"]


@pytest.mark.parametrize(
    ("query", "shown"),
    [("", ["AAA", "BBB", "CCC", "DDD"]), ("b", ["BBB"]), ("ccc_usdc", ["CCC"]),
     ("usdc perp", ["AAA", "BBB", "CCC", "DDD"]), ("a perp", ["AAA"]), ("xyz", [])],
)  # fmt: skip
def test_typing_filters_by_symbol_substring(query: str, shown: list[str]) -> None:
    assert _bases(arrange(ROWS, query, BoardSort("symbol", descending=False))) == shown


def test_a_watched_markets_stream_wins_over_the_rest_poll() -> None:
    polled = {"A": 1, "B": 2}
    streamed = {"A": 10, "B": 20, "C": 30}
    assert prefer_streamed(polled, streamed, {"B"}) == {"A": 1, "B": 20, "C": 30}


def test_the_interval_text() -> None:
    assert (interval_text(HOUR_MS), interval_text(8 * HOUR_MS)) == ("1h", "8h")
    assert interval_text(None) == "—"
