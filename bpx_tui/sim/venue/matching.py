"""Order entry and matching: price-time priority, fills, and what each fill triggers.

Also the order lifecycle around matching: post-only, reduce-only (never increases or
flips a position, shrinks resting reduce-only orders as the position shrinks), FOK,
self-trade prevention, firing trigger orders and arming attached take-profit/stop-loss
legs. Money moves in :mod:`.settlement`; events leave through :mod:`.publisher`.

Every caller that changes a book ends its engine event with :meth:`Matching.finish_event`,
so each touched book goes out as exactly one depth message.
"""

from __future__ import annotations

from collections.abc import Callable

from bpx_tui.sim.errors import SimError, account_liquidating, bad_request, invalid_order
from bpx_tui.sim.venue.accounts import ZERO, Account, Accounts, history_keys
from bpx_tui.sim.venue.book import Book
from bpx_tui.sim.venue.margin import Risk
from bpx_tui.sim.venue.market_state import MarketState
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.orders import (
    CANCELLED,
    EXPIRED,
    FILLED,
    NEW,
    PARTIALLY_FILLED,
    TRIGGER_FAILED,
    Order,
    OrderIds,
)
from bpx_tui.sim.venue.payload import OrderRequest
from bpx_tui.sim.venue.pretrade import PreTradeChecks
from bpx_tui.sim.venue.publisher import Publisher
from bpx_tui.sim.venue.settlement import Settlement
from bpx_tui.sim.venue.triggers import Triggers
from bpx_tui.sim.venue.views import FillInfo, fill_row

MAX_TRIGGER_ROUNDS = 50
"""Trigger firings that may cascade from one price move before the rest waits: a
trigger's fill can move the last price onto the next trigger."""


