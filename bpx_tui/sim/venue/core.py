"""State of the local exchange and the primitives every other part uses.

Holds markets, books, accounts, prices and counters, and turns records into stream
events: ``_publish_book`` sends one ``depth.<symbol>`` message for everything a book
changed during an engine event (``U..u`` covering exactly the changed levels) and a
``bookTicker`` when the touch moved. No matching or time-driven logic lives here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.errors import (
    SimError,
    invalid_market,
)
from bpx_tui.sim.venue.accounts import ZERO, Account, Position
from bpx_tui.sim.venue.book import Book
from bpx_tui.sim.venue.history import History
from bpx_tui.sim.venue.margin import margin
from bpx_tui.sim.venue.marketdata import MarketData
from bpx_tui.sim.venue.markets import FUNDING_INTERVAL_MS, MARKETS, MarketSpec, fmt_units
from bpx_tui.sim.venue.orders import (
    Order,
)
from bpx_tui.sim.venue.prices import PriceBoard
from bpx_tui.sim.venue.views import (
    FillInfo,
    PositionFigures,
    order_event,
    position_event,
)

Json = dict[str, Any]
Emit = Callable[[str, dict[str, Any], int | None], None]
FIRST_UPDATE_ID = 1_000_000
FIRST_ORDER_ID = 4_200_000_000


def history_keys(spec: MarketSpec) -> tuple[tuple[str, str], ...]:
    """The index keys a history record of ``spec`` is filed under (see :mod:`.history`)."""
    return (("symbol", spec.symbol), ("marketType", spec.market_type))


class EngineCore:
    """Engine state, ids, event stamping and position figures."""

    def __init__(self, config: SimConfig, emit: Emit, clock_us: Callable[[], int]) -> None:
        self.config = config
        self._emit = emit
        self._clock = clock_us
        now = clock_us()
        self.rng = random.Random(config.seed)
        self.specs: dict[str, MarketSpec] = {spec.symbol: spec for spec in MARKETS}
        self.symbols: list[str] = list(self.specs)
        self.prices = PriceBoard(list(self.specs.values()), self.rng, now)
        self.books = {symbol: Book(symbol, FIRST_UPDATE_ID) for symbol in self.symbols}
        self.data = {symbol: MarketData(spec) for symbol, spec in self.specs.items()}
        self.accounts: dict[int, Account] = {}
        self._keys: dict[str, int] = {}
        self.house: dict[str, Decimal] = {}  # fees and rounding the exchange keeps
        self.holders: dict[str, set[int]] = {s: set() for s in self.symbols}
        self.triggers: dict[str, dict[str, Order]] = {s: {} for s in self.symbols}
        self.rate_history: dict[str, History[Json]] = {
            s: History(config.history_cap) for s in self.symbols
        }
        self._next_order_id = FIRST_ORDER_ID
        self._next_position_id = 7_000_000_000
        self._top: dict[str, tuple[int | None, int, int | None, int]] = {}
        self._touched: set[tuple[int, str]] = set()
        interval = self.funding_interval_us
        self.next_funding_us = (now // interval + 1) * interval
        self._last_market_event_us: dict[str, int] = {}
        self._last_open_interest_us: dict[str, int] = {}
        self._top = {symbol: (None, 0, None, 0) for symbol in self.symbols}

    @property
    def funding_interval_us(self) -> int:
        return max(1, int(FUNDING_INTERVAL_MS * 1000 / self.config.funding_speedup))

    def now_us(self) -> int:
        return self._clock()

    def _stamp(self, data: Json, now: int) -> Json:
        stamp: int | str = str(now) if self.config.ts_as_strings else now
        data["E"] = stamp
        data["T"] = stamp
        return data

    def _public(self, stream: str, data: Json) -> None:
        self._emit(stream, self._stamp(data, self._clock()), None)

    def _public_untimed(self, stream: str, data: Json) -> None:
        """Streams whose payload has ``E`` but no engine time ``T`` (ticker; kline's ``T``
        is the candle's close time, §6.3)."""
        now = self._clock()
        data["E"] = str(now) if self.config.ts_as_strings else now
        self._emit(stream, data, None)

    def _private(self, account: Account, stream: str, data: Json) -> None:
        if not account.system:
            self._emit(stream, self._stamp(data, self._clock()), account.id)

    def spec(self, symbol: object) -> MarketSpec:
        spec = self.specs.get(symbol) if isinstance(symbol, str) else None
        if spec is None:
            raise invalid_market(symbol)
        return spec

    def account_by_id(self, account_id: int) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise SimError(401, "UNAUTHORIZED", "Unknown account")
        return account

    def open_interest_steps(self, symbol: str) -> int:
        """Open interest in steps: the sum of every long (equal to the sum of shorts)."""
        total = 0
        for account_id in self.holders[symbol]:
            position = self.accounts[account_id].positions.get(symbol)
            if position is not None and position.net > 0:
                total += position.net
        return total

    def _new_order_id(self) -> str:
        self._next_order_id += 1
        return str(self._next_order_id)

    def _top_of(self, book: Book) -> tuple[int | None, int, int | None, int]:
        bid_prices, ask_prices = book.bids.prices, book.asks.prices
        bid = bid_prices[-1] if bid_prices else None
        ask = ask_prices[0] if ask_prices else None
        return (
            bid,
            book.bids.levels[bid].qty if bid is not None else 0,
            ask,
            book.asks.levels[ask].qty if ask is not None else 0,
        )

    def _publish_book(self, book: Book) -> None:
        """Emit the book's changes since the last call as one depth message (hot path)."""
        spec = self.specs[book.symbol]
        pd, qd = spec.price_decimals, spec.quantity_decimals
        ask_side, bid_side = book.asks.levels, book.bids.levels
        a: list[list[str]] = []
        b: list[list[str]] = []
        for is_bid, price in sorted(book.changed):
            level = (bid_side if is_bid else ask_side).get(price)
            (b if is_bid else a).append(
                [fmt_units(price, pd), fmt_units(level.qty if level is not None else 0, qd)]
            )
        book.changed = {}
        first = book.update_id + 1
        book.update_id += len(a) + len(b)
        now = self._clock()
        stamp: int | str = str(now) if self.config.ts_as_strings else now
        self._emit(
            "depth." + book.symbol,
            {
                "e": "depth",
                "E": stamp,
                "s": book.symbol,
                "a": a,
                "b": b,
                "U": first,
                "u": book.update_id,
                "T": stamp,
            },
            None,
        )
        top = self._top_of(book)
        if top != self._top[book.symbol]:
            self._top[book.symbol] = top
            bid, bid_qty, ask, ask_qty = top
            self._emit(
                "bookTicker." + book.symbol,
                {
                    "e": "bookTicker",
                    "E": stamp,
                    "s": book.symbol,
                    "a": fmt_units(ask, pd) if ask is not None else None,
                    "A": fmt_units(ask_qty, qd),
                    "b": fmt_units(bid, pd) if bid is not None else None,
                    "B": fmt_units(bid_qty, qd),
                    "u": book.update_id,
                    "T": stamp,
                },
                None,
            )

    def _add_account(self, api_key: str, usdc: Decimal, system: bool = False) -> int:
        account_id = len(self.accounts) + 1
        account = Account(
            id=account_id, api_key=api_key, system=system, history_cap=self.config.history_cap
        )
        account.deposit("USDC", usdc)
        self.accounts[account_id] = account
        self._keys[api_key] = account_id
        return account_id

    def _record(self, account: Account, order: Order) -> None:
        if not account.system and not order.recorded:
            order.recorded = True
            spec = self.specs[order.symbol]
            account.order_history.add(order, order.created_us // 1000, history_keys(spec))

    def _emit_order(
        self,
        account: Account,
        event: str,
        order: Order,
        spec: MarketSpec,
        fill: FillInfo | None = None,
    ) -> None:
        if not account.system:
            self._private(account, "account.orderUpdate", order_event(event, order, spec, fill))

    def _reducible(self, account: Account, symbol: str, is_bid: bool) -> int:
        """Steps a reduce-only order on this side may still fill without flipping."""
        position = account.positions.get(symbol)
        if position is None:
            return 0
        if is_bid and position.net < 0:
            return -position.net
        if not is_bid and position.net > 0:
            return position.net
        return 0

    def _figures(self, account: Account, position: Position, spec: MarketSpec) -> PositionFigures:
        assert spec.imf is not None and spec.mmf is not None
        mark = self.prices.mark(spec.symbol)
        notional = abs(spec.qty_dec(position.net)) * mark
        bids, asks = account.open_exposure(spec.symbol)
        long_case, short_case = position.net + bids, position.net - asks
        exposure = long_case if abs(long_case) >= abs(short_case) else short_case
        return PositionFigures(
            mark=mark,
            unrealized=position.unrealized(mark, spec),
            exposure=exposure,
            imf=spec.imf.at(notional),
            mmf=spec.mmf.at(notional),
            est_liq=self._liquidation_price(account, position, spec, notional),
        )

    def _liquidation_price(
        self, account: Account, position: Position, spec: MarketSpec, notional: Decimal
    ) -> Decimal:
        """Mark at which equity meets maintenance margin, other positions held still."""
        assert spec.mmf is not None
        figures = margin(account, self.specs, self.prices)
        mmf = spec.mmf.at(notional)
        other_mmr = figures.mmr - notional * mmf
        mark = self.prices.mark(spec.symbol)
        qty = spec.qty_dec(position.net)
        slack = figures.equity - other_mmr
        denominator = qty - abs(qty) * mmf
        if denominator == 0:
            return ZERO
        price = (qty * mark - slack) / denominator
        return max(price, ZERO)

    def _emit_position(
        self, account: Account, position: Position, spec: MarketSpec, event: str | None
    ) -> None:
        if account.system:
            return
        figures = self._figures(account, position, spec)
        data = position_event(position, spec, figures, event)
        self._private(account, "account.positionUpdate", data)
