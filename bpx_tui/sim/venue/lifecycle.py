"""Time-driven work: mark-price triggers, funding payments, liquidations, feeds.

Runs from :meth:`Lifecycle.advance`, which the server calls on a timer; everything is
measured against the engine clock, so tests drive it by moving a fake clock.
"""

from __future__ import annotations

from decimal import Decimal

from bpx_tui.exchange.numbers import wire
from bpx_tui.sim.venue.accounts import ZERO, Account
from bpx_tui.sim.venue.core import history_keys
from bpx_tui.sim.venue.margin import margin
from bpx_tui.sim.venue.marketdata import naive_datetime
from bpx_tui.sim.venue.matching import Matching
from bpx_tui.sim.venue.orders import (
    Order,
)
from bpx_tui.sim.venue.views import (
    money,
)

MARKET_EVENT_EVERY_US = 1_000_000
OPEN_INTEREST_EVERY_US = 60_000_000


class Lifecycle(Matching):
    """Funding, liquidation and periodic market feeds."""

    def advance(self) -> None:
        """Mark-driven work at ``clock_us()``: triggers, funding, liquidations, feeds."""
        now = self._clock()
        for symbol in self.symbols:
            if self.triggers[symbol]:
                self._after_trades(symbol)
        self._publish()
        interval = self.funding_interval_us
        if now >= self.next_funding_us:
            missed = (now - self.next_funding_us) // interval
            if missed > 10:
                self.next_funding_us += missed * interval
            while now >= self.next_funding_us:
                self._pay_funding(self.next_funding_us)
                self.next_funding_us += interval
        self._liquidate_if_needed()
        self._publish()
        self._market_feeds(now)

    def _market_feeds(self, now: int) -> None:
        """Once per engine second per symbol: markPrice, ticker, position revaluation and
        mark/index candles; openInterest once a minute."""
        for symbol in self.symbols:
            last = self._last_market_event_us.get(symbol)
            if last is not None and now - last < MARKET_EVENT_EVERY_US:
                continue
            self._last_market_event_us[symbol] = now
            state = self.prices.states[symbol]
            data = self.data[symbol]
            data.record_price("Mark", state.mark, now)
            data.record_price("Index", state.index_dec, now)
            if state.spec.is_perp:
                self._public(
                    "markPrice." + symbol,
                    {
                        "e": "markPrice",
                        "s": symbol,
                        "p": wire(state.mark),
                        "f": wire(state.funding_rate),
                        "i": wire(state.index_dec),
                        "n": self.next_funding_us // 1000,
                    },
                )
            self._open_interest_feed(symbol, now)
            self._revalue_positions(symbol)
            ticker = data.ticker(now, state.mark)
            self._public_untimed(
                "ticker." + symbol,
                {
                    "e": "ticker",
                    "s": symbol,
                    "o": ticker["firstPrice"],
                    "c": ticker["lastPrice"],
                    "h": ticker["high"],
                    "l": ticker["low"],
                    "v": ticker["volume"],
                    "V": ticker["quoteVolume"],
                    "n": int(ticker["trades"]),
                },
            )

    def _revalue_positions(self, symbol: str) -> None:
        """A ``positionAdjusted`` per open position as its mark moves (new ``M``/``P``)."""
        spec = self.specs[symbol]
        if not spec.is_perp:
            return
        for account_id in sorted(self.holders[symbol]):
            account = self.accounts[account_id]
            if not account.system:
                position = account.positions[symbol]
                self._emit_position(account, position, spec, "positionAdjusted")

    def _open_interest_feed(self, symbol: str, now: int) -> None:
        """``openInterest.<symbol>`` every 60 s of engine time (§6.3), perps only."""
        spec = self.specs[symbol]
        last = self._last_open_interest_us.get(symbol)
        if not spec.is_perp or (last is not None and now - last < OPEN_INTEREST_EVERY_US):
            return
        self._last_open_interest_us[symbol] = now
        self._public_untimed(
            "openInterest." + symbol,
            {
                "e": "openInterest",
                "s": symbol,
                "o": spec.qty_text(self.open_interest_steps(symbol)),
            },
        )

    def _pay_funding(self, interval_end_us: int) -> None:
        """Longs pay shorts ``rate * mark * |qty|`` (a positive rate); the house rounds."""
        stamp = naive_datetime(interval_end_us)
        for symbol in self.symbols:
            spec = self.specs[symbol]
            if not spec.is_perp:
                continue
            state = self.prices.states[symbol]
            rate, mark = state.funding_rate, state.mark
            self.rate_history[symbol].add(
                {
                    "symbol": symbol,
                    "intervalEndTimestamp": stamp,
                    "fundingRate": wire(rate),
                },
                interval_end_us // 1000,
            )
            for account_id in sorted(self.holders[symbol]):
                account = self.accounts[account_id]
                position = account.positions[symbol]
                flow = -(rate * mark * spec.qty_dec(position.net)).quantize(Decimal("1e-8"))
                account.credit("USDC", flow)
                self.house["USDC"] = self.house.get("USDC", ZERO) - flow
                position.funding += flow
                if not account.system:
                    account.funding_history.add(
                        {
                            "userId": account.id,
                            "subaccountId": None,
                            "symbol": symbol,
                            "quantity": money(flow) if flow else "0",
                            "intervalEndTimestamp": stamp,
                            "fundingRate": wire(rate),
                        },
                        interval_end_us // 1000,
                        history_keys(spec),
                    )
                self._emit_position(account, position, spec, "positionAdjusted")

    def _liquidate_if_needed(self) -> None:
        candidates: set[int] = set()
        for holders in self.holders.values():
            candidates.update(holders)
        for account_id in sorted(candidates):
            account = self.accounts[account_id]
            if account.system or not account.positions:
                continue
            figures = margin(account, self.specs, self.prices)
            if figures.equity < figures.mmr:
                self._liquidate(account)

    def _liquidate(self, account: Account) -> None:
        """Cancel everything, then close every position at market (LiquidatePositionOnBook)."""
        account.liquidating = True
        try:
            for order in list(account.open_orders.values()):
                self._cancel(account, order)
            for symbol, position in list(account.positions.items()):
                spec = self.specs[symbol]
                is_bid = position.net < 0
                order = Order(
                    self._new_order_id(),
                    account.id,
                    symbol,
                    is_bid,
                    False,
                    None,
                    abs(position.net),
                    self._clock(),
                    reduce_only=True,
                )
                order.system_type = "LiquidatePositionOnBook"
                order.origin = "LIQUIDATION_AUTOCLOSE"
                self._execute(account, order, spec)
                if order.executed:
                    average = order.executed_quote // order.executed
                    self._public(
                        "liquidation",
                        {
                            "e": "liquidation",
                            "q": spec.qty_text(order.executed),
                            "p": spec.price_text(average),
                            "S": order.side,
                            "s": symbol,
                        },
                    )
                self._publish()
        finally:
            account.liquidating = False
