"""Spot-against-perp pairs read from the account: which holdings are a pair, and the
numbers the positions panel shows for one (hand-computed)."""

from __future__ import annotations

from decimal import Decimal

from bpx_tui.exchange.models import Balance, Market, MarkPrice, Position
from bpx_tui.ui.pairs import PairRow, pair_line, pair_rows, spot_symbols

D = Decimal
HOUR_MS = 3_600_000
MARKETS = {
    symbol: Market.from_api(
        {
            "symbol": symbol,
            "baseSymbol": base,
            "quoteSymbol": "USDC",
            "marketType": kind,
            "fundingInterval": HOUR_MS if kind == "PERP" else None,
            "filters": {"quantity": {"stepSize": "0.01"}, "price": {"tickSize": "0.01"}},
        }
    )
    for symbol, base, kind in (
        ("SOL_USDC_PERP", "SOL", "PERP"),
        ("ETH_USDC_PERP", "ETH", "PERP"),
        ("BTC_USDC_PERP", "BTC", "PERP"),
        ("SOL_USDC", "SOL", "SPOT"),
    )
}
MARKS = {
    "SOL_USDC_PERP": MarkPrice.from_api(
        {
            "symbol": "SOL_USDC_PERP",
            "markPrice": "150",
            "indexPrice": "149.9",
            "fundingRate": "0.0001",
            "nextFundingTimestamp": 0,
        }
    )
}


def _position(symbol: str, quantity: str, funding: str = "0") -> Position:
    return Position.from_api(
        {
            "symbol": symbol,
            "netQuantity": quantity,
            "entryPrice": "150",
            "markPrice": "150",
            "cumulativeFundingPayment": funding,
            "positionId": symbol,
        }
    )


def _balance(asset: str, available: str, locked: str = "0") -> Balance:
    return Balance.from_api(asset, {"available": available, "locked": locked, "staked": "0"})


def _rows(positions: list[Position], balances: list[Balance]) -> list[PairRow]:
    return pair_rows(
        {p.symbol: p for p in positions},
        {b.asset: b for b in balances},
        MARKETS,
        MARKS,
        lambda asset: D("149.5") if asset == "SOL" else None,
    )


def test_a_short_perp_against_spot_is_a_pair_with_its_delta_basis_and_funding() -> None:
    [row] = _rows([_position("SOL_USDC_PERP", "-10", "1.25")], [_balance("SOL", "9.5", "0.5")])
    assert (row.asset, row.spot, row.perp, row.hedged) == ("SOL", D(10), D(-10), D(10))
    assert row.delta == 0 and row.delta_notional == 0
    assert row.basis_bps is not None and round(row.basis_bps, 2) == D("33.44")  # 0.5 / 149.5
    assert row.funding_earned == D("1.25")
    # 10 SOL x 150 x 0.0001 an hour, 24 payments a day: 0.15 x 24 = 3.60 received.
    assert row.per_day == D("3.6")
    assert spot_symbols([row]) == {"SOL_USDC"}
    assert pair_line(row) == (
        "⇄ SOL pair · earned +1.25 · now +0.0100%/1h → +3.60/day · "
        "Δ +0.00 SOL (+0.00 USDC) · basis +33.4 bps · spot 10.00 / perp -10.00"
    )


def test_a_partial_hedge_shows_what_is_left_exposed() -> None:
    [row] = _rows([_position("SOL_USDC_PERP", "-10")], [_balance("SOL", "4")])
    assert row.hedged == 4 and row.delta == -6 and row.delta_notional == D("-897.0")
    assert row.per_day == D("1.44")  # only the hedged 4 SOL count as the pair's carry


def test_long_perps_dust_and_assets_without_a_balance_are_not_pairs() -> None:
    positions = [
        _position("SOL_USDC_PERP", "10"),  # long perp and long spot: no hedge
        _position("ETH_USDC_PERP", "-2"),  # no ETH held
        _position("BTC_USDC_PERP", "-1"),  # 0.05 BTC is dust beside a 1 BTC short
    ]
    assert _rows(positions, [_balance("SOL", "10"), _balance("BTC", "0.05")]) == []


def test_a_pair_without_a_spot_price_or_mark_says_so_rather_than_guessing() -> None:
    rows = pair_rows(
        {"ETH_USDC_PERP": _position("ETH_USDC_PERP", "-2")},
        {"ETH": _balance("ETH", "2")},
        MARKETS,
        {},
        lambda _asset: None,
    )
    [row] = rows
    assert row.basis_bps is None and row.rate is None and row.per_day is None
    assert "basis — bps" in pair_line(row) and "now" not in pair_line(row)
