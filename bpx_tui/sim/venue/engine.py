"""The local exchange: the API the server calls (docs/CONTRACTS.md, "Engine API").

Synchronous and deterministic: time comes only from ``clock_us`` and randomness only
from ``random.Random(config.seed)``, so a test with a fixed clock replays exactly.
Everything the outside world sees leaves through ``emit(stream, data, account_id)``
(``account_id`` set = private stream) or as the JSON-ready return value of a method;
refusals are :class:`~bpx_tui.sim.errors.SimError` with Backpack's code, message and
HTTP status.

Every public method that changes a book ends with ``_publish``, which sends one
``depth.<symbol>`` message per touched book with ``U..u`` covering exactly the levels
that changed, so the stream replayed onto any REST snapshot reproduces the book
(backpack-api.md §6.4).

Layers, each a module: :mod:`.core` (state, ids, stamping, depth publishing),
:mod:`.matching` (order entry, matching, triggers, settlement), :mod:`.lifecycle`
(funding, liquidation, periodic feeds), and this facade with the public REST-shaped
methods. Beyond the contract, tests and demos may use :meth:`Engine.deposit` and
:meth:`Engine.set_index`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bpx_tui.exchange.numbers import wire
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.errors import (
    bad_request,
    not_found,
    order_not_found,
)
from bpx_tui.sim.synthetic.market import SyntheticMarket
from bpx_tui.sim.venue import account_queries as queries
from bpx_tui.sim.venue.core import FIRST_UPDATE_ID, Emit
from bpx_tui.sim.venue.lifecycle import Lifecycle
from bpx_tui.sim.venue.orders import (
    TRIGGER_PENDING,
)
from bpx_tui.sim.venue.payload import parse_order
from bpx_tui.sim.venue.views import (
    order_rest,
    position_event,
)

Json = dict[str, Any]


class Engine(Lifecycle):
    """A Backpack-compatible exchange in memory: the API the server calls (CONTRACTS.md)."""

    def __init__(self, config: SimConfig, emit: Emit, clock_us: Callable[[], int]) -> None:
        super().__init__(config, emit, clock_us)
        self.synthetic = SyntheticMarket(self)
        self.synthetic.seed_books()
        for book in self.books.values():  # the seeded books are the starting snapshot
            book.changed = {}
            book.update_id = FIRST_UPDATE_ID
            self._top[book.symbol] = self._top_of(book)

    def create_account(self, api_key: str, usdc: Decimal | None = None) -> int:
        """A funded account for ``api_key`` (the existing one if the key is known)."""
        existing = self._keys.get(api_key)
        if existing is not None:
            return existing
        return self._add_account(api_key, self.config.starting_usdc if usdc is None else usdc)

    def account_for_key(self, api_key: str) -> int | None:
        return self._keys.get(api_key)

    def deposit(self, account_id: int, asset: str, amount: Decimal) -> None:
        """Credit an asset (tests and demo set-up; not a Backpack endpoint)."""
        self.account_by_id(account_id).deposit(asset, amount)

    def set_index(self, base_or_symbol: str, price: Decimal) -> None:
        """Pin an index price (tests, fault injection), then run price-driven checks."""
        self.prices.set_index(base_or_symbol, price, self._clock())
        self.advance()

    def assets(self) -> list[Json]:
        return queries.assets()

    def markets(self) -> list[Json]:
        return [spec.to_json() for spec in self.specs.values()]

    def market(self, symbol: str) -> Json:
        return self.spec(symbol).to_json()

    def ticker(self, symbol: str) -> Json:
        spec = self.spec(symbol)
        return self.data[symbol].ticker(self._clock(), self.prices.mark(spec.symbol))

    def tickers(self) -> list[Json]:
        return [self.ticker(symbol) for symbol in self.symbols]

    def depth(self, symbol: str, limit: int | None) -> Json:
        """REST snapshot: both sides ascending, ``lastUpdateId`` = last emitted ``u``."""
        spec = self.spec(symbol)
        limit = queries.page_limit(limit, 1000, 1000)
        if limit == 0:
            raise bad_request("Invalid limit")
        book = self.books[symbol]
        ask_prices = book.asks.prices[:limit]
        bid_prices = book.bids.prices[-limit:]
        asks, bids = book.asks.levels, book.bids.levels
        return {
            "asks": [[spec.price_text(p), spec.qty_text(asks[p].qty)] for p in ask_prices],
            "bids": [[spec.price_text(p), spec.qty_text(bids[p].qty)] for p in bid_prices],
            "lastUpdateId": str(book.update_id),
            "timestamp": self._clock(),
        }

    def trades(self, symbol: str, limit: int | None) -> list[Json]:
        self.spec(symbol)
        limit = queries.page_limit(limit, 100, 1000)
        trades = self.data[symbol].trades
        return list(trades)[-limit:] if limit else []

    def klines(
        self,
        symbol: str,
        interval: str,
        start_s: int,
        end_s: int | None,
        price_type: str | None,
    ) -> list[Json]:
        self.spec(symbol)
        start = queries.to_int(start_s, "startTime")
        if start is None:
            raise bad_request('missing field "startTime"')
        end = queries.to_int(end_s, "endTime")
        if end is None:
            end = self._clock() // 1_000_000 + 1
        return self.data[symbol].klines(interval, start, end, price_type)

    def mark_prices(self, symbol: str | None) -> list[Json]:
        symbols = self.symbols if symbol is None else [self.spec(symbol).symbol]
        next_ms = self.next_funding_us // 1000
        rows = []
        for sym in symbols:
            state = self.prices.states[sym]
            if not state.spec.is_perp:
                continue
            rows.append(
                {
                    "fundingRate": wire(state.funding_rate),
                    "indexPrice": wire(state.index_dec),
                    "markPrice": wire(state.mark),
                    "nextFundingTimestamp": next_ms,
                    "symbol": sym,
                }
            )
        return rows

    def funding_rates(self, symbol: str, limit: int | None, offset: int | None) -> list[Json]:
        self.spec(symbol)
        limit = queries.page_limit(limit, 100, 10000)
        start = max(0, queries.to_int(offset, "offset") or 0)
        return self.rate_history[symbol].page(offset=start, limit=limit)

    def open_interest(self, symbol: str | None) -> list[Json]:
        symbols = self.symbols if symbol is None else [self.spec(symbol).symbol]
        now_ms = self._clock() // 1000
        rows = []
        for sym in symbols:
            spec = self.specs[sym]
            if not spec.is_perp:
                continue
            rows.append(
                {
                    "symbol": sym,
                    "openInterest": spec.qty_text(self.open_interest_steps(sym)),
                    "timestamp": now_ms,
                }
            )
        return rows

    def execute_order(self, account_id: int, payload: dict[str, Any]) -> Json:
        """``POST /api/v1/order``: validate, match, and return the settled order object."""
        account = self.account_by_id(account_id)
        request = parse_order(payload, self.specs)
        try:
            order = self._place(account, request)
        finally:
            self._publish()
        return order_rest(order, request.spec)

    def cancel_order(
        self, account_id: int, symbol: str, order_id: str | None, client_id: int | None
    ) -> Json:
        account = self.account_by_id(account_id)
        spec = self.spec(symbol)
        order = self._find_open(account, spec.symbol, order_id, client_id)
        if order is None:
            raise order_not_found()
        self._cancel(account, order)
        self._publish()
        return order_rest(order, spec)

    def cancel_all(self, account_id: int, symbol: str, order_type: str | None) -> list[Json]:
        account = self.account_by_id(account_id)
        spec = self.spec(symbol)
        if order_type not in (None, "RestingLimitOrder", "ConditionalOrder"):
            raise bad_request('failed to parse "orderType": Expect a valid enumeration value')
        cancelled = []
        for order in list(account.open_orders.values()):
            if order.symbol != spec.symbol:
                continue
            if (
                order_type == "RestingLimitOrder"
                and order.is_trigger
                and order.status == TRIGGER_PENDING
            ):
                continue
            if order_type == "ConditionalOrder" and order.status != TRIGGER_PENDING:
                continue
            self._cancel(account, order)
            cancelled.append(order_rest(order, spec))
        self._publish()
        return cancelled

    def get_order(
        self, account_id: int, symbol: str, order_id: str | None, client_id: int | None
    ) -> Json:
        account = self.account_by_id(account_id)
        spec = self.spec(symbol)
        order = self._find_open(account, spec.symbol, order_id, client_id)
        if order is None:
            raise not_found("Order not found")
        return order_rest(order, spec)

    def open_orders(
        self, account_id: int, symbol: str | None, market_type: str | None
    ) -> list[Json]:
        account = self.account_by_id(account_id)
        if symbol is not None:
            self.spec(symbol)
        rows = []
        for order in account.open_orders.values():
            spec = self.specs[order.symbol]
            if symbol is not None and order.symbol != symbol:
                continue
            if market_type is not None and spec.market_type != market_type:
                continue
            rows.append(order_rest(order, spec))
        return rows

    def position_snapshot(self, account_id: int, symbol: str | None) -> list[Json]:
        """The no-``e`` payloads sent when a client subscribes to positionUpdate (§6.5)."""
        account = self.account_by_id(account_id)
        rows = []
        now = self._clock()
        for sym, position in account.positions.items():
            if symbol is not None and sym != symbol:
                continue
            spec = self.specs[sym]
            data = position_event(position, spec, self._figures(account, position, spec), None)
            rows.append(self._stamp(data, now))
        return rows

    def positions(self, account_id: int, symbol: str | None) -> list[Json]:
        account = self.account_by_id(account_id)
        if symbol is not None:
            self.spec(symbol)
        rows = []
        for sym, position in account.positions.items():
            if symbol is not None and sym != symbol:
                continue
            spec = self.specs[sym]
            rows.append(
                queries.position_row(
                    position, spec, self._figures(account, position, spec), account
                )
            )
        if symbol is not None and not rows:
            raise not_found("Position not found")
        return rows

    def capital(self, account_id: int) -> Json:
        return queries.capital(self, self.account_by_id(account_id))

    def collateral(self, account_id: int) -> Json:
        return queries.collateral(self, self.account_by_id(account_id))

    def account(self, account_id: int) -> Json:
        return queries.account_settings(self, self.account_by_id(account_id))

    def max_order_quantity(self, account_id: int, params: dict[str, Any]) -> Json:
        return queries.max_order_quantity(self, self.account_by_id(account_id), params)

    def order_history(self, account_id: int, params: dict[str, Any]) -> list[Json]:
        return queries.order_history(self, self.account_by_id(account_id), params)

    def fill_history(self, account_id: int, params: dict[str, Any]) -> list[Json]:
        return queries.fill_history(self, self.account_by_id(account_id), params)

    def funding_history(self, account_id: int, params: dict[str, Any]) -> list[Json]:
        return queries.funding_history(self, self.account_by_id(account_id), params)

    def step_market(self, events: int = 1) -> None:
        """Advance the synthetic market by ``events`` engine events (see market_maker)."""
        for _ in range(events):
            self.synthetic.step()