class Matching:
    """Runs orders against the books and closes them."""

    def __init__(
        self,
        markets: MarketState,
        accounts: Accounts,
        risk: Risk,
        checks: PreTradeChecks,
        settlement: Settlement,
        triggers: Triggers,
        publisher: Publisher,
        ids: OrderIds,
        clock_us: Callable[[], int],
    ) -> None:
        # the matching loop reads these per fill: one attribute hop, not two
        self._specs = markets.specs
        self._books = markets.books
        self._data = markets.data
        self._accounts = accounts.by_id
        self._risk = risk
        self._checks = checks
        self._settlement = settlement
        self._triggers = triggers
        self._publisher = publisher
        self._ids = ids
        self._clock = clock_us
        self._touched: set[tuple[int, str]] = set()  # (account, symbol) whose position moved

    # ------------------------------------------------------------------ entry points

    def finish_event(self) -> None:
        """End of an engine event: settle reduce-only orders, then publish the books.

        Resting reduce-only orders of every account whose position changed are shrunk or
        expired first, so their level changes go out in the same depth message.
        """
        while self._touched:
            touched, self._touched = self._touched, set()
            for account_id, symbol in sorted(touched):
                self._enforce_reduce_only(self._accounts[account_id], symbol)
        publish = self._publisher.book
        for book in self._books.values():
            if book.changed:
                publish(book)

    def place(self, account: Account, request: OrderRequest) -> Order:
        """Turn a validated request into an order: arm it (trigger) or run it now."""
        spec = request.spec
        if account.liquidating:
            raise account_liquidating()
        if request.price is not None:
            self._checks.check_band(spec, request.price)
        order = Order(
            self._ids.next(),
            account.id,
            spec.symbol,
            request.is_bid,
            request.is_limit,
            request.price,
            request.quantity,
            self._clock(),
            tif=request.tif,
            post_only=request.post_only,
            reduce_only=True if request.reduce_only else None,
            client_id=request.client_id,
            stp=request.stp,
            quote_quantity=request.quote_quantity,
        )
        order.attached = request.attached
        if request.trigger_price is not None:
            order.trigger_price = request.trigger_price
            order.trigger_quantity = request.trigger_quantity
            order.trigger_by = request.trigger_by
            self._triggers.arm(account, order, spec)
            return order
        self._checks.check_funds(account, order, spec)
        self.execute(account, order, spec)
        return order

    def execute(self, account: Account, order: Order, spec: MarketSpec) -> None:
        """Run a live (non-trigger) order: checks, accept, match, then rest or expire."""
        book = self._books[spec.symbol]
        opposite = book.side(not order.is_bid)
        if order.post_only and order.price is not None:
            best = opposite.best()
            if best is not None and (
                (order.is_bid and order.price >= best) or (not order.is_bid and order.price <= best)
            ):
                self._finish(account, order, spec, EXPIRED, "PostOnlyTaker", accepted=False)
                raise invalid_order("Order would immediately match and take")
        if order.reduce_only:
            allowed = account.reducible(spec.symbol, order.is_bid)
            if allowed == 0:
                self._finish(account, order, spec, EXPIRED, "ReduceOnlyNotReduced", False)
                return
            if order.quantity is not None and order.quantity > allowed:
                order.quantity = allowed
        if (
            order.tif == "FOK"
            and order.quantity is not None
            and self._fillable(account, order, spec) < order.quantity
        ):
            account.record_order(order, spec)
            self._publisher.order(account, "orderAccepted", order, spec)
            self._finish(account, order, spec, EXPIRED, "FillOrKill", accepted=True)
            return
        account.record_order(order, spec)
        self._publisher.order(account, "orderAccepted", order, spec)
        stop_reason = self._match(account, order, spec, book)
        if order.quantity is not None and order.remaining == 0:
            self._finish(account, order, spec, FILLED, None, accepted=True)
        elif stop_reason is not None:
            self._finish(account, order, spec, EXPIRED, stop_reason, accepted=True)
        elif order.is_limit and order.tif == "GTC":
            book.add(order)
            account.open_orders[order.id] = order
        elif order.quantity is None and order.executed:
            # a quote budget spent down to less than one step at the next price
            self._finish(account, order, spec, FILLED, None, accepted=True)
        else:
            reason = "ImmediateOrCancel" if order.is_limit else "InsufficientLiquidity"
            self._finish(account, order, spec, EXPIRED, reason, accepted=True)
        self.fire_due_triggers(spec.symbol)

    def cancel(self, account: Account, order: Order) -> None:
        spec = self._specs[order.symbol]
        book = self._books[order.symbol]
        if order.id in book.orders:
            book.remove(order)
        self._triggers.disarm(order)
        account.open_orders.pop(order.id, None)
        order.status = CANCELLED
        order.updated_us = self._clock()
        self._publisher.order(account, "orderCancelled", order, spec)

    def find_open(
        self, account: Account, symbol: str, order_id: str | None, client_id: int | None
    ) -> Order | None:
        if (order_id is None) == (client_id is None):
            raise bad_request("Specify exactly one of orderId and clientId")
        if client_id is not None:
            try:
                client_id = int(client_id)
            except (TypeError, ValueError):
                raise bad_request('failed to parse "clientId": expected an integer') from None
        for order in account.open_orders.values():
            if order.symbol != symbol:
                continue
            if order_id is not None and order.id == str(order_id):
                return order
            if client_id is not None and order.client_id == client_id:
                return order
        return None

    def fire_due_triggers(self, symbol: str) -> None:
        """Fire triggers that the last price (or anything else) has reached."""
        triggers = self._triggers
        for _ in range(MAX_TRIGGER_ROUNDS):
            if not triggers.armed(symbol):
                return
            due = triggers.due(symbol)
            if not due:
                return
            for order in due:
                self._fire(order)

    # ------------------------------------------------------------------ closing orders

    def _finish(
        self,
        account: Account,
        order: Order,
        spec: MarketSpec,
        status: str,
        reason: str | None,
        accepted: bool,
    ) -> None:
        """Close an order that does not rest: final status, history, and its event."""
        order.status = status
        order.expiry_reason = reason
        order.updated_us = self._clock()
        if not accepted:
            account.record_order(order, spec)
        if status == EXPIRED:
            self._publisher.order(account, "orderExpired", order, spec)
        elif status == TRIGGER_FAILED:
            self._publisher.order(account, "triggerFailed", order, spec)

    def _expire_resting(
        self, account: Account, order: Order, spec: MarketSpec, reason: str
    ) -> None:
        book = self._books[spec.symbol]
        if order.id in book.orders:
            book.remove(order)
        account.open_orders.pop(order.id, None)
        self._finish(account, order, spec, EXPIRED, reason, accepted=True)

    def _enforce_reduce_only(self, account: Account, symbol: str) -> None:
        """After a position change, resting reduce-only orders may not exceed it, and
        pending reduce-only triggers with nothing left to reduce are cancelled (a
        take-profit whose stop-loss closed the position; see :mod:`.triggers`)."""
        if account.system:
            return
        for orphan in self._triggers.orphans(account, symbol):
            self.cancel(account, orphan)
        spec = self._specs[symbol]
        book = self._books[symbol]
        for order in list(account.open_orders.values()):
            if order.symbol != symbol or not order.reduce_only or order.id not in book.orders:
                continue
            allowed = account.reducible(symbol, order.is_bid)
            if allowed == 0:
                self._expire_resting(account, order, spec, "ReduceOnlyNotReduced")
            elif order.remaining > allowed:
                excess = order.remaining - allowed
                book.reduce(order, excess)
                assert order.quantity is not None
                order.quantity -= excess
                self._publisher.order(account, "orderModified", order, spec)

    def _fire(self, order: Order) -> None:
        spec = self._specs[order.symbol]
        account = self._accounts[order.account_id]
        self._triggers.disarm(order)
        account.open_orders.pop(order.id, None)
        now = self._clock()
        order.triggered_at_ms = now // 1000
        quantity = self._triggers.steps(account, order, spec)
        if quantity <= 0:
            self._finish(account, order, spec, TRIGGER_FAILED, "StopWithoutPosition", True)
            return
        order.quantity = quantity
        order.status = NEW
        try:
            self._checks.check_funds(account, order, spec)
            self.execute(account, order, spec)
        except SimError:
            if order.status in (NEW, PARTIALLY_FILLED):
                self._finish(account, order, spec, TRIGGER_FAILED, "InsufficientMargin", True)

    # ------------------------------------------------------------------ matching

    def _fillable(self, account: Account, order: Order, spec: MarketSpec) -> int:
        """Steps an order could take right now (FOK), stopping where STP would stop it."""
        opposite = self._books[spec.symbol].side(not order.is_bid)
        total = 0
        for price in opposite.best_first():
            if order.price is not None and (
                (order.is_bid and price > order.price) or (not order.is_bid and price < order.price)
            ):
                break
            for maker in opposite.levels[price].orders:
                if maker.account_id == account.id and order.stp != "Allow":
                    if order.stp in ("RejectTaker", "RejectBoth"):
                        return total
                    continue
                total += maker.remaining
                if order.quantity is not None and total >= order.quantity:
                    return total
        return total

    def _taker_cap(
        self, account: Account, order: Order, spec: MarketSpec, price: int
    ) -> tuple[int, str | None]:
        """The most the taker may fill at ``price`` now, and the expiry reason when that
        is nothing because of reduce-only or spot funds (not size or quote budget)."""
        if order.quantity is not None:
            want = order.remaining
        else:
            assert order.quote_quantity is not None
            budget = int(order.quote_quantity.scaleb(spec.notional_decimals)) - order.executed_quote
            want = budget // price
        if want <= 0:
            return 0, None
        if order.reduce_only:
            want = min(want, account.reducible(spec.symbol, order.is_bid))
            if want <= 0:
                return 0, "ReduceOnlyNotReduced"
        if not spec.is_perp and not account.system and not order.is_limit:
            if order.is_bid:
                locks = self._risk.spot_locks(account)
                usdc = account.balance(spec.quote) - locks.get(spec.quote, ZERO)
                want = min(want, int(usdc.scaleb(spec.notional_decimals)) // price)
            else:
                base = account.balance(spec.base)
                want = min(want, int(base.scaleb(spec.quantity_decimals)))
            if want <= 0:
                return 0, "InsufficientFunds"
        return want, None

    def _match(self, account: Account, order: Order, spec: MarketSpec, book: Book) -> str | None:
        """Fill ``order`` against the opposite side; returns an expiry reason if stopped."""
        opposite = book.side(not order.is_bid)
        limit = order.price if order.is_limit else None
        accounts = self._accounts
        for price in opposite.best_first():
            if limit is not None and (
                (order.is_bid and price > limit) or (not order.is_bid and price < limit)
            ):
                return None
            level = opposite.levels.get(price)
            if level is None:
                continue
            for maker in list(level.orders):
                if maker.id not in book.orders:
                    continue
                want, reason = self._taker_cap(account, order, spec, price)
                if want <= 0:
                    return reason
                maker_account = accounts[maker.account_id]
                if maker.account_id == account.id and order.stp != "Allow":
                    if order.stp in ("RejectMaker", "RejectBoth"):
                        self._expire_resting(maker_account, maker, spec, "SelfTradePrevention")
                    if order.stp in ("RejectTaker", "RejectBoth"):
                        return "SelfTradePrevention"
                    continue
                maker_cap = maker.remaining
                if maker.reduce_only:
                    maker_cap = min(maker_cap, maker_account.reducible(spec.symbol, maker.is_bid))
                    if maker_cap == 0:
                        self._expire_resting(maker_account, maker, spec, "ReduceOnlyNotReduced")
                        continue
                qty = min(want, maker_cap)
                self._fill(account, order, maker_account, maker, spec, book, price, qty)
                if qty == want:  # the taker's own cap bound this fill: is it exhausted?
                    want, reason = self._taker_cap(account, order, spec, price)
                    if want <= 0:
                        return reason
        return None

    def _fill(
        self,
        taker_account: Account,
        taker: Order,
        maker_account: Account,
        maker: Order,
        spec: MarketSpec,
        book: Book,
        price: int,
        qty: int,
    ) -> None:
        now = self._clock()
        units = price * qty
        book.reduce(maker, qty)
        for order in (taker, maker):
            order.executed += qty
            order.executed_quote += units
            order.updated_us = now
        buyer_maker = maker.is_bid
        data = self._data[spec.symbol]
        trade_id, closed = data.record_trade(price, qty, units, now, buyer_maker)
        taker.status = (
            FILLED if taker.quantity is not None and taker.remaining == 0 else PARTIALLY_FILLED
        )
        if maker.remaining == 0:
            maker.status = FILLED
            book.remove(maker)
            maker_account.open_orders.pop(maker.id, None)
        else:
            maker.status = PARTIALLY_FILLED
        buyer_order = maker if buyer_maker else taker
        seller_order = taker if buyer_maker else maker
        publisher = self._publisher
        publisher.public(
            "trade." + spec.symbol,
            {
                "e": "trade",
                "s": spec.symbol,
                "p": spec.price_text(price),
                "q": spec.qty_text(qty),
                "b": buyer_order.id,
                "a": seller_order.id,
                "t": trade_id,
                "m": buyer_maker,
            },
        )
        if closed is not None:
            publisher.public_untimed("kline.1m." + spec.symbol, data.kline_event(closed, True))
        current = data.current_candle()
        if current is not None:
            publisher.public_untimed("kline.1m." + spec.symbol, data.kline_event(current, False))
        for account, order, is_maker in (
            (maker_account, maker, True),
            (taker_account, taker, False),
        ):
            fee, fee_symbol, moved = self._settlement.settle(
                account, order, spec, price, qty, is_maker
            )
            fill = FillInfo(trade_id, qty, price, is_maker, fee, fee_symbol)
            if not account.system:
                row = fill_row(order, spec, fill, order.side, now)
                account.fills.add(row, now // 1000, history_keys(spec))
                publisher.order(account, "orderFill", order, spec, fill)
            if moved is not None:
                publisher.position(account, moved[0], spec, moved[1])
            self._touched.add((account.id, spec.symbol))
        for account, order in ((maker_account, maker), (taker_account, taker)):
            if order.attached:
                self._triggers.follow_fill(account, order, spec)
