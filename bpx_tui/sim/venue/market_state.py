"""What the venue holds per market: its spec, its book, its prices and its public trades.

One object so that the collaborators that work across markets (matching, triggers,
funding, feeds) are handed the markets once rather than four dicts each.
"""

from __future__ import annotations

from collections.abc import Iterable

from bpx_tui.sim.venue.book import Book
from bpx_tui.sim.venue.marketdata import MarketData
from bpx_tui.sim.venue.markets import MarketSpec, market_spec
from bpx_tui.sim.venue.prices import PriceBoard

FIRST_UPDATE_ID = 1_000_000
"""Depth update ids start high, like Backpack's, so a client never sees a small ``u``."""


class MarketState:
    """The venue's markets, in listing order."""

    def __init__(self, specs: Iterable[MarketSpec], now_us: int) -> None:
        self.specs: dict[str, MarketSpec] = {spec.symbol: spec for spec in specs}
        self.symbols: list[str] = list(self.specs)
        self.prices = PriceBoard(list(self.specs.values()), now_us)
        self.books = {symbol: Book(symbol, FIRST_UPDATE_ID) for symbol in self.symbols}
        self.data = {symbol: MarketData(spec) for symbol, spec in self.specs.items()}

    def spec(self, symbol: object) -> MarketSpec:
        """The market a request names; anything else is Backpack's invalid-market 400."""
        return market_spec(self.specs, symbol)
