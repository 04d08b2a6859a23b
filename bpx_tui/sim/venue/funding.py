"""Hourly funding on perps: longs pay shorts ``rate * mark * |qty|`` (a positive rate).

Payments fall on interval boundaries of engine time; ``funding_speedup`` shortens the
interval so a demo or a test sees a payment within seconds. Each payment is rounded
to USDC's 1e-6 per account -- what the account views show, so the history sums to the
cumulative figure -- and the house takes the other side of the rounding, so no
value appears or vanishes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bpx_tui.exchange.numbers import wire
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.venue.accounts import Accounts, history_keys
from bpx_tui.sim.venue.history import History
from bpx_tui.sim.venue.market_state import MarketState
from bpx_tui.sim.venue.marketdata import naive_datetime
from bpx_tui.sim.venue.markets import FUNDING_INTERVAL_MS
from bpx_tui.sim.venue.publisher import Publisher
from bpx_tui.sim.venue.views import MONEY, money

Json = dict[str, Any]
MAX_CATCH_UP = 10
"""Intervals paid one by one after a long pause; beyond that the missed ones are skipped."""


class Funding:
    """The funding schedule, the payments, and each perp's rate history."""

    def __init__(
        self,
        config: SimConfig,
        markets: MarketState,
        accounts: Accounts,
        publisher: Publisher,
        now_us: int,
    ) -> None:
        self._markets = markets
        self._accounts = accounts
        self._publisher = publisher
        self.interval_us = max(1, int(FUNDING_INTERVAL_MS * 1000 / config.funding_speedup))
        self.next_us = (now_us // self.interval_us + 1) * self.interval_us
        self._rate_history: dict[str, History[Json]] = {
            symbol: History(config.history_cap) for symbol in markets.symbols
        }

        self._past: dict[str, Callable[[], list[tuple[int, Decimal]]]] = {}

    def defer_backfill(self, symbol: str, rates: Callable[[], list[tuple[int, Decimal]]]) -> None:
        """Rates of intervals that ended before the venue opened, made when first needed.

        ``rates()`` gives (end µs, rate), oldest first; it runs when the history is first
        read or the first live rate is recorded, so the past always comes first.
        """
        self._past[symbol] = rates

    def history(self, symbol: str) -> History[Json]:
        """``symbol``'s rate history, its deferred past included."""
        history = self._rate_history[symbol]
        past = self._past.pop(symbol, None)
        if past is not None:
            for end_us, rate in past():
                history.add(self._rate_row(symbol, end_us, rate), end_us // 1000)
        return history

    @staticmethod
    def _rate_row(symbol: str, end_us: int, rate: Decimal) -> Json:
        return {
            "symbol": symbol,
            "intervalEndTimestamp": naive_datetime(end_us),
            "fundingRate": wire(rate),
        }

    def pay_due(self, now: int) -> None:
        """Pay every interval that ended by ``now``."""
        interval = self.interval_us
        if now < self.next_us:
            return
        missed = (now - self.next_us) // interval
        if missed > MAX_CATCH_UP:
            self.next_us += missed * interval
        while now >= self.next_us:
            self._pay(self.next_us)
            self.next_us += interval

    def _pay(self, interval_end_us: int) -> None:
        stamp = naive_datetime(interval_end_us)
        accounts = self._accounts
        for symbol, spec in self._markets.specs.items():
            if not spec.is_perp:
                continue
            state = self._markets.prices.states[symbol]
            rate, mark = state.funding_rate, state.mark
            self.history(symbol).add(
                self._rate_row(symbol, interval_end_us, rate), interval_end_us // 1000
            )
            for account_id in sorted(accounts.holders[symbol]):
                account = accounts.by_id[account_id]
                position = account.positions[symbol]
                flow = -(rate * mark * spec.qty_dec(position.net)).quantize(MONEY)
                account.credit("USDC", flow)
                accounts.to_house("USDC", -flow)
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
                self._publisher.position(account, position, spec, "positionAdjusted")
