"""The one owner of "did my order land?": an order is looked up by its ``clientId``.

A placement whose answer was lost (``UnknownOrderOutcome``), or an intent a crashed
run left in the journal, may or may not have become an order. This module is the only
code that finds out: it asks for the resting order by ``clientId`` (``GET /order``
sees resting orders only), then reads the order history back to the moment it was sent.

An order is called **absent** only when neither knows it *and* its request can no
longer execute: the exchange refuses a request whose signed timestamp is older than
its window, so once the window (plus a grace for an order already inside the engine)
has passed, an order that is not there never will be. Until then "not found" is
**unknown**, never "not placed": a late order that lands after one early lookup must
not be reported missing, or a script that retries on "not placed" doubles it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bpx_tui.exchange.errors import BackpackError, NotFoundError
from bpx_tui.exchange.models import Order

Outcome = Literal["open", "final", "absent", "unknown"]

# An order in history with this clientId but created this long before our intent is an
# older order that reused the id, not ours (allows for clock error against the exchange).
CLIENT_ID_REUSE_SLACK_MS = 60_000
# After the signature window closes, how long an order already inside the exchange may
# still take to show up in its open orders or history.
EXECUTION_GRACE_MS = 2_000
# Order history is read newest first, a page at a time, back to the intent's time.
HISTORY_PAGE = 200
HISTORY_MAX_PAGES = 5
# Waits between lookups while a lost answer is settled (the last one repeats).
SETTLE_WAITS_S: tuple[float, ...] = (0.2, 0.4, 0.8, 1.5, 2.0)

log = logging.getLogger("bpx_tui.outcome")


def local_ms() -> int:
    return int(time.time() * 1000)


class OrderLookup(Protocol):
    """The two REST reads a lookup needs (``RestClient`` has them)."""

    async def get_order(
        self, symbol: str, order_id: str | int | None = None, client_id: int | None = None
    ) -> Order: ...

    async def order_history(self, **filters: Any) -> list[Order]: ...


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What a lookup learnt about one order that may exist.

    ``outcome``: ``open`` (resting now), ``final`` (found in history), ``absent`` (not
    there, and its request can no longer execute) or ``unknown`` (not found yet, or the
    lookup itself failed; look again later).
    """

    client_id: int
    symbol: str
    outcome: Outcome
    order: Order | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Pending:
    """An order whose outcome is to be found: what it is, when it was sent, and when its
    request stops being executable (both on the local clock, in ms)."""

    symbol: str
    client_id: int
    sent_ms: int
    deadline_ms: int
    grace_ms: int = EXECUTION_GRACE_MS

    @property
    def settles_at_ms(self) -> int:
        """From this moment, "not found" proves "never placed"."""
        return self.deadline_ms + self.grace_ms


async def look_up(
    rest: OrderLookup, pending: Pending, *, now_ms: Callable[[], int] = local_ms
) -> Reconciled:
    """One lookup: resting by clientId, then the history back to when it was sent."""
    cid, symbol = pending.client_id, pending.symbol
    oldest = pending.sent_ms - CLIENT_ID_REUSE_SLACK_MS

    def ours(order: Order) -> bool:
        return order.client_id == cid and (order.created_at_ms or oldest) >= oldest

    # Read the clock before looking: "absent" must rest on a lookup made after the
    # request stopped being executable, not one that started before.
    settled = now_ms() >= pending.settles_at_ms
    try:
        order = await rest.get_order(symbol, client_id=cid)
    except NotFoundError:
        pass
    except BackpackError as exc:
        return Reconciled(cid, symbol, "unknown", None, f"open-order lookup failed: {exc}")
    else:
        if ours(order):
            return Reconciled(cid, symbol, "open", order, f"resting as {order.id}")
        return Reconciled(
            cid, symbol, "unknown", None, f"an older resting order {order.id} has its clientId"
        )
    for page in range(HISTORY_MAX_PAGES):
        try:
            history = await rest.order_history(
                symbol=symbol, limit=HISTORY_PAGE, offset=page * HISTORY_PAGE, sort_direction="Desc"
            )
        except BackpackError as exc:
            return Reconciled(cid, symbol, "unknown", None, f"history lookup failed: {exc}")
        for order in history:
            if ours(order):
                return Reconciled(cid, symbol, "final", order, f"{order.status} as {order.id}")
        times = [o.created_at_ms for o in history if o.created_at_ms is not None]
        if len(history) < HISTORY_PAGE or (times and min(times) < oldest):
            # Newest first: we have read back past the moment the order was sent.
            if settled:
                return Reconciled(
                    cid, symbol, "absent", None, "not resting and not in order history"
                )
            return Reconciled(
                cid, symbol, "unknown", None, "not found yet; its request could still execute"
            )
    searched = HISTORY_MAX_PAGES * HISTORY_PAGE
    return Reconciled(
        cid, symbol, "unknown", None, f"not among the newest {searched} orders of {symbol}"
    )


async def settle(
    rest: OrderLookup,
    pending: Pending,
    *,
    waits: Sequence[float] = SETTLE_WAITS_S,
    now_ms: Callable[[], int] = local_ms,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Reconciled:
    """Look until the order is found, or proven absent, or the lookups keep failing.

    Bounded: it stops one lookup after the request stopped being executable, so it
    takes about the signature window plus the grace (7 s with Backpack's default 5 s
    window), and returns ``unknown`` only when the exchange could not be read at all.
    """
    attempt = 0
    while True:
        result = await look_up(rest, pending, now_ms=now_ms)
        if result.outcome != "unknown":
            log.info(
                "order %d on %s: %s (%s)",
                pending.client_id,
                pending.symbol,
                result.outcome,
                result.detail,
            )
            return result
        if now_ms() >= pending.settles_at_ms + 1000 * max(waits, default=0.0):
            log.warning(
                "order %d on %s: still unknown (%s)",
                pending.client_id,
                pending.symbol,
                result.detail,
            )
            return result
        await sleep(waits[min(attempt, len(waits) - 1)] if waits else 0.0)
        attempt += 1
