"""The market feeds the venue publishes on a timer rather than on a trade.

Once per engine second per market: ``markPrice`` (perps), ``ticker`` (when somebody
streams it: ``Publisher.wanted``), a revaluation
``positionAdjusted`` for every open position (new mark, new PnL) and a mark/index
candle sample; ``openInterest`` once a minute. Timed by the engine clock, so a test
with a frozen clock gets none until it moves the clock.
"""

from __future__ import annotations

from bpx_tui.exchange.numbers import wire
from bpx_tui.sim.venue.accounts import Accounts
from bpx_tui.sim.venue.funding import Funding
from bpx_tui.sim.venue.market_state import MarketState
from bpx_tui.sim.venue.publisher import Publisher

MARKET_EVENT_EVERY_US = 1_000_000
OPEN_INTEREST_EVERY_US = 60_000_000


class MarketFeeds:
    """Publishes the periodic public feeds and position revaluations."""

    def __init__(
        self, markets: MarketState, accounts: Accounts, funding: Funding, publisher: Publisher
    ) -> None:
        self._markets = markets
        self._accounts = accounts
        self._funding = funding
        self._publisher = publisher
        self._last_market_event_us: dict[str, int] = {}
        self._last_open_interest_us: dict[str, int] = {}

    def publish_due(self, now: int) -> None:
        publisher, markets = self._publisher, self._markets
        for symbol in markets.symbols:
            last = self._last_market_event_us.get(symbol)
            if last is not None and now - last < MARKET_EVENT_EVERY_US:
                continue
            self._last_market_event_us[symbol] = now
            state = markets.prices.states[symbol]
            data = markets.data[symbol]
            data.record_price("Mark", state.mark, now)
            data.record_price("Index", state.index_dec, now)
            if state.spec.is_perp:
                publisher.public(
                    "markPrice." + symbol,
                    {
                        "e": "markPrice",
                        "s": symbol,
                        "p": wire(state.mark),
                        "f": wire(state.funding_rate),
                        "i": wire(state.index_dec),
                        "n": self._funding.next_us // 1000,
                    },
                )
            self._open_interest(symbol, now)
            self._revalue_positions(symbol)
            if not publisher.wanted("ticker." + symbol):
                continue  # nobody streams it: no day of candles aggregated for nothing
            ticker = data.ticker(now, state.mark)
            publisher.public_untimed(
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
        spec = self._markets.specs[symbol]
        if not spec.is_perp:
            return
        accounts = self._accounts
        for account_id in sorted(accounts.holders[symbol]):
            account = accounts.by_id[account_id]
            if not account.system:
                position = account.positions[symbol]
                self._publisher.position(account, position, spec, "positionAdjusted")

    def _open_interest(self, symbol: str, now: int) -> None:
        """``openInterest.<symbol>`` every 60 s of engine time, perps only."""
        spec = self._markets.specs[symbol]
        last = self._last_open_interest_us.get(symbol)
        if not spec.is_perp or (last is not None and now - last < OPEN_INTEREST_EVERY_US):
            return
        self._last_open_interest_us[symbol] = now
        self._publisher.public_untimed(
            "openInterest." + symbol,
            {
                "e": "openInterest",
                "s": symbol,
                "o": spec.qty_text(self._accounts.open_interest_steps(symbol)),
            },
        )
