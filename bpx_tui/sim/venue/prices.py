"""Index, mark and funding rate of every market: the prices margin and funding use.

The venue only *holds* the index (a float, plus each perp's premium over it) and
derives mark and funding rate from it; what moves the index is outside the venue --
the synthetic market's random walk (:mod:`bpx_tui.sim.synthetic.price_walk`) or a
test pinning it with :meth:`PriceBoard.set_index`.
"""

from __future__ import annotations

from decimal import Decimal

from bpx_tui.sim.venue.markets import MarketSpec

BASE_FUNDING = Decimal("0.0000125")  # Backpack's usual positive-carry rate per hour


class PriceState:
    """Prices of one market. Spot markets share the index of their base asset.

    The index moves as floats; the exact ``Decimal`` index, mark and funding rate are
    derived lazily, because the market maker moves prices far more often than anybody
    reads them.
    """

    __slots__ = ("_exact", "carry", "index", "mark_ticks", "premium", "spec", "updated_us")

    def __init__(self, spec: MarketSpec, now_us: int) -> None:
        self.spec = spec
        self.index = float(spec.start_price)
        self.premium = 0.0
        self.carry = BASE_FUNDING  # the rate with no premium; the market driver moves it
        self.updated_us = now_us
        self.mark_ticks = 0
        self._exact: tuple[Decimal, Decimal, Decimal] | None = None
        self.refresh()

    def refresh(self) -> None:
        """The floats moved: recompute the touch and forget the exact figures."""
        spec = self.spec
        mark = self.index * (1.0 + self.premium) if spec.is_perp else self.index
        self.mark_ticks = round(mark * 10**spec.price_decimals)
        self._exact = None

    def _compute(self) -> tuple[Decimal, Decimal, Decimal]:
        spec = self.spec
        index = Decimal(repr(self.index)).quantize(spec.tick / 10_000)
        mark_float = self.index * (1.0 + self.premium) if spec.is_perp else self.index
        mark = Decimal(repr(mark_float)).quantize(spec.tick / 100)
        rate = Decimal(0)
        if spec.is_perp:
            assert spec.funding_upper_bps is not None and spec.funding_lower_bps is not None
            rate = Decimal(repr(self.premium / 8)).quantize(Decimal("1e-10")) + self.carry
            upper = Decimal(spec.funding_upper_bps) / 10_000
            lower = Decimal(spec.funding_lower_bps) / 10_000
            rate = min(max(rate, lower), upper)
        self._exact = (index, mark, rate)
        return self._exact

    @property
    def index_dec(self) -> Decimal:
        return (self._exact or self._compute())[0]

    @property
    def mark(self) -> Decimal:
        return (self._exact or self._compute())[1]

    @property
    def funding_rate(self) -> Decimal:
        """Fraction per interval: premium / 8 plus the carry, clamped to the bounds."""
        return (self._exact or self._compute())[2]

    def set_carry(self, carry: Decimal) -> None:
        """The market's carry (what funding is with no premium) moved."""
        if carry != self.carry:
            self.carry = carry
            self._exact = None

    def set_index(self, index: Decimal, now_us: int) -> None:
        self.index = float(index)
        self.updated_us = now_us
        self.refresh()


class PriceBoard:
    """All markets' prices; one random walk per base asset keeps spot and perp together."""

    def __init__(self, specs: list[MarketSpec], now_us: int) -> None:
        self.states = {spec.symbol: PriceState(spec, now_us) for spec in specs}
        self.by_base: dict[str, list[PriceState]] = {}
        for state in self.states.values():
            self.by_base.setdefault(state.spec.base, []).append(state)

    def mark(self, symbol: str) -> Decimal:
        return self.states[symbol].mark

    def asset_price(self, asset: str) -> Decimal:
        if asset == "USDC":
            return Decimal(1)
        states = self.by_base.get(asset)
        return states[0].index_dec if states else Decimal(0)

    def set_index(self, base_or_symbol: str, index: Decimal, now_us: int) -> None:
        """Pin an index (tests, fault injection); every market on that base follows."""
        base = self.states[base_or_symbol].spec.base if base_or_symbol in self.states else None
        for state in self.by_base.get(base or base_or_symbol, []):
            state.set_index(index, now_us)
