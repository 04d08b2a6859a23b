"""The one door to the wire: every order is stamped, recorded, sent, and settled here.

Whatever asked for the order (the console's order service after its risk checks, or a
script through ``BackpackAPI``), this is the code that puts it on the wire: it stamps
the ``clientId`` (minted by the journal when there is one), writes the intent down
before the request leaves, sends :meth:`NewOrder.payload` exactly, and when the answer
is lost it does not guess — it keeps looking the order up (:func:`outcome.settle`)
until the exchange shows it, or proves it absent once its request can no longer
execute. Only then does it answer: the order, :class:`OrderNotPlaced`, or, if the
exchange could not be read at all, :class:`UnknownOrderOutcome` again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import (
    BackpackError,
    OrderNotPlaced,
    ReplaceAborted,
    ServerError,
    TransportError,
    UnknownOrderOutcome,
)
from bpx_tui.exchange.models import Order
from bpx_tui.exchange.numbers import wire
from bpx_tui.exchange.signing import MAX_WINDOW_MS
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.order import NewOrder, mint_client_id
from bpx_tui.trading.outcome import (
    EXECUTION_GRACE_MS,
    SETTLE_WAITS_S,
    Pending,
    Reconciled,
    local_ms,
    settle,
)

log = logging.getLogger("bpx_tui.dispatch")


class OrderDispatch:
    """Sends :class:`NewOrder` values for one client, optionally through a journal."""

    def __init__(
        self,
        client: BackpackClient,
        journal: Journal | None = None,
        *,
        settle_waits: Sequence[float] = SETTLE_WAITS_S,
        grace_ms: int = EXECUTION_GRACE_MS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.journal = journal
        self.settle_waits = tuple(settle_waits)
        self.grace_ms = grace_ms
        self._sleep = sleep
        self.sending: set[int] = set()  # clientIds whose request or lookup is under way

    def stamp(self, order: NewOrder) -> NewOrder:
        """The order with its clientId, recorded in the journal when there is one.

        An order that already carries an id (a script that numbers its own) keeps it.
        """
        if self.journal is not None:
            return self.journal.stamp(order)
        if order.client_id is not None:
            return order
        return order.with_client_id(mint_client_id())

    async def send(self, order: NewOrder) -> Order:
        """Place one order; raises the exchange's refusal, :class:`OrderNotPlaced` or
        :class:`UnknownOrderOutcome` (a lost answer the exchange could not settle)."""
        stamped = self.stamp(order)
        client_id = stamped.client_id
        assert client_id is not None
        if order.terms.replaces is not None:
            await self._cancel_replaced(stamped)
        sent_ms = local_ms()
        self.sending.add(client_id)
        try:
            placed = await self.client.submit(stamped.payload())
        except UnknownOrderOutcome as lost:
            if self.journal is not None:
                self.journal.record_error(client_id, lost)
            return await self._settle(stamped, sent_ms, lost)
        except BackpackError as exc:
            if self.journal is not None:
                self.journal.record_error(client_id, exc)
            raise
        finally:
            self.sending.discard(client_id)
        if self.journal is not None:
            self.journal.record_response(client_id, placed)
        return placed

    async def _cancel_replaced(self, order: NewOrder) -> None:
        """Cancel the order ``order`` replaces, and go on only if that leaves one order.

        The replacement is already journaled (linked to the old id) when the cancel
        leaves, so a crash in between is reconciled like any sent order (it is found
        absent). It is placed only after the exchange confirms the cancel, and only
        when the cancelled order's unfilled size is the replacement's size: never two
        live orders, never more size than the trader had working.
        """
        old_id = order.terms.replaces
        assert old_id is not None and order.client_id is not None
        try:
            cancelled = await self.client.cancel_order(order.symbol, old_id)
        except BackpackError as exc:
            fate = (
                "it may or may not be cancelled"
                if isinstance(exc, TransportError | ServerError)
                else "it stands as it was"
            )
            self._abort(order, f"order {old_id} could not be cancelled ({exc}): {fate}")
        wanted = order.terms.quantity
        left = cancelled.unfilled
        if wanted is not None and left != wanted:
            shown = "an unconfirmed size" if left is None else wire(left)
            self._abort(
                order,
                f"order {old_id} was cancelled with {shown} unfilled, "
                f"not {wire(wanted)} (it filled while being moved)",
            )

    def _abort(self, order: NewOrder, reason: str) -> NoReturn:
        error = ReplaceAborted(f"{reason}; no replacement was placed")
        if self.journal is not None and order.client_id is not None:
            self.journal.record_error(order.client_id, error)
        raise error

    async def _settle(self, order: NewOrder, sent_ms: int, lost: UnknownOrderOutcome) -> Order:
        client_id = order.client_id
        assert client_id is not None
        deadline = lost.deadline_ms if lost.deadline_ms is not None else sent_ms + MAX_WINDOW_MS
        pending = Pending(order.symbol, client_id, sent_ms, deadline, self.grace_ms)
        result = await settle(self.client.rest, pending, waits=self.settle_waits, sleep=self._sleep)
        if self.journal is not None:
            self.journal.record_outcome(result)
        return self._answer(result, lost)

    def _answer(self, result: Reconciled, lost: UnknownOrderOutcome) -> Order:
        if result.order is not None:
            self.client.adopt(result.order)
            return result.order
        if result.outcome == "absent":
            raise OrderNotPlaced(
                f"order {result.client_id} on {result.symbol} was not placed: {lost.cause}; "
                f"{result.detail} after its request expired"
            )
        raise UnknownOrderOutcome(
            result.symbol, result.client_id, f"{lost.cause}; {result.detail}", lost.deadline_ms
        )
