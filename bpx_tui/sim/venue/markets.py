"""The local exchange's markets and assets, and the integer grid they trade on.

Inside the engine a price is an integer number of ticks and a quantity an integer
number of steps. Matching, queue bookkeeping and the depth stream then never touch
``Decimal`` (the synthetic market re-quotes thousands of levels a second), and a
notional ``ticks * steps`` is exact in units of ``tick * step``. Every tick and step
here is a power of ten, so turning units back into Backpack's strings is a divmod.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bpx_tui.sim.errors import invalid_market

Json = dict[str, Any]

CREATED_AT = "2025-01-21T06:34:54.691858"


_FLOAT_EXACT = 2**49


def fmt_units(units: int, decimals: int) -> str:
    """``units * 10**-decimals`` as a fixed-point string that keeps trailing zeros.

    Below 2**49 units a float carries the value to well within half a unit of the last
    decimal, so ``%.Nf`` rounds back to the exact digits and is ~3x faster than divmod.
    """
    if -_FLOAT_EXACT < units < _FLOAT_EXACT:
        return f"{units / _POW10[decimals]:.{decimals}f}"
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


_POW10 = [10**n for n in range(30)]


def units_to_decimal(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals)


_MAX_SCALE = 64


def decimal_to_units(value: Decimal, decimals: int) -> int | None:
    """Units on the grid, or ``None`` when ``value`` has more decimals than allowed.

    Exact integer arithmetic on the digits: ``Decimal.scaleb`` would round to the
    context's 28 digits (or raise ``Overflow`` for ``1E+999999``). A value whose
    exponent is beyond any grid is refused the same way rather than expanded.
    """
    if not value.is_finite():
        return None
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    shift = exponent + decimals
    if abs(shift) > _MAX_SCALE:
        return None
    coefficient = int("".join(map(str, digits)) or "0")
    scale: int = 10 ** abs(shift)
    if shift >= 0:
        units = coefficient * scale
    else:
        units, rest = divmod(coefficient, scale)
        if rest:
            return None
    return -units if sign else units


@dataclass(frozen=True)
class MarginFunction:
    """Backpack's ``{"type": "sqrt", "base", "factor"}``: max(base, factor * sqrt(notional))."""

    base: Decimal
    factor: Decimal

    def at(self, notional: Decimal) -> Decimal:
        if notional <= 0:
            return self.base
        return max(self.base, self.factor * notional.sqrt())

    def to_json(self) -> Json:
        return {"type": "sqrt", "base": str(self.base), "factor": str(self.factor)}


@dataclass(frozen=True)
class MarketSpec:
    """One market: filters as Backpack publishes them plus the simulator's start price."""

    symbol: str
    base: str
    quote: str
    market_type: str  # "PERP" | "SPOT"
    price_decimals: int
    quantity_decimals: int
    min_quantity_steps: int
    max_quantity: str | None
    min_price: str
    max_price: str | None
    start_price: Decimal
    imf: MarginFunction | None = None
    mmf: MarginFunction | None = None
    funding_upper_bps: int | None = None
    funding_lower_bps: int | None = None
    open_interest_limit: str | None = None
    max_multiplier: Decimal = Decimal("1.25")
    min_multiplier: Decimal = Decimal("0.75")
    # Synthetic market shape: typical size at the touch (in steps) and volatility.
    touch_size_steps: int = 1
    vol_per_sqrt_s: float = 1e-4

    @property
    def is_perp(self) -> bool:
        return self.market_type == "PERP"

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def step(self) -> Decimal:
        return Decimal(1).scaleb(-self.quantity_decimals)

    @property
    def notional_decimals(self) -> int:
        """Decimals of ``price * quantity`` in grid units (``ticks * steps``)."""
        return self.price_decimals + self.quantity_decimals

    def price_text(self, ticks: int) -> str:
        return fmt_units(ticks, self.price_decimals)

    def qty_text(self, steps: int) -> str:
        return fmt_units(steps, self.quantity_decimals)

    def price_dec(self, ticks: int) -> Decimal:
        return units_to_decimal(ticks, self.price_decimals)

    def qty_dec(self, steps: int) -> Decimal:
        return units_to_decimal(steps, self.quantity_decimals)

    def notional_dec(self, units: int) -> Decimal:
        return units_to_decimal(units, self.notional_decimals)

    def to_json(self) -> Json:
        """The ``/api/v1/markets`` object, shaped like the fixture ``rest_markets.json``."""
        perp = self.is_perp
        return {
            "symbol": self.symbol,
            "baseSymbol": self.base,
            "quoteSymbol": self.quote,
            "marketType": self.market_type,
            "filters": {
                "price": {
                    "minPrice": self.min_price,
                    "maxPrice": self.max_price,
                    "tickSize": str(self.tick),
                    "maxMultiplier": str(self.max_multiplier),
                    "minMultiplier": str(self.min_multiplier),
                    "maxImpactMultiplier": "1.03" if perp else "1.05",
                    "minImpactMultiplier": "0.97" if perp else "0.95",
                    "meanMarkPriceBand": (
                        {"maxMultiplier": "1.1", "minMultiplier": "0.9"} if perp else None
                    ),
                    "meanPremiumBand": {"tolerancePct": "0.05"} if perp else None,
                    "borrowEntryFeeMaxMultiplier": None if perp else "1.1",
                    "borrowEntryFeeMinMultiplier": None if perp else "0.9",
                },
                "quantity": {
                    "minQuantity": self.qty_text(self.min_quantity_steps),
                    "maxQuantity": self.max_quantity,
                    "stepSize": str(self.step),
                },
            },
            "imfFunction": self.imf.to_json() if self.imf else None,
            "mmfFunction": self.mmf.to_json() if self.mmf else None,
            "fundingInterval": FUNDING_INTERVAL_MS if perp else None,
            "fundingRateUpperBound": (
                str(self.funding_upper_bps) if self.funding_upper_bps is not None else None
            ),
            "fundingRateLowerBound": (
                str(self.funding_lower_bps) if self.funding_lower_bps is not None else None
            ),
            "openInterestLimit": self.open_interest_limit,
            "orderBookState": "Open",
            "createdAt": CREATED_AT,
            "visible": True,
            "positionLimitWeight": None,
        }


def market_spec(specs: dict[str, MarketSpec], symbol: object) -> MarketSpec:
    """The market a request names; anything else is Backpack's invalid-market 400."""
    spec = specs.get(symbol) if isinstance(symbol, str) else None
    if spec is None:
        raise invalid_market(symbol)
    return spec


FUNDING_INTERVAL_MS = 3_600_000
