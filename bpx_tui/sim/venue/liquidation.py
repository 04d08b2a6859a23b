"""Liquidation: an account whose equity fell below maintenance margin is closed out.

Checked after every price-driven step (:meth:`Engine.advance`). Everything of the
account is cancelled, then each position is closed with a reduce-only market order
on the book, flagged the way Backpack flags such fills (``systemOrderType``
``LiquidatePositionOnBook``), and announced on the public ``liquidation`` stream.
"""

from __future__ import annotations

from collections.abc import Callable

from bpx_tui.sim.venue.accounts import Account, Accounts
from bpx_tui.sim.venue.margin import Risk
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.matching import Matching
from bpx_tui.sim.venue.orders import Order, OrderIds
from bpx_tui.sim.venue.publisher import Publisher


class Liquidator:
    """Finds accounts under maintenance margin and closes them out on the book."""

    def __init__(
        self,
        specs: dict[str, MarketSpec],
        accounts: Accounts,
        risk: Risk,
        matching: Matching,
        publisher: Publisher,
        ids: OrderIds,
        clock_us: Callable[[], int],
    ) -> None:
        self._specs = specs
        self._accounts = accounts
        self._risk = risk
        self._matching = matching
        self._publisher = publisher
        self._ids = ids
        self._clock = clock_us

    def run(self) -> None:
        """Liquidate every holder whose equity is below maintenance margin."""
        candidates: set[int] = set()
        for holders in self._accounts.holders.values():
            candidates.update(holders)
        for account_id in sorted(candidates):
            account = self._accounts.by_id[account_id]
            if account.system or not account.positions:
                continue
            figures = self._risk.margin(account)
            if figures.equity < figures.mmr:
                self._liquidate(account)

    def _liquidate(self, account: Account) -> None:
        """Cancel everything, then close every position at market."""
        matching = self._matching
        account.liquidating = True
        try:
            for order in list(account.open_orders.values()):
                matching.cancel(account, order)
            for symbol, position in list(account.positions.items()):
                spec = self._specs[symbol]
                is_bid = position.net < 0
                order = Order(
                    self._ids.next(),
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
                matching.execute(account, order, spec)
                if order.executed:
                    average = order.executed_quote // order.executed
                    self._publisher.public(
                        "liquidation",
                        {
                            "e": "liquidation",
                            "q": spec.qty_text(order.executed),
                            "p": spec.price_text(average),
                            "S": order.side,
                            "s": symbol,
                        },
                    )
                matching.finish_event()
        finally:
            account.liquidating = False
