"""Knobs of the local exchange; everything that makes a run reproducible lives here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass
class SimConfig:
    """Settings shared by the engine and the server.

    ``funding_speedup`` compresses funding time so a demo or test sees an hourly
    payment within seconds; ``ts_as_strings`` reproduces what has been observed on
    Backpack: some WS payloads carry ``E``/``T`` as JSON strings (docs/PROTOCOL.md
    "Timestamps and units").
    """

    seed: int = 1
    funding_speedup: float = 1.0  # 3600 => an hourly interval passes every second
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    starting_usdc: Decimal = Decimal("100000")
    ts_as_strings: bool = False
    # Orders, fills and funding payments kept per account (each); older ones are
    # dropped so a long-running exchange does not grow without bound.
    history_cap: int = 20_000
    # Synthetic market shape: levels per side the market maker keeps (0 = no market
    # maker, empty books) and how many it re-quotes per step (work per step stays
    # O(requotes), not O(book)).
    book_levels: int = 200
    requotes_per_step: int = 3
    taker_probability: float = 0.15
    # A day of candles, a week of funding rates and a recent trades tape from before
    # the start (bpx_tui/sim/synthetic/backfill.py); off for engine tests that count
    # every trade and candle themselves.
    backfill: bool = True
