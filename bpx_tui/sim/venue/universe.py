"""What the local exchange lists: its markets and assets, shaped like live Backpack's.

The first four markets (BTC, ETH and SOL perps, SOL spot) are the venue's core: the
console's default watchlist, the synthetic market's full-rate tier when nobody says
what they watch, and what the snapshot tests draw. The rest of the universe follows,
named, ticked and stepped as Backpack lists them, at realistic price levels (late
2025). A market's listing position never changes, so adding one at the end leaves the
seeded books of those before it as they were.

Every non-core market is built by :func:`_perp` / :func:`_spot` from the few figures
that differ between markets; the filters and margin curves are derived from them the
way Backpack's own listing tiers are (majors 50x, large caps 20x, small caps 10x).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bpx_tui.sim.venue.markets import MarginFunction, MarketSpec

Json = dict[str, Any]

CORE: tuple[MarketSpec, ...] = (
    MarketSpec(
        symbol="BTC_USDC_PERP",
        base="BTC",
        quote="USDC",
        market_type="PERP",
        price_decimals=1,
        quantity_decimals=5,
        min_quantity_steps=1,
        max_quantity=None,
        min_price="0.1",
        max_price="1000000",
        start_price=Decimal("97000"),
        imf=MarginFunction(Decimal("0.02"), Decimal("0.0000935")),
        mmf=MarginFunction(Decimal("0.0125"), Decimal("0.0000561")),
        funding_upper_bps=100,
        funding_lower_bps=-100,
        open_interest_limit="4000",
        touch_size_steps=20_000,  # 0.2 BTC
    ),
    MarketSpec(
        symbol="ETH_USDC_PERP",
        base="ETH",
        quote="USDC",
        market_type="PERP",
        price_decimals=2,
        quantity_decimals=4,
        min_quantity_steps=1,
        max_quantity=None,
        min_price="0.01",
        max_price="100000",
        start_price=Decimal("3600"),
        imf=MarginFunction(Decimal("0.02"), Decimal("0.0001")),
        mmf=MarginFunction(Decimal("0.0125"), Decimal("0.00006")),
        funding_upper_bps=100,
        funding_lower_bps=-100,
        open_interest_limit="60000",
        touch_size_steps=20_000,  # 2 ETH
        vol_per_sqrt_s=1.3e-4,
    ),
    MarketSpec(
        symbol="SOL_USDC_PERP",
        base="SOL",
        quote="USDC",
        market_type="PERP",
        price_decimals=2,
        quantity_decimals=2,
        min_quantity_steps=1,
        max_quantity="50000",
        min_price="0.01",
        max_price="10000",
        start_price=Decimal("140"),
        imf=MarginFunction(Decimal("0.02"), Decimal("0.0001275")),
        mmf=MarginFunction(Decimal("0.0125"), Decimal("0.0000765")),
        funding_upper_bps=150,
        funding_lower_bps=-100,
        open_interest_limit="200000",
        touch_size_steps=3_000,  # 30 SOL
        vol_per_sqrt_s=1.6e-4,
    ),
    MarketSpec(
        symbol="SOL_USDC",
        base="SOL",
        quote="USDC",
        market_type="SPOT",
        price_decimals=2,
        quantity_decimals=2,
        min_quantity_steps=1,
        max_quantity=None,
        min_price="0.01",
        max_price=None,
        start_price=Decimal("140"),
        touch_size_steps=1_500,
        vol_per_sqrt_s=1.6e-4,
    ),
)


@dataclass(frozen=True)
class Tier:
    """Margin curve and funding bounds of a listing tier: ``imf`` base 1/max leverage."""

    imf_base: str
    imf_factor: str
    mmf_base: str
    mmf_factor: str
    funding_bps: int


LARGE = Tier("0.05", "0.00015", "0.025", "0.00009", 100)  # 20x
SMALL = Tier("0.1", "0.0003", "0.05", "0.00018", 200)  # 10x
TOUCH_NOTIONAL = Decimal(15_000)
"""USDC at the touch of a typical non-core book (core books carry their own)."""


def _touch_steps(price: Decimal, quantity_decimals: int, notional: Decimal) -> int:
    return max(1, int(notional / price * 10**quantity_decimals))


def _perp(
    base: str,
    price: str,
    price_decimals: int,
    quantity_decimals: int,
    tier: Tier,
    vol: float,
    open_interest_limit: str,
    touch: Decimal = TOUCH_NOTIONAL,
) -> MarketSpec:
    start = Decimal(price)
    return MarketSpec(
        symbol=f"{base}_USDC_PERP",
        base=base,
        quote="USDC",
        market_type="PERP",
        price_decimals=price_decimals,
        quantity_decimals=quantity_decimals,
        min_quantity_steps=1,
        max_quantity=None,
        min_price=str(Decimal(1).scaleb(-price_decimals)),
        max_price=str((start * 100).quantize(Decimal(1))),
        start_price=start,
        imf=MarginFunction(Decimal(tier.imf_base), Decimal(tier.imf_factor)),
        mmf=MarginFunction(Decimal(tier.mmf_base), Decimal(tier.mmf_factor)),
        funding_upper_bps=tier.funding_bps,
        funding_lower_bps=-tier.funding_bps,
        open_interest_limit=open_interest_limit,
        touch_size_steps=_touch_steps(start, quantity_decimals, touch),
        vol_per_sqrt_s=vol,
    )


def _spot(perp: MarketSpec, touch: Decimal = TOUCH_NOTIONAL / 2) -> MarketSpec:
    """The spot pair of a listed perp's base: same grid, same walk, thinner book."""
    return MarketSpec(
        symbol=f"{perp.base}_USDC",
        base=perp.base,
        quote="USDC",
        market_type="SPOT",
        price_decimals=perp.price_decimals,
        quantity_decimals=perp.quantity_decimals,
        min_quantity_steps=1,
        max_quantity=None,
        min_price=perp.min_price,
        max_price=None,
        start_price=perp.start_price,
        touch_size_steps=_touch_steps(perp.start_price, perp.quantity_decimals, touch),
        vol_per_sqrt_s=perp.vol_per_sqrt_s,
    )


