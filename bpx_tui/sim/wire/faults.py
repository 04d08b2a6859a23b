"""Failure modes the local exchange can be told to produce, for tests and demos.

Every recovery path of a client (resync after a depth gap, reconnect after a drop or
a silent feed, back-off on 429, "unknown outcome" after a 5xx on an order that was in
fact accepted) needs the failure on demand. This module only holds *what is armed*;
the REST middleware, the order handler and the WebSocket hub consult it at the point
where the failure happens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

OrderFaultMode = Literal["error", "hang"]


@dataclass
class OrderFault:
    """What happens to the next accepted order: an error status or a hang."""

    mode: OrderFaultMode = "error"
    status: int = 503
    hang_seconds: float = 30.0


@dataclass
class _Throttle:
    remaining: int
    path: str | None
    retry_after: float


@dataclass
class Faults:
    """Armed faults. Plain state plus small ``take_*`` methods that consume them."""

    rest_latency: float = 0.0
    ws_latency: float = 0.0
    silent_until: float = 0.0
    refuse_private: int = 0
    """How many more signed (private) SUBSCRIBE frames are answered with an error."""
    _throttles: list[_Throttle] = field(default_factory=list)
    _order_faults: list[OrderFault] = field(default_factory=list)
    _depth_skips: dict[str, int] = field(default_factory=dict)

    # -- 429 --------------------------------------------------------------------------

    def throttle(self, count: int = 1, path: str | None = None, retry_after: float = 1.0) -> None:
        """Answer the next ``count`` REST calls (whose path starts with ``path``) with 429."""
        if count > 0:
            self._throttles.append(_Throttle(count, path, retry_after))

    def take_throttle(self, path: str) -> float | None:
        """Consume one armed 429 matching ``path``; return its Retry-After seconds."""
        for throttle in self._throttles:
            if throttle.path is None or path.startswith(throttle.path):
                throttle.remaining -= 1
                if throttle.remaining <= 0:
                    self._throttles.remove(throttle)
                return throttle.retry_after
        return None

    # -- order placement ---------------------------------------------------------------

    def fail_next_order(
        self, mode: OrderFaultMode = "error", status: int = 503, hang_seconds: float = 30.0
    ) -> None:
        """Make the next *accepted* order placement answer ``status`` or hang.

        The engine has already accepted the order when this fires, so the client must
        treat the outcome as unknown and reconcile by ``clientId`` (DESIGN "Orders").
        """
        if mode not in ("error", "hang"):
            raise ValueError(f"unknown order fault mode {mode!r}")
        self._order_faults.append(OrderFault(mode, status, hang_seconds))

    def take_order_fault(self) -> OrderFault | None:
        return self._order_faults.pop(0) if self._order_faults else None

    # -- WebSocket ---------------------------------------------------------------------

    def skip_depth(self, symbol: str, count: int = 1) -> None:
        """Withhold depth messages of ``symbol`` until ``count`` update ids were skipped.

        Dropping whole messages (rather than renumbering) keeps the stream consistent
        with the REST snapshot, so a client that resyncs recovers -- like a real loss.
        """
        if count > 0:
            self._depth_skips[symbol] = self._depth_skips.get(symbol, 0) + count

    def deliver_public(self, stream: str, data: dict[str, Any]) -> bool:
        """False when a real-time depth event is withheld to produce an armed gap."""
        if not self._depth_skips or not stream.startswith("depth."):
            return True
        symbol = stream[len("depth.") :]
        pending = self._depth_skips.get(symbol)
        if not pending:
            return True
        try:
            skipped = int(data["u"]) - int(data["U"]) + 1
        except (KeyError, TypeError, ValueError):
            skipped = 1
        left = pending - max(1, skipped)
        if left > 0:
            self._depth_skips[symbol] = left
        else:
            del self._depth_skips[symbol]
        return False

    def refuse_private_subscriptions(self, count: int = 1) -> None:
        """Refuse the next ``count`` private subscriptions with Backpack's error frame.

        The client must then tell the trader and fall back to REST polling of the
        account until a later private subscription is accepted.
        """
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        self.refuse_private += count

    def take_private_refusal(self) -> bool:
        """Consume one armed refusal; False when none is armed."""
        if self.refuse_private <= 0:
            return False
        self.refuse_private -= 1
        return True

    def go_silent(self, seconds: float) -> None:
        """Stop all WebSocket output (data, pings, pongs) for ``seconds``."""
        self.silent_until = max(self.silent_until, time.monotonic() + seconds)

    def silent(self) -> bool:
        return self.silent_until > 0.0 and time.monotonic() < self.silent_until

    def clear(self) -> None:
        """Disarm everything (latencies back to zero)."""
        self.rest_latency = 0.0
        self.ws_latency = 0.0
        self.silent_until = 0.0
        self.refuse_private = 0
        self._throttles.clear()
        self._order_faults.clear()
        self._depth_skips.clear()
