"""A spot–perp pair trade for the funding trader: both legs, or neither.

``short-perp`` buys the spot and sells the perpetual of one asset in the same size (it
earns the funding while the rate is positive: longs pay shorts); ``long-perp`` is the
reverse. Backpack has no atomic pair order, so the legs go one after the other on the
one send path (:meth:`OrderService.submit`), and this module owns what happens between
them:

- **The perp leg goes first.** It is the leg the exchange is likelier to refuse
  (leverage limit, margin, the market's own rules); refused, nothing was traded.
- **The spot leg is sized by what the perp leg filled**, so a partial first fill is
  hedged, not the size asked for.
- **A failed or short second leg is unwound at once**: a reduce-only market order on the
  perp for the unhedged quantity. Reduce-only so the unwind can never open a position
  the other way, and reducing, so the risk gate never holds it back.
- **An unknown outcome is never unwound blind**: if the spot leg's answer was lost the
  order may have filled, and an unwind would then leave the perp unhedged the other
  way. The report says so in capitals; the trader decides.

Nothing here is silent: every path ends in a :class:`PairReport` whose ``summary`` is
the line the trader reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from bpx_tui.exchange.errors import BackpackError, UnknownOrderOutcome
from bpx_tui.exchange.models import Market, Order
from bpx_tui.exchange.vocab import Side
from bpx_tui.trading.order import NewOrder, OrderIntent, build_order
from bpx_tui.trading.risk import DuplicateSubmit, RiskRejected

PairDirection = Literal["short-perp", "long-perp"]
DIRECTIONS: tuple[PairDirection, ...] = ("short-perp", "long-perp")
DAY_MS = 86_400_000
_ZERO = Decimal(0)
_REFUSALS = (BackpackError, RiskRejected, DuplicateSubmit)


@dataclass(frozen=True, slots=True)
class PairPlan:
    """The two legs as built (on each market's grid, checked), before anything is sent."""

    asset: str
    direction: PairDirection
    perp: NewOrder
    spot: NewOrder

    @property
    def quantity(self) -> Decimal:
        return self.perp.terms.quantity or _ZERO


def pair_markets(asset: str, markets: Mapping[str, Market]) -> tuple[Market, Market]:
    """(spot, perp) of ``asset`` against USDC, or BackpackError naming what is missing."""
    base = asset.upper()
    spot, perp = markets.get(f"{base}_USDC"), markets.get(f"{base}_USDC_PERP")
    if perp is None or not perp.is_perp:
        raise PairError(f"{base}: the exchange lists no {base}_USDC_PERP to pair")
    if spot is None or spot.is_perp:
        raise PairError(f"{base}: the exchange lists no {base}_USDC spot market to pair")
    return spot, perp


def plan_pair(
    asset: str, quantity: Decimal, direction: PairDirection, markets: Mapping[str, Market]
) -> PairPlan:
    """Both legs built exactly (``exact=True``): a size off either market's step is
    refused rather than rounded, so the legs are the same size or not sent at all."""
    spot_market, perp_market = pair_markets(asset, markets)
    perp_side: Side = "Ask" if direction == "short-perp" else "Bid"
    spot_side: Side = "Bid" if perp_side == "Ask" else "Ask"
    perp = build_order(
        OrderIntent(perp_market.symbol, perp_side, "Market", quantity=quantity),
        perp_market,
        exact=True,
    )
    spot = build_order(
        OrderIntent(spot_market.symbol, spot_side, "Market", quantity=quantity),
        spot_market,
        exact=True,
    )
    return PairPlan(asset.upper(), direction, perp, spot)


def funding_per_day(
    direction: PairDirection,
    quantity: Decimal,
    mark_price: Decimal,
    rate: Decimal,
    interval_ms: int,
) -> Decimal:
    """What the perp leg earns a day at ``rate`` per interval (negative: it pays).

    A positive rate means longs pay shorts, so ``short-perp`` earns it."""
    per_interval = quantity * mark_price * rate
    earned = per_interval if direction == "short-perp" else -per_interval
    return earned * DAY_MS / interval_ms


class PairError(BackpackError):
    """The pair cannot be planned (no such markets)."""


class PairSender(Protocol):
    """What the pair needs of an order service (``OrderService`` is one)."""

    async def submit(self, order: NewOrder, *, key: str | None = None) -> Order: ...


@dataclass(frozen=True, slots=True)
class PairReport:
    """How a pair trade ended; ``hedged`` only when both legs filled the same size."""

    plan: PairPlan
    perp: Order | None = None
    spot: Order | None = None
    unwind: Order | None = None
    problem: str = ""  # what went wrong, in the trader's words; empty when hedged
    unhedged: Decimal = _ZERO  # perp quantity left without its spot leg

    @property
    def hedged(self) -> bool:
        return not self.problem and self.unhedged == 0

    @property
    def summary(self) -> str:
        plan = self.plan
        legs = f"{plan.direction} {plan.asset}"
        if self.hedged and self.perp is not None:
            filled = self.perp.executed_quantity
            return f"pair {legs}: both legs filled, {filled:f} {plan.asset} hedged"
        return f"pair {legs}: {self.problem}"


class PairTrader:
    """Runs a :class:`PairPlan` on an order service's one send path."""

    def __init__(self, service: PairSender, markets: Mapping[str, Market]) -> None:
        self.service = service
        self.markets = markets

    async def execute(self, plan: PairPlan) -> PairReport:
        try:
            perp = await self.service.submit(plan.perp, key=f"pair:{plan.perp.symbol}")
        except UnknownOrderOutcome as exc:
            return PairReport(
                plan,
                problem=f"PERP LEG OUTCOME UNKNOWN ({exc}); the spot leg was not sent: "
                f"check the {plan.perp.symbol} position",
            )
        except _REFUSALS as exc:
            return PairReport(plan, problem=f"perp leg refused: {exc}; nothing was traded")
        filled = perp.executed_quantity
        if filled <= 0:
            return PairReport(
                plan, perp, problem=f"perp leg did not fill ({perp.status}); nothing was traded"
            )
        spot_market = self.markets[plan.spot.symbol]
        try:
            hedge = build_order(_resized(plan.spot, filled), spot_market)
            spot = await self.service.submit(hedge, key=f"pair:{plan.spot.symbol}")
        except UnknownOrderOutcome as exc:
            return PairReport(
                plan,
                perp,
                problem=f"SPOT LEG OUTCOME UNKNOWN ({exc}): not unwound, as it may have "
                f"filled; check {plan.asset} holdings against the perp position",
                unhedged=filled,
            )
        except _REFUSALS as exc:
            return await self._unwind(plan, perp, None, filled, f"spot leg refused: {exc}")
        short = filled - spot.executed_quantity
        if short > 0:
            why = f"spot leg filled {spot.executed_quantity:f} of {filled:f}"
            return await self._unwind(plan, perp, spot, short, why)
        return PairReport(plan, perp, spot)

    async def _unwind(
        self, plan: PairPlan, perp: Order, spot: Order | None, quantity: Decimal, why: str
    ) -> PairReport:
        perp_market = self.markets[plan.perp.symbol]
        back: Side = "Bid" if plan.perp.side == "Ask" else "Ask"
        intent = OrderIntent(
            perp_market.symbol, back, "Market", quantity=quantity, reduce_only=True
        )
        try:
            unwind = await self.service.submit(build_order(intent, perp_market))
        except (*_REFUSALS, UnknownOrderOutcome) as exc:
            return PairReport(
                plan,
                perp,
                spot,
                problem=f"{why}; UNWIND FAILED ({exc}): {quantity:f} {plan.asset} of "
                f"{plan.perp.symbol} is UNHEDGED",
                unhedged=quantity,
            )
        left = quantity - unwind.executed_quantity
        if left > 0:
            return PairReport(
                plan,
                perp,
                spot,
                unwind,
                problem=f"{why}; the unwind filled {unwind.executed_quantity:f}: "
                f"{left:f} {plan.asset} of {plan.perp.symbol} is UNHEDGED",
                unhedged=left,
            )
        return PairReport(
            plan,
            perp,
            spot,
            unwind,
            problem=f"{why}; the perp leg was unwound ({unwind.executed_quantity:f} "
            f"{plan.asset}): the account is back where it was, less fees",
        )


def _resized(order: NewOrder, quantity: Decimal) -> OrderIntent:
    terms = order.terms
    return OrderIntent(terms.symbol, terms.side, "Market", quantity=quantity)