PERPS: tuple[MarketSpec, ...] = (
    _perp("DOGE", "0.16", 5, 0, LARGE, 2.5e-4, "500000000"),
    _perp("XRP", "2.2", 4, 1, LARGE, 2.0e-4, "50000000"),
    _perp("SUI", "1.8", 4, 1, LARGE, 2.5e-4, "40000000"),
    _perp("BNB", "880", 2, 3, LARGE, 1.2e-4, "100000", touch=Decimal(25_000)),
    _perp("AVAX", "14", 3, 2, LARGE, 2.2e-4, "3000000"),
    _perp("LINK", "13", 3, 2, LARGE, 2.0e-4, "3000000"),
    _perp("ADA", "0.45", 4, 0, LARGE, 2.2e-4, "100000000"),
    _perp("LTC", "85", 2, 3, LARGE, 1.8e-4, "500000"),
    _perp("HYPE", "35", 3, 2, LARGE, 2.5e-4, "2000000", touch=Decimal(30_000)),
    _perp("AAVE", "170", 2, 2, LARGE, 2.2e-4, "200000"),
    _perp("APT", "3.0", 4, 2, SMALL, 2.5e-4, "10000000"),
    _perp("ARB", "0.22", 4, 0, SMALL, 2.6e-4, "100000000"),
    _perp("OP", "0.35", 4, 1, SMALL, 2.6e-4, "60000000"),
    _perp("NEAR", "2.2", 4, 1, SMALL, 2.5e-4, "10000000"),
    _perp("TIA", "0.7", 4, 1, SMALL, 3.0e-4, "20000000"),
    _perp("SEI", "0.15", 5, 0, SMALL, 3.0e-4, "200000000"),
    _perp("ENA", "0.28", 4, 0, SMALL, 3.0e-4, "100000000"),
    _perp("ONDO", "0.55", 4, 0, SMALL, 2.8e-4, "50000000"),
    _perp("JUP", "0.25", 4, 0, SMALL, 3.0e-4, "100000000"),
    _perp("WIF", "0.4", 4, 0, SMALL, 3.5e-4, "80000000"),
    _perp("TRUMP", "6.0", 3, 1, SMALL, 3.5e-4, "5000000"),
    _perp("FARTCOIN", "0.3", 4, 0, SMALL, 4.0e-4, "100000000"),
)
_BY_BASE = {spec.base: spec for spec in CORE + PERPS if spec.is_perp}

SPOTS: tuple[MarketSpec, ...] = tuple(
    _spot(_BY_BASE[base]) for base in ("BTC", "ETH", "SUI", "JUP", "WIF", "DOGE")
)

MARKETS: tuple[MarketSpec, ...] = CORE + PERPS + SPOTS
"""Listing order: the core first, then the other perps, then the other spot pairs."""
CORE_SYMBOLS: tuple[str, ...] = tuple(spec.symbol for spec in CORE)

# (symbol, display name, coingecko id, blockchain): the assets with a spot pair, and USDC.
ASSETS: tuple[tuple[str, str, str, str], ...] = (
    ("BTC", "Bitcoin", "bitcoin", "Bitcoin"),
    ("ETH", "Ethereum", "ethereum", "Ethereum"),
    ("SOL", "Solana", "solana", "Solana"),
    ("USDC", "USD Coin", "usd-coin", "Solana"),
    ("SUI", "Sui", "sui", "Sui"),
    ("JUP", "Jupiter", "jupiter-exchange-solana", "Solana"),
    ("WIF", "dogwifhat", "dogwifcoin", "Solana"),
    ("DOGE", "Dogecoin", "dogecoin", "Dogecoin"),
)

# Collateral weights of non-USDC spot balances (rest_capital_collateral.json).
COLLATERAL_WEIGHTS: dict[str, Decimal] = {
    "USDC": Decimal(1),
    "BTC": Decimal("0.95"),
    "ETH": Decimal("0.9"),
    "SOL": Decimal("0.9"),
    "SUI": Decimal("0.7"),
    "DOGE": Decimal("0.7"),
    "JUP": Decimal("0.6"),
    "WIF": Decimal("0.5"),
}


def asset_json(symbol: str, name: str, coingecko: str, chain: str) -> Json:
    """One ``/api/v1/assets`` row."""
    return {
        "symbol": symbol,
        "displayName": name,
        "coingeckoId": coingecko,
        "tokens": [
            {
                "blockchain": chain,
                "contractAddress": None,
                "depositEnabled": True,
                "displayName": name,
                "minimumDeposit": "0",
                "withdrawEnabled": True,
                "minimumWithdrawal": "0.0001" if symbol == "BTC" else "0.01",
                "maximumWithdrawal": None,
                "withdrawalFee": "0.00002" if symbol == "BTC" else "0.01",
            }
        ],
    }
