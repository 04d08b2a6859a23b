"""Reading a whole ``/wapi/v1/history/*`` list: every page, up to a cap.

The history endpoints answer one page (``limit`` at most 1000, ``offset``) newest first.
A reader that wants "everything" must walk the pages until a short one, and must not
walk forever on an account with years of fills: :func:`read_all` stops at ``cap`` rows
and says whether more exist (one probe row past the cap), so the view can tell the
trader it shows only the newest part.

Newest first, a fill that lands while the pages are read shifts every older row one
offset back: the next page then repeats a row, never skips one. Rows are therefore
de-duplicated by a key (trade id, order id, funding interval), and nothing is missed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bpx_tui.exchange.errors import BackpackError
from bpx_tui.exchange.models import Fill, FundingPayment, Order
from bpx_tui.exchange.rest import RestClient

T = TypeVar("T")

PAGE_MAX = 1000
"""Backpack's largest ``limit`` on the history endpoints."""
DEFAULT_CAP = 10_000
"""Rows read per kind at most: ten requests, a few seconds at the documented rate."""

Fetch = Callable[[int, int], Awaitable[Sequence[T]]]
"""``fetch(limit, offset)``: one page, newest first."""


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    rows: tuple[T, ...]
    """Newest first, each row once."""
    capped: bool
    """The cap stopped the read while older rows remain on the exchange."""
    requests: int
    """Pages asked for (the probe past the cap included)."""


async def read_all(
    fetch: Fetch[T],
    key: Callable[[T], Hashable],
    *,
    cap: int = DEFAULT_CAP,
    page: int = PAGE_MAX,
) -> Paged[T]:
    """Every row ``fetch`` pages out, newest first, at most ``cap`` of them.

    A page shorter than asked for is the last. Offsets advance by what the exchange
    answered (not by what was kept), so a repeated row costs nothing but its drop.
    """
    if cap < 1 or page < 1:
        raise ValueError("cap and page must be positive")
    seen: set[Hashable] = set()
    rows: list[T] = []
    offset = requests = 0
    while offset < cap:
        limit = min(page, cap - offset)
        batch = await fetch(limit, offset)
        requests += 1
        for row in batch:
            ident = key(row)
            if ident not in seen:
                seen.add(ident)
                rows.append(row)
        offset += len(batch)
        if len(batch) < limit:
            return Paged(tuple(rows), False, requests)
    more = await fetch(1, offset)
    return Paged(tuple(rows), bool(more), requests + 1)


def fill_key(fill: Fill) -> Hashable:
    """A trade id names a fill of one side; a fill without one falls back to its fields."""
    if fill.trade_id is not None:
        return (fill.trade_id, fill.order_id)
    return (fill.order_id, fill.timestamp_ms, fill.price, fill.quantity, fill.side)


def order_key(order: Order) -> Hashable:
    return order.id


def funding_key(payment: FundingPayment) -> Hashable:
    """One payment per market and interval."""
    return (payment.symbol, payment.interval_end_ms, payment.quantity)


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """One kind's read: its rows, or why there are none."""

    rows: tuple[T, ...] = ()
    capped: bool = False
    error: str | None = None
    """The failure's text (a refusal, a timeout, an unreadable answer), shown in place
    of the rows: a failed read must never look like an empty history."""


@dataclass(frozen=True, slots=True)
class AccountHistory:
    """Fills, orders and funding payments as the exchange's history lists them."""

    fills: Read[Fill]
    orders: Read[Order]
    funding: Read[FundingPayment]
    cap: int


async def _read(
    fetch: Fetch[T], key: Callable[[T], Hashable], cap: int, page: int = PAGE_MAX
) -> Read[T]:
    try:
        paged = await read_all(fetch, key, cap=cap, page=page)
    except BackpackError as exc:
        return Read(error=str(exc) or type(exc).__name__)
    return Read(paged.rows, paged.capped)


async def read_account_history(
    rest: RestClient, *, cap: int = DEFAULT_CAP, page: int = PAGE_MAX
) -> AccountHistory:
    """All three histories, newest first, each up to ``cap`` rows; one kind failing
    leaves the others readable. Every fill kind is read (liquidations too: they move
    realised PnL), not only ``fillType=User``."""
    order = "Desc"  # newest first: a cap keeps the newest rows, a new row repeats one

    async def fills(limit: int, offset: int) -> Sequence[Fill]:
        return await rest.fill_history(limit=limit, offset=offset, sort_direction=order)

    async def orders(limit: int, offset: int) -> Sequence[Order]:
        return await rest.order_history(limit=limit, offset=offset, sort_direction=order)

    async def funding(limit: int, offset: int) -> Sequence[FundingPayment]:
        return await rest.funding_history(limit=limit, offset=offset, sort_direction=order)

    return AccountHistory(
        fills=await _read(fills, fill_key, cap, page),
        orders=await _read(orders, order_key, cap, page),
        funding=await _read(funding, funding_key, cap, page),
        cap=cap,
    )
