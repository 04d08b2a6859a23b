"""The local exchange's one facade: the API the server calls (docs/CONTRACTS.md, "Engine API").

Synchronous and deterministic: time comes only from ``clock_us`` and randomness only
from the market driver's seeded generator, so a test with a fixed clock replays
exactly. Everything the outside world sees leaves through ``emit(stream, data,
account_id)`` (``account_id`` set = private stream) or as the JSON-ready return value
of a method; refusals are :class:`~bpx_tui.sim.errors.SimError` with Backpack's code,
message and HTTP status.

:class:`Engine` owns no logic of its own beyond shaping public answers: it builds the
venue's collaborators, each named for its job, and routes each call to them --
:class:`~.publisher.Publisher` (stream events), :class:`~.margin.Risk` (margin
figures), :class:`~.pretrade.PreTradeChecks`, :class:`~.matching.Matching` (books,
fills, cancels), :class:`~.settlement.Settlement` (fees and positions),
:class:`~.triggers.Triggers`, :class:`~.funding.Funding`,
:class:`~.liquidation.Liquidator`, :class:`~.feeds.MarketFeeds` and
:class:`~.account_queries.AccountQueries`.

What moves the market between requests is not part of the venue: a
:class:`MarketDriver` (the synthetic market) is attached with
:meth:`Engine.attach_market` and run by :meth:`Engine.step_market`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from bpx_tui.exchange.numbers import wire
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.errors import SimError, bad_request, not_found, order_not_found
from bpx_tui.sim.numbers import optional_integer, page_limit
from bpx_tui.sim.venue.account_queries import AccountQueries
from bpx_tui.sim.venue.account_settings import update_settings
from bpx_tui.sim.venue.accounts import Account, Accounts
from bpx_tui.sim.venue.feeds import MarketFeeds
from bpx_tui.sim.venue.funding import Funding
from bpx_tui.sim.venue.liquidation import Liquidator
from bpx_tui.sim.venue.margin import Risk
from bpx_tui.sim.venue.market_state import MarketState
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.matching import Matching
from bpx_tui.sim.venue.orders import TRIGGER_PENDING, Order, OrderIds
from bpx_tui.sim.venue.payload import parse_order
from bpx_tui.sim.venue.pretrade import PreTradeChecks
from bpx_tui.sim.venue.publisher import Emit, Publisher
from bpx_tui.sim.venue.settlement import Settlement
from bpx_tui.sim.venue.triggers import Triggers
from bpx_tui.sim.venue.universe import ASSETS, MARKETS, asset_json
from bpx_tui.sim.venue.views import order_rest, position_event

Json = dict[str, Any]


class MarketDriver(Protocol):
    """Whatever trades on the venue between client requests (the synthetic market)."""

    def step(self) -> None:
        """One engine event of market activity."""

    def follow(self, watched: Callable[[], frozenset[str]]) -> None:
        """Learn which markets clients watch; the driver may step the others less."""


class Engine:
    """A Backpack-compatible exchange in memory: the API the server calls."""

    def __init__(self, config: SimConfig, emit: Emit, clock_us: Callable[[], int]) -> None:
        self.config = config
        self.now_us = clock_us
        now = clock_us()
        self.market_state = markets = MarketState(MARKETS, now)
        self.specs, self.symbols = markets.specs, markets.symbols
        self.books, self.prices, self.data = markets.books, markets.prices, markets.data
        self.accounts = Accounts(self.symbols, config.history_cap)
        self.ids = OrderIds()
        self.risk = Risk(self.specs, self.prices)
        self.publisher = Publisher(emit, clock_us, config.ts_as_strings, self.specs, self.risk)
        self.triggers = Triggers(markets, self.publisher, self.ids, clock_us)
        self.matching = Matching(
            markets,
            self.accounts,
            self.risk,
            PreTradeChecks(markets, self.risk),
            Settlement(config, self.accounts, clock_us),
            self.triggers,
            self.publisher,
            self.ids,
            clock_us,
        )
        self.funding = Funding(config, markets, self.accounts, self.publisher, now)
        self._liquidator = Liquidator(
            self.specs, self.accounts, self.risk, self.matching, self.publisher, self.ids, clock_us
        )
        self._feeds = MarketFeeds(markets, self.accounts, self.funding, self.publisher)
        self._queries = AccountQueries(config, markets, self.risk)
        self._market: MarketDriver | None = None

    # ------------------------------------------------------------------ set-up

    def attach_market(self, market: MarketDriver) -> None:
        """The driver :meth:`step_market` runs (one per venue)."""
        if self._market is not None:
            raise RuntimeError("a market driver is already attached")
        self._market = market

    def follow_watched(
        self, watched: Callable[[], frozenset[str]], wanted: Callable[[str], bool]
    ) -> None:
        """Hand the market driver what clients watch, and the publisher which public
        streams anybody reads (the server's WebSocket hub knows both)."""
        self.publisher.wanted = wanted
        if self._market is not None:
            self._market.follow(watched)

    def create_account(self, api_key: str, usdc: Decimal | None = None) -> int:
        """A funded account for ``api_key`` (the existing one if the key is known)."""
        existing = self.accounts.id_for_key(api_key)
        if existing is not None:
            return existing
        funds = self.config.starting_usdc if usdc is None else usdc
        return self.accounts.open(api_key, funds).id

    def account_for_key(self, api_key: str) -> int | None:
        return self.accounts.id_for_key(api_key)

    def deposit(self, account_id: int, asset: str, amount: Decimal) -> None:
        """Credit an asset (tests and demo set-up; not a Backpack endpoint)."""
        self.accounts.get(account_id).deposit(asset, amount)

    def set_index(self, base_or_symbol: str, price: Decimal) -> None:
        """Pin an index price (tests, fault injection), then run price-driven checks."""
        self.prices.set_index(base_or_symbol, price, self.now_us())
        self.advance()

    def spec(self, symbol: object) -> MarketSpec:
        return self.market_state.spec(symbol)

    # ------------------------------------------------------------------ time-driven

    def step_market(self, events: int = 1) -> None:
        """Advance the attached market driver by ``events`` engine events."""
        market = self._market
        if market is None:
            raise RuntimeError("no market driver attached (see attach_market)")
        for _ in range(events):
            market.step()

    def advance(self) -> None:
        """Mark-driven work at ``clock_us()``: triggers, funding, liquidations, feeds."""
        now = self.now_us()
        matching = self.matching
        for symbol in self.symbols:
            if self.triggers.armed(symbol):
                matching.fire_due_triggers(symbol)
        matching.finish_event()
        self.funding.pay_due(now)
        self._liquidator.run()
        matching.finish_event()
        self._feeds.publish_due(now)

    # ------------------------------------------------------------------ public REST

    def assets(self) -> list[Json]:
        return [asset_json(*row) for row in ASSETS]

    def markets(self) -> list[Json]:
        return [spec.to_json() for spec in self.specs.values()]

    def market(self, symbol: str) -> Json:
        return self.spec(symbol).to_json()

    def ticker(self, symbol: str) -> Json:
        spec = self.spec(symbol)
        return self.data[symbol].ticker(self.now_us(), self.prices.mark(spec.symbol))

    def tickers(self) -> list[Json]:
        return [self.ticker(symbol) for symbol in self.symbols]

    def depth(self, symbol: str, limit: int | None) -> Json:
        """REST snapshot: both sides ascending, ``lastUpdateId`` = last emitted ``u``."""
        spec = self.spec(symbol)
        limit = page_limit(limit, 1000, 1000)
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
            "timestamp": self.now_us(),
        }

    def trades(self, symbol: str, limit: int | None) -> list[Json]:
        self.spec(symbol)
        limit = page_limit(limit, 100, 1000)
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
        start = optional_integer(start_s, "startTime")
        if start is None:
            raise bad_request('missing field "startTime"')
        end = optional_integer(end_s, "endTime")
        if end is None:
            end = self.now_us() // 1_000_000 + 1
        return self.data[symbol].klines(interval, start, end, price_type)

    def _perp_symbols(self, symbol: str | None) -> list[str]:
        """The perps a per-market query covers: all of them, or the one named."""
        symbols = self.symbols if symbol is None else [self.spec(symbol).symbol]
        return [sym for sym in symbols if self.specs[sym].is_perp]

    def mark_prices(self, symbol: str | None) -> list[Json]:
        next_ms = self.funding.next_us // 1000
        rows = []
        for sym in self._perp_symbols(symbol):
            state = self.prices.states[sym]
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
        limit = page_limit(limit, 100, 10000)
        start = max(0, optional_integer(offset, "offset") or 0)
        return self.funding.history(symbol).page(offset=start, limit=limit)

    def open_interest(self, symbol: str | None) -> list[Json]:
        now_ms = self.now_us() // 1000
        return [
            {
                "symbol": sym,
                "openInterest": self.specs[sym].qty_text(self.accounts.open_interest_steps(sym)),
                "timestamp": now_ms,
            }
            for sym in self._perp_symbols(symbol)
        ]

    # ------------------------------------------------------------------ orders

    def execute_order(self, account_id: int, payload: dict[str, Any]) -> Json:
        """``POST /api/v1/order``: validate, match, and return the settled order object."""
        account = self.accounts.get(account_id)
        request = parse_order(payload, self.specs)
        try:
            order = self.matching.place(account, request)
        finally:
            self.matching.finish_event()
        return order_rest(order, request.spec)

    def cancel_order(
        self, account_id: int, symbol: str, order_id: str | None, client_id: int | None
    ) -> Json:
        account, spec, order = self._open_order(
            account_id, symbol, order_id, client_id, order_not_found
        )
        self.matching.cancel(account, order)
        self.matching.finish_event()
        return order_rest(order, spec)

    def cancel_all(self, account_id: int, symbol: str, order_type: str | None) -> list[Json]:
        account = self.accounts.get(account_id)
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
            self.matching.cancel(account, order)
            cancelled.append(order_rest(order, spec))
        self.matching.finish_event()
        return cancelled

    def get_order(
        self, account_id: int, symbol: str, order_id: str | None, client_id: int | None
    ) -> Json:
        _account, spec, order = self._open_order(
            account_id, symbol, order_id, client_id, lambda: not_found("Order not found")
        )
        return order_rest(order, spec)

    def _open_order(
        self,
        account_id: int,
        symbol: str,
        order_id: str | None,
        client_id: int | None,
        missing: Callable[[], SimError],
    ) -> tuple[Account, MarketSpec, Order]:
        """The open order a cancel or a query names, or ``missing()`` raised.

        Backpack reports the same miss differently to the two: a cancel of an unknown
        order is a 400 client error, a query for one a 404.
        """
        account = self.accounts.get(account_id)
        spec = self.spec(symbol)
        order = self.matching.find_open(account, spec.symbol, order_id, client_id)
        if order is None:
            raise missing()
        return account, spec, order

    def open_orders(
        self, account_id: int, symbol: str | None, market_type: str | None
    ) -> list[Json]:
        account = self.accounts.get(account_id)
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

    # ------------------------------------------------------------------ account reads

    def position_snapshot(self, account_id: int, symbol: str | None) -> list[Json]:
        """The no-``e`` payloads sent when a client subscribes to positionUpdate."""
        account = self.accounts.get(account_id)
        rows = []
        now = self.now_us()
        for sym, position in account.positions.items():
            if symbol is not None and sym != symbol:
                continue
            spec = self.specs[sym]
            figures = self.risk.position(account, position, spec)
            rows.append(self.publisher.stamp(position_event(position, spec, figures, None), now))
        return rows

    def positions(self, account_id: int, symbol: str | None) -> list[Json]:
        return self._queries.positions(self.accounts.get(account_id), symbol)

    def capital(self, account_id: int) -> Json:
        return self._queries.capital(self.accounts.get(account_id))

    def collateral(self, account_id: int) -> Json:
        return self._queries.collateral(self.accounts.get(account_id))

    def account(self, account_id: int) -> Json:
        return self._queries.settings(self.accounts.get(account_id))

    def update_account(self, account_id: int, body: object) -> Json:
        """``PATCH /api/v1/account``; answers with the settings as they now are."""
        account = self.accounts.get(account_id)
        update_settings(account, body)
        return self._queries.settings(account)

    def max_order_quantity(self, account_id: int, params: dict[str, Any]) -> Json:
        return self._queries.max_order_quantity(self.accounts.get(account_id), params)

    def order_history(self, account_id: int, params: dict[str, Any]) -> list[Json]:
        return self._queries.order_history(self.accounts.get(account_id), params)

    def fill_history(self, account_id: int, params: dict[str, Any]) -> list[Json]:
        return self._queries.fill_history(self.accounts.get(account_id), params)

    def funding_history(self, account_id: int, params: dict[str, Any]) -> list[Json]:
        return self._queries.funding_history(self.accounts.get(account_id), params)
