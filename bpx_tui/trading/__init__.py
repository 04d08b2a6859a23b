"""Trading layer: pre-trade risk checks, the order journal, order entry and close-all.

Pure asyncio + stdlib on top of :mod:`bpx_tui.exchange`. The risk and journal names
are imported eagerly (stdlib only); the order service is loaded on first use, so that
``bpx_tui.config`` (which needs :class:`RiskLimits`) does not pull in the network stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpx_tui.trading.journal import DailySummary, Journal, JournalEntry
from bpx_tui.trading.order import Exit, NewOrder, OrderIntent, build_order
from bpx_tui.trading.outcome import Reconciled
from bpx_tui.trading.risk import (
    DuplicateSubmit,
    MarketSnapshot,
    RiskGate,
    RiskLimits,
    RiskRejected,
    check,
    is_reducing,
)

if TYPE_CHECKING:
    from bpx_tui.trading.orders import CloseAllReport, OrderService

__all__ = [
    "CloseAllReport",
    "DailySummary",
    "DuplicateSubmit",
    "Exit",
    "Journal",
    "JournalEntry",
    "MarketSnapshot",
    "NewOrder",
    "OrderIntent",
    "OrderService",
    "Reconciled",
    "RiskGate",
    "RiskLimits",
    "RiskRejected",
    "build_order",
    "check",
    "is_reducing",
]


def __getattr__(name: str) -> Any:
    if name in ("OrderService", "CloseAllReport"):
        from bpx_tui.trading import orders

        return getattr(orders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
