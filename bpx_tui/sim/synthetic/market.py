"""The synthetic market: a market-maker account keeps a deep book, a taker prints trades.

Per step (one call of :meth:`SyntheticMarket.step`) one market -- the next one its
:class:`~.schedule.Schedule` names: watched markets often, the rest rarely -- gets:

1. its index walked (engine time based, see :mod:`.price_walk`) and a *recentre*
   event: quotes now on the wrong side of the new touch are pulled, the touch is
   refilled, and a user order the market has moved through is taken;
2. ``requotes_per_step`` re-quote events, each replacing one level: mostly near the
   touch (exponential distance), sometimes anywhere in the ladder so the far side
   stays populated; sizes decay away from the touch;
3. with ``taker_probability``, a market order from the taker account.

Each event is published on its own, so a step emits a handful of depth messages and
costs O(levels changed): nothing here ever scans a whole book.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.gcpause import collector_paused
from bpx_tui.sim.synthetic.backfill import backfill
from bpx_tui.sim.synthetic.funding_carry import FundingCarry
from bpx_tui.sim.synthetic.price_walk import PriceWalk
from bpx_tui.sim.synthetic.schedule import Schedule, Watched
from bpx_tui.sim.venue.engine import Engine
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.orders import CANCELLED, Order
from bpx_tui.sim.venue.universe import CORE_SYMBOLS

SYSTEM_USDC = Decimal(10) ** 12
SYSTEM_BASE = Decimal(10) ** 9
SPACING_TICKS = {"BTC_USDC_PERP": 5, "ETH_USDC_PERP": 2}
HALF_SPREAD_TICKS = 1
MEAN_REQUOTE_DISTANCE = 12.0
DEEP_REQUOTE_SHARE = 0.35
GAP_PROBABILITY = 0.08


def engine_with_market(
    config: SimConfig,
    emit: Callable[[str, dict[str, Any], int | None], None],
    clock_us: Callable[[], int],
) -> Engine:
    """A venue with its synthetic market attached and seeded: what the server runs.

    The market's two system accounts are opened first, so user accounts are numbered
    after them whether or not the market maker quotes (``book_levels`` 0).
    """
    engine = Engine(config, emit, clock_us)
    market = SyntheticMarket(engine)
    engine.attach_market(market)
    if config.backfill:
        backfill(engine, config.seed, market.carry)
    return engine


class SyntheticMarket:
    """The market maker and the taker of one venue, and the index walk they follow."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        config = engine.config
        self.rng = random.Random(config.seed)
        self.carry = FundingCarry(config.seed, engine.specs.values())
        self.walk = PriceWalk(engine.prices, self.rng, self.carry)
        self.schedule = Schedule(engine.symbols, CORE_SYMBOLS)
        self.levels = max(0, config.book_levels)  # 0: no market maker (unit tests)
        self.requotes = max(0, config.requotes_per_step)
        self.taker_probability = config.taker_probability
        accounts = engine.accounts
        self.maker = accounts.open("sim-market-maker", SYSTEM_USDC, system=True)
        self.taker = accounts.open("sim-taker", SYSTEM_USDC, system=True)
        for account in (self.maker, self.taker):
            for spec in engine.specs.values():
                if not spec.is_perp and spec.base not in account.balances:
                    account.deposit(spec.base, SYSTEM_BASE)
        # per symbol: (bids, asks) price -> the market maker's order there
        self.quotes: dict[str, tuple[dict[int, Order], dict[int, Order]]] = {
            symbol: ({}, {}) for symbol in engine.symbols
        }
        self._seed_books()

    # ------------------------------------------------------------------ helpers

    def _touch(self, spec: MarketSpec) -> tuple[int, int]:
        mark_ticks = self.engine.prices.states[spec.symbol].mark_ticks
        return mark_ticks - HALF_SPREAD_TICKS, mark_ticks + HALF_SPREAD_TICKS

    def _size(self, spec: MarketSpec, distance: int) -> int:
        decay = math.exp(-distance / (self.levels / 3))
        return max(
            spec.min_quantity_steps, int(spec.touch_size_steps * decay * self.rng.uniform(0.3, 1.7))
        )

    def _order(
        self,
        account_id: int,
        spec: MarketSpec,
        is_bid: bool,
        price: int | None,
        qty: int,
        tif: str = "GTC",
    ) -> Order:
        """A new order of one of the system accounts (a limit order when priced)."""
        engine = self.engine
        return Order(
            engine.ids.next(),
            account_id,
            spec.symbol,
            is_bid,
            price is not None,
            price,
            qty,
            engine.now_us(),
            tif=tif,
        )

    def _place(self, spec: MarketSpec, is_bid: bool, price: int, qty: int) -> None:
        """Rest a quote directly on the book: no events, the next publish reports it."""
        order = self._order(self.maker.id, spec, is_bid, price, qty)
        self.engine.books[spec.symbol].add(order)
        self.maker.open_orders[order.id] = order
        self.quotes[spec.symbol][0 if is_bid else 1][price] = order

    def _pull(self, spec: MarketSpec, is_bid: bool, price: int) -> bool:
        """Cancel the maker's quote at ``price``; False when there was none live."""
        quotes = self.quotes[spec.symbol][0 if is_bid else 1]
        order = quotes.pop(price, None)
        if order is None:
            return False
        book = self.engine.books[spec.symbol]
        if order.id not in book.orders:
            return False
        book.remove(order)
        self.maker.open_orders.pop(order.id, None)
        order.status = CANCELLED
        return True

    # ------------------------------------------------------------------ set-up

    def _seed_books(self) -> None:
        """Fill every book with ``levels`` quotes a side; the result is the books' starting
        snapshot, sent as no depth change (nobody listens yet)."""
        with collector_paused():  # ~12k quotes that all live on
            self._seed_quotes()
        for book in self.engine.books.values():
            self.engine.publisher.rebase(book)

    def _seed_quotes(self) -> None:
        for spec in self.engine.specs.values() if self.levels else ():
            bid, ask = self._touch(spec)
            spacing = SPACING_TICKS.get(spec.symbol, 1)
            for distance in range(self.levels):
                if distance and self.rng.random() < GAP_PROBABILITY:
                    continue
                self._place(spec, True, bid - distance * spacing, self._size(spec, distance))
                self._place(spec, False, ask + distance * spacing, self._size(spec, distance))

    def follow(self, watched: Watched) -> None:
        """Step the markets ``watched()`` names at the full rate (see :mod:`.schedule`)."""
        self.schedule.watched = watched

    # ------------------------------------------------------------------ the step

    def step(self) -> None:
        engine = self.engine
        matching = engine.matching
        symbol = self.schedule.next()
        spec = engine.specs[symbol]
        moved = self.walk.step(symbol, engine.now_us())
        if self.levels:
            self._recentre(spec)
            matching.finish_event()
            book = engine.books[symbol]
            for _ in range(self.requotes):
                self._requote(spec)  # never trades: publish the book directly
                if book.changed:
                    engine.publisher.book(book)
            if self.rng.random() < self.taker_probability:
                self._take(spec)
                matching.finish_event()
        if moved and engine.triggers.armed(symbol):
            matching.fire_due_triggers(symbol)
            matching.finish_event()

    def _recentre(self, spec: MarketSpec) -> None:
        engine = self.engine
        book = engine.books[spec.symbol]
        want_bid, want_ask = self._touch(spec)
        prices = book.asks.prices
        i = 0
        while i < len(prices) and prices[i] < want_ask:
            price = prices[i]
            self._pull(spec, False, price)
            if i < len(prices) and prices[i] == price:
                i += 1
        prices = book.bids.prices
        i = len(prices) - 1
        while i >= 0 and prices[i] > want_bid:
            self._pull(spec, True, prices[i])  # removing index i leaves 0..i-1 in place
            i -= 1
        self._sweep_crossed_users(spec, want_bid, want_ask)
        best_ask, best_bid = book.asks.best(), book.bids.best()
        bids, asks = self.quotes[spec.symbol]
        if want_bid not in bids and (best_ask is None or want_bid < best_ask):
            self._place(spec, True, want_bid, self._size(spec, 0))
        if want_ask not in asks and (best_bid is None or want_ask > best_bid):
            self._place(spec, False, want_ask, self._size(spec, 0))
        self._trim(spec, want_bid, want_ask)

    def _sweep_crossed_users(self, spec: MarketSpec, want_bid: int, want_ask: int) -> None:
        """The market moved through a user's resting order: the maker takes it."""
        matching = self.engine.matching
        book = self.engine.books[spec.symbol]
        best_ask = book.asks.best()
        if best_ask is not None and best_ask <= want_bid:
            qty = book.asks.qty_at(best_ask)
            order = self._order(self.maker.id, spec, True, want_bid, qty, tif="IOC")
            matching.execute(self.maker, order, spec)
        best_bid = book.bids.best()
        if best_bid is not None and best_bid >= want_ask:
            qty = book.bids.qty_at(best_bid)
            order = self._order(self.maker.id, spec, False, want_ask, qty, tif="IOC")
            matching.execute(self.maker, order, spec)

    def _trim(self, spec: MarketSpec, want_bid: int, want_ask: int) -> None:
        """Drop the farthest quote of a side that is too deep or reaches too far (O(1))."""
        book = self.engine.books[spec.symbol]
        reach = self.levels * SPACING_TICKS.get(spec.symbol, 1)
        most = self.levels * 3 // 2
        worst = book.bids.worst()
        if worst is not None and (worst < want_bid - reach or len(book.bids.prices) > most):
            self._pull(spec, True, worst)
        worst = book.asks.worst()
        if worst is not None and (worst > want_ask + reach or len(book.asks.prices) > most):
            self._pull(spec, False, worst)

    def _requote(self, spec: MarketSpec) -> None:
        rng = self.rng
        book = self.engine.books[spec.symbol]
        is_bid = rng.random() < 0.5
        if rng.random() < DEEP_REQUOTE_SHARE:
            distance = rng.randrange(self.levels)  # keeps the far ladder populated
        else:
            distance = min(int(rng.expovariate(1 / MEAN_REQUOTE_DISTANCE)), self.levels - 1)
        want_bid, want_ask = self._touch(spec)
        spacing = SPACING_TICKS.get(spec.symbol, 1)
        if is_bid:
            price = want_bid - distance * spacing
            best = book.asks.best()
            if best is not None and price >= best:
                return
        else:
            price = want_ask + distance * spacing
            best = book.bids.best()
            if best is not None and price <= best:
                return
        if distance and rng.random() < GAP_PROBABILITY:
            self._pull(spec, is_bid, price)
            return
        size = self._size(spec, distance)
        quote = self.quotes[spec.symbol][0 if is_bid else 1].get(price)
        if quote is not None and quote.id in book.orders:
            book.resize(quote, size)  # one level change, no new order object
        else:
            self._place(spec, is_bid, price, size)

    def _take(self, spec: MarketSpec) -> None:
        engine = self.engine
        taker = self.taker
        position = taker.positions.get(spec.symbol)
        net = position.net if position is not None else 0
        lean = max(-0.4, min(0.4, net / (spec.touch_size_steps * 20)))
        is_bid = self.rng.random() < 0.5 - lean
        qty = max(spec.min_quantity_steps, int(spec.touch_size_steps * self.rng.uniform(0.05, 1.2)))
        book = engine.books[spec.symbol]
        side = book.asks if is_bid else book.bids
        near = side.prices[:8] if is_bid else side.prices[-8:]
        order = self._order(taker.id, spec, is_bid, None, qty)
        engine.matching.execute(taker, order, spec)
        quotes = self.quotes[spec.symbol][1 if is_bid else 0]
        for price in near:
            quote = quotes.get(price)
            if quote is not None and quote.id not in book.orders:
                del quotes[price]
