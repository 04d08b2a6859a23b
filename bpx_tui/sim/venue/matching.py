"""Order entry and matching: validation against state, price-time priority, fills.

Also the order lifecycle around matching: post-only, reduce-only (never increases or
flips a position, shrinks resting reduce-only orders as the position shrinks), FOK,
self-trade prevention, trigger orders and attached take-profit/stop-loss legs, and
settlement of each fill into positions, balances and the house's fees.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from bpx_tui.sim.errors import (
    SimError,
    bad_request,
    insufficient_funds,
    insufficient_margin,
    invalid_order,
    invalid_price,
)
from bpx_tui.sim.venue.accounts import ZERO, Account, Position
from bpx_tui.sim.venue.book import Book
from bpx_tui.sim.venue.core import EngineCore, history_keys
from bpx_tui.sim.venue.margin import margin, spot_locks
from bpx_tui.sim.venue.markets import MarketSpec
from bpx_tui.sim.venue.orders import (
    CANCELLED,
    EXPIRED,
    FILLED,
    NEW,
    PARTIALLY_FILLED,
    TRIGGER_FAILED,
    TRIGGER_PENDING,
    Order,
)
from bpx_tui.sim.venue.payload import OrderRequest
from bpx_tui.sim.venue.views import (
    FillInfo,
    fill_row,
)

MAX_TRIGGER_ROUNDS = 50


class Matching(EngineCore):
    """Matching and order lifecycle on top of :class:`EngineCore`."""

    def _publish(self) -> None:
        """End of an engine event: settle reduce-only orders, then publish the books.

        Resting reduce-only orders of every account whose position changed are shrunk or
        expired first, so their level changes go out in the same depth message.
        """
        while self._touched:
            touched, self._touched = self._touched, set()
            for account_id, symbol in sorted(touched):
                self._enforce_reduce_only(self.accounts[account_id], symbol)
        for book in self.books.values():
            if book.changed:
                self._publish_book(book)

    def _place(self, account: Account, request: OrderRequest) -> Order:
        """Turn a validated request into an order: arm it (trigger) or run it now."""
        spec = request.spec
        if account.liquidating:
            raise SimError(400, "ACCOUNT_LIQUIDATING", "Account is liquidating")
        if request.price is not None:
            self._check_band(spec, request.price)
        order = Order(
            self._new_order_id(),
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
            self._arm_trigger(account, order, spec)
            return order
        self._check_funds(account, order, spec)
        self._execute(account, order, spec)
        return order

    def _check_band(self, spec: MarketSpec, price: int) -> None:
        reference = self._reference_price(spec)
        value = spec.price_dec(price)
        if value > reference * spec.max_multiplier or value < reference * spec.min_multiplier:
            raise invalid_price()

    def _reference_price(self, spec: MarketSpec) -> Decimal:
        """The "last active price" bands are measured from: mark on perps, last on spot."""
        if spec.is_perp:
            return self.prices.mark(spec.symbol)
        last = self.data[spec.symbol].last_price
        return last if last is not None else self.prices.mark(spec.symbol)

    def _estimate_steps(self, order: Order, spec: MarketSpec) -> int:
        if order.quantity is not None:
            return order.quantity
        if order.quote_quantity is not None:
            mark = self.prices.mark(spec.symbol)
            return int(order.quote_quantity / mark / spec.step)
        return 0

    def _check_funds(self, account: Account, order: Order, spec: MarketSpec) -> None:
        """Margin for perps (worst-case exposure), funds for spot, before anything rests."""
        if account.system or order.reduce_only:
            return
        if spec.is_perp:
            steps = self._estimate_steps(order, spec)
            old = account.worst_exposure(spec.symbol)
            new = account.worst_exposure(
                spec.symbol, steps if order.is_bid else 0, 0 if order.is_bid else steps
            )
            if abs(new) <= abs(old):
                return
            figures = margin(account, self.specs, self.prices, (spec.symbol, new))
            required = figures.imr_positions + figures.imr_orders + figures.spot_locked_usdc
            if required > figures.equity:
                raise insufficient_margin()
            return
        locks = spot_locks(account, self.specs)
        if order.is_bid:
            available = account.balance(spec.quote) - locks.get(spec.quote, ZERO)
            if order.price is not None and order.quantity is not None:
                needed = spec.notional_dec(order.price * order.quantity)
            elif order.quote_quantity is not None:
                needed = order.quote_quantity
            else:
                needed = ZERO
            if needed > available or available <= 0:
                raise insufficient_funds()
        else:
            available = account.balance(spec.base) - locks.get(spec.base, ZERO)
            if order.quantity is not None and spec.qty_dec(order.quantity) > available:
                raise insufficient_funds()
            if available <= 0:
                raise insufficient_funds()

    def _execute(self, account: Account, order: Order, spec: MarketSpec) -> None:
        """Run a live (non-trigger) order: checks, accept, match, then rest or expire."""
        book = self.books[spec.symbol]
        opposite = book.side(not order.is_bid)
        if order.post_only and order.price is not None:
            best = opposite.best()
            if best is not None and (
                (order.is_bid and order.price >= best) or (not order.is_bid and order.price <= best)
            ):
                self._finish(account, order, spec, EXPIRED, "PostOnlyTaker", accepted=False)
                raise invalid_order("Order would immediately match and take")
        if order.reduce_only:
            allowed = self._reducible(account, spec.symbol, order.is_bid)
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
            self._record(account, order)
            self._emit_order(account, "orderAccepted", order, spec)
            self._finish(account, order, spec, EXPIRED, "FillOrKill", accepted=True)
            return
        self._record(account, order)
        self._emit_order(account, "orderAccepted", order, spec)
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
        self._after_trades(spec.symbol)

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
            self._record(account, order)
        if status == EXPIRED:
            self._emit_order(account, "orderExpired", order, spec)
        elif status == TRIGGER_FAILED:
            self._emit_order(account, "triggerFailed", order, spec)
        self._spawn_attached(account, order, spec)

    def _spawn_attached(self, account: Account, parent: Order, spec: MarketSpec) -> None:
        """Once an order with TP/SL legs is done and has filled, arm the legs.

        Each leg is a trigger order on the other side for the executed quantity,
        reduce-only on perps, with ``relatedOrderId`` = the parent (rest_orders_open.json).
        """
        if not parent.attached or parent.spawned or not parent.executed or parent.is_open:
            return
        parent.spawned = True
        for kind in ("takeProfit", "stopLoss"):
            leg = parent.attached.get(kind)
            if leg is None:
                continue
            trigger, limit, by = leg
            child = Order(
                self._new_order_id(),
                account.id,
                spec.symbol,
                not parent.is_bid,
                limit is not None,
                limit,
                None,
                self._clock(),
                reduce_only=True if spec.is_perp else None,
                stp=parent.stp,
            )
            child.trigger_price = trigger
            child.trigger_quantity = spec.qty_text(parent.executed)
            child.trigger_by = by
            child.related_id = parent.id
            self._arm_trigger(account, child, spec)

    def _fillable(self, account: Account, order: Order, spec: MarketSpec) -> int:
        """Steps an order could take right now (FOK), stopping where STP would stop it."""
        opposite = self.books[spec.symbol].side(not order.is_bid)
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
            want = min(want, self._reducible(account, spec.symbol, order.is_bid))
            if want <= 0:
                return 0, "ReduceOnlyNotReduced"
        if not spec.is_perp and not account.system and not order.is_limit:
            if order.is_bid:
                locks = spot_locks(account, self.specs)
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
                maker_account = self.accounts[maker.account_id]
                if maker.account_id == account.id and order.stp != "Allow":
                    if order.stp in ("RejectMaker", "RejectBoth"):
                        self._expire_resting(maker_account, maker, spec, "SelfTradePrevention")
                    if order.stp in ("RejectTaker", "RejectBoth"):
                        return "SelfTradePrevention"
                    continue
                maker_cap = maker.remaining
                if maker.reduce_only:
                    maker_cap = min(
                        maker_cap, self._reducible(maker_account, spec.symbol, maker.is_bid)
                    )
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
        trade_id, closed = self.data[spec.symbol].record_trade(price, qty, units, now, buyer_maker)
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
        self._public(
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
        data = self.data[spec.symbol]
        if closed is not None:
            self._public_untimed("kline.1m." + spec.symbol, data.kline_event(closed, True))
        current = data.current_candle()
        if current is not None:
            self._public_untimed("kline.1m." + spec.symbol, data.kline_event(current, False))
        for account, order, is_maker in (
            (maker_account, maker, True),
            (taker_account, taker, False),
        ):
            fee, fee_symbol, moved = self._settle(account, order, spec, price, qty, is_maker)
            fill = FillInfo(trade_id, qty, price, is_maker, fee, fee_symbol)
            if not account.system:
                row = fill_row(order, spec, fill, order.side, now)
                account.fills.add(row, now // 1000, history_keys(spec))
                self._emit_order(account, "orderFill", order, spec, fill)
            if moved is not None:
                self._emit_position(account, moved[0], spec, moved[1])
            self._touched.add((account.id, spec.symbol))
        if maker.attached and maker.status == FILLED:
            self._spawn_attached(maker_account, maker, spec)

    def _settle(
        self, account: Account, order: Order, spec: MarketSpec, price: int, qty: int, maker: bool
    ) -> tuple[Decimal, str, tuple[Position, str] | None]:
        """Move money for one side of a fill: the fee, its asset, and a position event."""
        rate = self.config.maker_fee if maker else self.config.taker_fee
        notional = spec.notional_dec(price * qty)
        if not spec.is_perp:
            base_qty = spec.qty_dec(qty)
            if order.is_bid:
                fee = base_qty * rate
                account.credit(spec.quote, -notional)
                account.credit(spec.base, base_qty - fee)
                self.house[spec.base] = self.house.get(spec.base, ZERO) + fee
                return fee, spec.base, None
            fee = notional * rate
            account.credit(spec.base, -base_qty)
            account.credit(spec.quote, notional - fee)
            self.house[spec.quote] = self.house.get(spec.quote, ZERO) + fee
            return fee, spec.quote, None
        fee = notional * rate
        position = account.positions.get(spec.symbol)
        event = "positionAdjusted"
        if position is None:
            self._next_position_id += 1
            position = Position(self._next_position_id, spec.symbol, self._clock())
            account.positions[spec.symbol] = position
            self.holders[spec.symbol].add(account.id)
            event = "positionOpened"
        realized = position.apply_fill(qty if order.is_bid else -qty, price, spec)
        position.fees += fee
        account.credit("USDC", realized - fee)
        self.house["USDC"] = self.house.get("USDC", ZERO) + fee
        if position.net == 0:
            event = "positionClosed"
            del account.positions[spec.symbol]
            self.holders[spec.symbol].discard(account.id)
        return fee, "USDC", (position, event)

    def _expire_resting(
        self, account: Account, order: Order, spec: MarketSpec, reason: str
    ) -> None:
        book = self.books[spec.symbol]
        if order.id in book.orders:
            book.remove(order)
        account.open_orders.pop(order.id, None)
        self._finish(account, order, spec, EXPIRED, reason, accepted=True)

    def _enforce_reduce_only(self, account: Account, symbol: str) -> None:
        """After a position change, resting reduce-only orders may not exceed it (§6.5)."""
        if account.system:
            return
        spec = self.specs[symbol]
        book = self.books[symbol]
        for order in list(account.open_orders.values()):
            if order.symbol != symbol or not order.reduce_only or order.id not in book.orders:
                continue
            allowed = self._reducible(account, symbol, order.is_bid)
            if allowed == 0:
                self._expire_resting(account, order, spec, "ReduceOnlyNotReduced")
            elif order.remaining > allowed:
                excess = order.remaining - allowed
                book.reduce(order, excess)
                assert order.quantity is not None
                order.quantity -= excess
                self._emit_order(account, "orderModified", order, spec)

    def _trigger_reference(self, spec: MarketSpec, trigger_by: str | None) -> Decimal:
        state = self.prices.states[spec.symbol]
        if trigger_by == "IndexPrice":
            return state.index_dec
        if trigger_by == "LastPrice":
            last = self.data[spec.symbol].last_price
            return last if last is not None else state.mark
        return state.mark

    def _arm_trigger(self, account: Account, order: Order, spec: MarketSpec) -> None:
        assert order.trigger_price is not None
        reference = self._trigger_reference(spec, order.trigger_by)
        order.trigger_above = spec.price_dec(order.trigger_price) >= reference
        order.status = TRIGGER_PENDING
        self._record(account, order)
        account.open_orders[order.id] = order
        self.triggers[spec.symbol][order.id] = order
        self._emit_order(account, "triggerPlaced", order, spec)

    def _due_triggers(self, symbol: str) -> list[Order]:
        spec = self.specs[symbol]
        due = []
        for order in self.triggers[symbol].values():
            assert order.trigger_price is not None
            reference = self._trigger_reference(spec, order.trigger_by)
            trigger = spec.price_dec(order.trigger_price)
            if (order.trigger_above and reference >= trigger) or (
                not order.trigger_above and reference <= trigger
            ):
                due.append(order)
        return due

    def _after_trades(self, symbol: str) -> None:
        """Fire triggers that the last price (or anything else) has reached."""
        for _ in range(MAX_TRIGGER_ROUNDS):
            if not self.triggers[symbol]:
                return
            due = self._due_triggers(symbol)
            if not due:
                return
            for order in due:
                self._fire(order)

    def _fire(self, order: Order) -> None:
        spec = self.specs[order.symbol]
        account = self.accounts[order.account_id]
        self.triggers[order.symbol].pop(order.id, None)
        account.open_orders.pop(order.id, None)
        now = self._clock()
        order.triggered_at_ms = now // 1000
        quantity = self._trigger_steps(account, order, spec)
        if quantity <= 0:
            self._finish(account, order, spec, TRIGGER_FAILED, "StopWithoutPosition", True)
            return
        order.quantity = quantity
        order.status = NEW
        try:
            self._check_funds(account, order, spec)
            self._execute(account, order, spec)
        except SimError:
            if order.status in (NEW, PARTIALLY_FILLED):
                self._finish(account, order, spec, TRIGGER_FAILED, "InsufficientMargin", True)

    def _trigger_steps(self, account: Account, order: Order, spec: MarketSpec) -> int:
        text = order.trigger_quantity or "0"
        if text.endswith("%"):
            position = account.positions.get(spec.symbol)
            if position is None:
                return 0
            share = abs(spec.qty_dec(position.net)) * Decimal(text[:-1]) / 100
            return int((share / spec.step).to_integral_value(rounding=ROUND_DOWN))
        return int(Decimal(text).scaleb(spec.quantity_decimals))

    def _find_open(
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

    def _cancel(self, account: Account, order: Order) -> None:
        spec = self.specs[order.symbol]
        book = self.books[order.symbol]
        if order.id in book.orders:
            book.remove(order)
        self.triggers[order.symbol].pop(order.id, None)
        account.open_orders.pop(order.id, None)
        order.status = CANCELLED
        order.updated_us = self._clock()
        self._emit_order(account, "orderCancelled", order, spec)
        self._spawn_attached(account, order, spec)
