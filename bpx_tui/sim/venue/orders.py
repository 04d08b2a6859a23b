"""The engine's order record.

One mutable ``__slots__`` object per order: the synthetic market maker creates and
cancels thousands of them a second, so there is no per-order dict and no ``Decimal``
in the fields the matching loop touches (price in ticks, quantities in steps).
"""

from __future__ import annotations

import re
from decimal import Decimal

# Status values (docs/PROTOCOL.md "Enum casing").
NEW = "New"
PARTIALLY_FILLED = "PartiallyFilled"
FILLED = "Filled"
CANCELLED = "Cancelled"
EXPIRED = "Expired"
TRIGGER_PENDING = "TriggerPending"
TRIGGER_FAILED = "TriggerFailed"

FINAL_STATUSES = frozenset({FILLED, CANCELLED, EXPIRED, TRIGGER_FAILED})

FIRST_ORDER_ID = 4_200_000_000
"""Ids start at Backpack's order of magnitude, so a client's id handling is exercised
with numbers as long as the real ones."""


def ws_reason(reason: str) -> str:
    """REST ``PostOnlyTaker`` -> WS ``POST_ONLY_TAKER`` (fixture ws_account_orderUpdate_expired)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", reason).upper()


class Order:
    """A live or finished order; quantities in steps, prices in ticks."""

    __slots__ = (
        "account_id",
        "attached",
        "client_id",
        "created_us",
        "executed",
        "executed_quote",
        "expiry_reason",
        "id",
        "is_bid",
        "is_limit",
        "legs",
        "origin",
        "post_only",
        "price",
        "quantity",
        "quote_quantity",
        "recorded",
        "reduce_only",
        "related_id",
        "status",
        "stp",
        "symbol",
        "system_type",
        "tif",
        "trigger_above",
        "trigger_by",
        "trigger_price",
        "trigger_quantity",
        "triggered_at_ms",
        "updated_us",
    )

    def __init__(
        self,
        order_id: str,
        account_id: int,
        symbol: str,
        is_bid: bool,
        is_limit: bool,
        price: int | None,
        quantity: int | None,
        created_us: int,
        *,
        tif: str = "GTC",
        post_only: bool = False,
        reduce_only: bool | None = None,
        client_id: int | None = None,
        stp: str = "RejectTaker",
        quote_quantity: Decimal | None = None,
    ) -> None:
        self.id = order_id
        self.account_id = account_id
        self.symbol = symbol
        self.is_bid = is_bid
        self.is_limit = is_limit
        self.price = price
        self.quantity = quantity
        self.quote_quantity = quote_quantity
        self.executed = 0
        self.executed_quote = 0  # in tick*step units
        self.tif = tif
        self.post_only = post_only
        self.reduce_only = reduce_only
        self.client_id = client_id
        self.stp = stp
        self.status = NEW
        self.created_us = created_us
        self.updated_us = created_us
        self.expiry_reason: str | None = None
        self.system_type: str | None = None
        self.origin = "USER"
        self.related_id: str | None = None
        self.trigger_price: int | None = None
        self.trigger_quantity: str | None = None
        self.trigger_by: str | None = None
        self.trigger_above: bool | None = None
        self.triggered_at_ms: int | None = None
        self.recorded = False  # already in the owner's order history
        # attached take-profit / stop-loss: kind ("takeProfit"|"stopLoss") ->
        # (trigger price ticks, limit price ticks or None, trigger by)
        self.attached: dict[str, tuple[int, int | None, str]] | None = None
        self.legs: list[Order] | None = None  # attached legs, once the first fill armed them

    @property
    def remaining(self) -> int:
        """Steps still to fill (0 for a quote-sized market order: it tracks a budget)."""
        if self.quantity is None:
            return 0
        return self.quantity - self.executed

    @property
    def side(self) -> str:
        return "Bid" if self.is_bid else "Ask"

    @property
    def is_trigger(self) -> bool:
        return self.trigger_price is not None

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_STATUSES

    def __repr__(self) -> str:
        return (
            f"Order({self.id} {self.symbol} {self.side} px={self.price} qty={self.quantity} "
            f"exec={self.executed} {self.status})"
        )


class OrderIds:
    """One counter for every order on the venue (users', trigger legs, liquidations and
    the synthetic market's quotes), so ids are unique and rise in creation order."""

    __slots__ = ("last",)

    def __init__(self, last: int = FIRST_ORDER_ID) -> None:
        self.last = last

    def next(self) -> str:
        self.last += 1
        return str(self.last)
