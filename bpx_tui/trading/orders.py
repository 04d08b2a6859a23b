"""Order entry for the console: build, check, send — one way for every order.

Every order is an :class:`OrderIntent` built once into a :class:`NewOrder`
(:func:`build_order`), judged by the risk gate, and sent through the one
:class:`OrderDispatch` (journal, wire, settling a lost answer). An answer that stays
unknown even after the lookups blocks *new risk* on that market until it is settled;
reducing orders (closes) are never blocked, because getting flat must always work.

Close and close-all size their orders from the position the exchange reports *now*
(a REST re-read first), never from what the screen showed a moment ago, and they
verify the result the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import BackpackError, InvalidOrder, UnknownOrderOutcome
from bpx_tui.exchange.events import OrderFilled, OrderUpdated
from bpx_tui.exchange.models import Order, Position
from bpx_tui.exchange.signing import MAX_WINDOW_MS
from bpx_tui.exchange.vocab import parse_side, parse_time_in_force
from bpx_tui.trading.dispatch import OrderDispatch
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.order import NewOrder, OrderIntent, build_order
from bpx_tui.trading.outcome import Reconciled
from bpx_tui.trading.risk import MarketSnapshot, RiskGate, RiskLimits, RiskRejected

LimitsSource = RiskLimits | Callable[[str], RiskLimits]

# Waits between re-reads while close-all verifies the account is flat (bounded: ~3 s).
FLAT_WAITS_S: tuple[float, ...] = (0.1, 0.2, 0.4, 0.8, 1.5)


@dataclass
class CloseAllReport:
    """What close-all did, and what it could not do, market by market."""

    cancelled: list[Order] = field(default_factory=list)
    closes: list[Order] = field(default_factory=list)
    open_positions: list[Position] = field(default_factory=list)
    open_orders: list[Order] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # symbol (or "account") -> why
    checks: int = 0  # REST re-reads made while verifying
    verified: bool = False  # at least one re-read succeeded: the open lists are real

    @property
    def flat(self) -> bool:
        return self.verified and not self.open_positions and not self.open_orders

    def lines(self) -> list[str]:
        out = [f"cancelled {len(self.cancelled)} order(s)"]
        for order in self.closes:
            qty = order.executed_quantity or order.quantity or Decimal(0)
            verb = "closed" if order.status == "Filled" else "close attempt"
            out.append(f"{verb} {order.symbol}: {order.side} {qty} ({order.status})")
        if self.flat:
            out.append(f"verified flat after {self.checks} check(s)")
        elif not self.verified:
            out.append("NOT VERIFIED: the account could not be re-read; check it on the exchange")
        for position in self.open_positions:
            why = self.problems.get(position.symbol, "still open after the last check")
            out.append(f"STILL OPEN {position.symbol} {position.net_quantity}: {why}")
        for order in self.open_orders:
            why = self.problems.get(order.symbol, "still resting after the last check")
            out.append(f"STILL RESTING {order.symbol} order {order.id}: {why}")
        reported = {p.symbol for p in self.open_positions} | {o.symbol for o in self.open_orders}
        for where, why in self.problems.items():
            if where not in reported:
                out.append(f"{where}: {why}")
        return out

    def summary(self) -> str:
        return "; ".join(self.lines())


def _order_problem(order: Order) -> str | None:
    """Why a close order did not fill, from its status and expiry reason."""
    if order.status == "Filled":
        return None
    reason = order.raw.get("expiryReason") if order.raw else None
    return f"close order {order.id} ended {order.status}" + (f" ({reason})" if reason else "")


class OrderService:
    """The only way the console sends orders."""

    def __init__(
        self,
        client: BackpackClient,
        gate: RiskGate,
        journal: Journal,
        limits: LimitsSource,
        *,
        clock: Callable[[], float] = time.monotonic,
        flat_waits: Sequence[float] = FLAT_WAITS_S,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.gate = gate
        self.journal = journal
        self._limits = limits
        self._clock = clock
        self.flat_waits = tuple(flat_waits)
        self.log = logger or logging.getLogger("bpx_tui.orders")
        self.dispatch = OrderDispatch(client, journal)

    def limits_for(self, symbol: str) -> RiskLimits:
        return self._limits(symbol) if callable(self._limits) else self._limits

    def attach(self) -> Callable[[], None]:
        """Let the journal follow the order and fill streams; returns the remover."""

        def on_order(event: OrderUpdated) -> None:
            self.journal.record_update(event.order)

        def on_fill(event: OrderFilled) -> None:
            self.journal.record_fill_update(event.order)

        removers = [
            self.client.subscribe(OrderUpdated, on_order),
            self.client.subscribe(OrderFilled, on_fill),
        ]

        def detach() -> None:
            for remove in removers:
                remove()

        return detach

    def snapshot(self, symbol: str) -> MarketSnapshot:
        """What the risk check sees, read from the client's live caches."""
        client = self.client
        market = client.market(symbol)
        book = client.books.get(symbol)
        synced = book is not None and book.synced
        if market.is_perp:
            mark = client.marks.get(symbol)
            seen = client.mark_times.get(symbol)
            reference = mark.mark_price if mark is not None else None
            position = client.positions.get(symbol)
            held = position.net_quantity if position is not None else Decimal(0)
            base_available = None
        else:
            # A spot market has no mark price: its reference is the live book's mid,
            # as fresh as the stream that keeps the book; its "position" is a balance.
            reference = book.mid_price() if synced and book is not None else None
            seen = client.stream.last_message_at
            held = Decimal(0)
            balance = client.balances.get(market.base_symbol)
            base_available = balance.available if balance is not None else Decimal(0)
        return MarketSnapshot(
            market=market,
            mark_price=reference,
            mark_age_s=None if seen is None else max(0.0, self._clock() - seen),
            book_synced=synced,
            book=book,
            position_quantity=held,
            base_available=base_available,
        )

    # ------------------------------------------------------------------ submit

    def build(self, intent: OrderIntent, *, exact: bool = False) -> NewOrder:
        """The order on its market's grid (see :func:`build_order`); raises InvalidOrder."""
        return build_order(intent, self.client.market(intent.symbol), exact=exact)

    async def submit(self, order: NewOrder, *, key: str | None = None) -> Order:
        """Check, journal and send one order; raises RiskRejected, DuplicateSubmit,
        InvalidOrder or the exchange's error (UnknownOrderOutcome when the answer was lost
        and the exchange could not be read to settle it)."""
        async with self.gate.submitting(key or order.symbol):
            await self._settle(order.symbol)
            self.precheck(order)
            return await self._send(order)

    def precheck(self, order: NewOrder) -> None:
        """What :meth:`submit` would check, without sending: the ticket calls it on every
        change to show a refusal before Enter. Raises RiskRejected or InvalidOrder."""
        if not self.client.has_credentials:
            raise InvalidOrder(
                "no API key configured: set api_secret_file or BPX_API_SECRET to trade"
            )
        self.gate.check(order, self.snapshot(order.symbol), self.limits_for(order.symbol))

    async def _settle(self, symbol: str) -> None:
        """Reconcile lost answers on this market; refuse new risk while any stays unknown."""
        if not self.journal.unresolved(symbol):
            self.gate.unblock(symbol)
            return
        results = await self.reconcile(symbol)
        pending = [r for r in results if r.outcome == "unknown"]
        if not pending:
            self.gate.unblock(symbol)
            return
        self.gate.block(symbol, f"order {pending[0].client_id} has an unknown outcome")

    async def reconcile(self, symbol: str | None = None) -> list[Reconciled]:
        """Settle unresolved journal entries (all markets by default) with the exchange."""
        signer = self.client.signer
        results = await self.journal.reconcile(
            self.client.rest,
            symbol=symbol,
            skip=self.dispatch.sending,
            window_ms=signer.window if signer is not None else MAX_WINDOW_MS,
        )
        for result in results:
            self.log.info(
                "reconciled order %d on %s: %s (%s)",
                result.client_id,
                result.symbol,
                result.outcome,
                result.detail,
            )
            if result.outcome != "unknown" and not self.journal.unresolved(result.symbol):
                self.gate.unblock(result.symbol)
        return results

    async def _send(self, order: NewOrder) -> Order:
        try:
            return await self.dispatch.send(order)
        except UnknownOrderOutcome as exc:
            self.gate.block(order.symbol, f"order {exc.client_id} has an unknown outcome")
            raise

    async def move(self, order: Order, price: Decimal) -> Order:
        """Cancel ``order`` and place its unfilled rest at ``price`` (Backpack has no amend).

        The replacement keeps the original's side, flags and time in force and is
        checked like any new order *before* the cancel leaves, so a replacement the
        risk gate would refuse never costs the trader the original. The cancel and
        the place are one journaled intent (see ``OrderDispatch.send``); raises
        ``ReplaceAborted`` when it stopped after the cancel or before it.
        """
        if order.price is None or order.is_trigger:
            raise InvalidOrder(f"order {order.id} has no book price to move")
        moved = self.build(
            OrderIntent(
                symbol=order.symbol,
                side=parse_side(order.side),
                order_type="Limit",
                quantity=order.remaining,
                price=price,
                post_only=order.post_only,
                reduce_only=order.reduce_only,
                time_in_force=None
                if order.time_in_force is None
                else parse_time_in_force(order.time_in_force),
                replaces=order.id,
            ),
            exact=True,
        )
        return await self.submit(moved, key=f"move:{order.id}")

    # ------------------------------------------------------------------ closing

    async def close_position(self, symbol: str) -> Order | None:
        """Reduce-only market order for the whole live position; None when already flat."""
        async with self.gate.submitting(f"close:{symbol}"):
            await self.client.refresh_account()
            return await self._close(symbol)

    async def _close(self, symbol: str) -> Order | None:
        position = self.client.positions.get(symbol)
        if position is None or position.net_quantity == 0:
            return None
        order = self.build(
            OrderIntent(
                symbol=symbol,
                side="Ask" if position.net_quantity > 0 else "Bid",
                order_type="Market",
                quantity=abs(position.net_quantity),
                reduce_only=True,
            )
        )
        self.precheck(order)
        return await self._send(order)

    async def close_all(self) -> CloseAllReport:
        """Cancel every order, close every position, then re-read until flat (bounded).

        New risk is halted while it runs so a stray key press cannot race it.
        """
        report = CloseAllReport()
        async with self.gate.submitting("close_all"):
            previous = self.gate.halt_reason
            self.gate.halt("close-all in progress")
            try:
                await self._flatten(report)
                waits = (0.0, *self.flat_waits)
                for index, wait in enumerate(waits):
                    if wait:
                        await asyncio.sleep(wait)
                    if await self._check_flat(report):
                        break
                    if index < len(waits) - 1:  # act only on what a later check verifies
                        await self._flatten(report, refresh=False)
            finally:
                if previous is None:
                    self.gate.resume()
                else:
                    self.gate.halt(previous)
        level = logging.INFO if report.flat else logging.WARNING
        for line in report.lines():
            self.log.log(level, "close-all: %s", line)
        return report

    async def _check_flat(self, report: CloseAllReport) -> bool:
        report.checks += 1
        try:
            await self.client.refresh_account()
        except BackpackError as exc:
            report.problems["account"] = f"could not re-read the account: {exc}"
            return False
        report.problems.pop("account", None)
        report.verified = True
        report.open_positions = list(self.client.positions.values())
        report.open_orders = list(self.client.open_orders.values())
        return report.flat

    async def _flatten(self, report: CloseAllReport, *, refresh: bool = True) -> None:
        if refresh:
            try:
                await self.client.refresh_account()
            except BackpackError as exc:
                report.problems["account"] = f"could not read the account: {exc}"
        for symbol in sorted({o.symbol for o in self.client.open_orders.values()}):
            try:
                report.cancelled.extend(await self.client.cancel_all(symbol))
            except BackpackError as exc:
                report.problems[symbol] = f"cancel failed: {exc}"
        for symbol in sorted(self.client.positions):
            try:
                order = await self._close(symbol)
            except (BackpackError, RiskRejected) as exc:
                report.problems[symbol] = f"close failed: {exc}"
                continue
            if order is not None:
                report.closes.append(order)
                problem = _order_problem(order)
                if problem:
                    report.problems[symbol] = problem
                else:
                    report.problems.pop(symbol, None)
