"""The session's activity: fills, order results, cancels, reconnects and refusals.

Notifications that cover the screen hide the numbers a trader is watching, so what
happened goes here instead, one line an event: the activity panel shows it newest
first, and every line is also written to the log file (logger ``bpx_tui.activity``).

Two sources and no duplicates: what the exchange did arrives as the client's events
(an order accepted, cancelled, expired or triggered; a fill; the stream dropping and
coming back) and is turned into entries here; what the desk decided without the
exchange (a refusal, a failure, the kill switch, close-all's report) comes as an
:class:`ActivityEntry` on the desk's ``Outcome``. The desk never logs what an order
update will report anyway, so an accepted order is one line, not two.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from bpx_tui.exchange.models import Order
from bpx_tui.exchange.stream import ConnectionState
from bpx_tui.ui import fmt

log = logging.getLogger("bpx_tui.activity")

ENTRIES_KEPT = 20_000  # a busy session's worth; the log file keeps everything
ENDED_KEPT = 4096
Tone = Literal["", "buy", "sell", "bad", "warn", "muted"]

# An order update's status, as the activity log words it. Fills are logged from their
# own events (with the fill's size and price), so the statuses a fill causes are not.
_ORDER_RESULTS = {
    "New": "accepted",
    "Cancelled": "cancelled",
    "Expired": "expired",
    "TriggerPending": "trigger placed",
    "TriggerFailed": "trigger failed",
    "Triggered": "triggered",
}
_TERMINAL = frozenset({"Cancelled", "Expired", "Filled", "TriggerFailed"})


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One line of the activity log; every field is already text to show."""

    event: str
    """A short word: fill, order, refused, error, stream, close-all, kill…"""
    result: str
    """What came of it, in the exchange's words where it gave any."""
    market: str = ""
    side: str = ""
    """``BUY`` / ``SELL``, or empty."""
    size: str = ""
    price: str = ""
    tone: Tone = ""
    """How the line is coloured: by side for fills, ``bad`` for refusals and errors."""
    at_ms: int = 0
    """Wall-clock time, stamped when the entry is recorded."""

    @property
    def line(self) -> str:
        """The entry as one line of the log file."""
        fields = (self.event, self.market, self.side, self.size, self.price)
        head = " ".join(field for field in fields if field)
        return f"{head}: {self.result}" if head else self.result


def _side(side: str) -> tuple[str, Tone]:
    word = fmt.side_word(side) if side else ""
    return word, ("buy" if side == "Bid" else "sell" if side == "Ask" else "")


def fill_entry(order: Order) -> ActivityEntry:
    """A fill: its own size and price (``l`` / ``L``), and how much of the order is done."""
    raw = order.raw or {}
    side, tone = _side(order.side)
    size = fmt.exact(str(raw.get("l") or order.executed_quantity))
    price = fmt.exact(str(raw.get("L") or order.price or ""))
    total = order.quantity
    if order.status == "Filled" or total is None or order.executed_quantity >= total:
        result = "filled"
    else:
        result = f"partial: {fmt.exact(order.executed_quantity)} of {fmt.exact(total)}"
    if raw.get("m") is True:
        result += " · maker"
    elif raw.get("m") is False:
        result += " · taker"
    return ActivityEntry("fill", result, order.symbol, side, size, price, tone)


def order_entry(order: Order) -> ActivityEntry | None:
    """An order's new status, or None for one a fill entry already tells."""
    result = _ORDER_RESULTS.get(order.status)
    if result is None:
        return None
    side, _tone = _side(order.side)
    kind = order.order_type + (" post-only" if order.post_only else "")
    kind += " reduce-only" if order.reduce_only else ""
    price = order.price if order.price is not None else order.trigger_price
    size = order.quantity if order.quantity is not None else order.quote_quantity
    # A pending trigger's quantity is null or "0": its size is the trigger quantity.
    size_text = order.trigger_quantity if not size and order.trigger_quantity else fmt.exact(size)
    tone: Tone = "muted" if order.status in ("Cancelled", "Expired") else ""
    if order.status == "TriggerFailed":
        tone = "bad"
    return ActivityEntry(
        "order",
        f"{kind} {result}",
        order.symbol,
        side,
        size_text,
        fmt.exact(price),
        tone,
    )


def connection_entry(state: ConnectionState, reason: str | None) -> ActivityEntry:
    words = {
        ConnectionState.CONNECTED: "connected",
        ConnectionState.CONNECTING: "connecting",
        ConnectionState.RECONNECTING: "reconnecting",
        ConnectionState.DOWN: "down",
    }
    result = words.get(state, state.value) + (f": {reason}" if reason else "")
    tone: Tone = "" if state is ConnectionState.CONNECTED else "warn"
    return ActivityEntry("stream", result, tone=tone)


class OrderStatusMemo:
    """Which status each of our orders was last logged with.

    The same status reaches the client more than once (the REST answer, then the
    stream's update; a re-read of open orders), and the log says it once. Working
    orders are remembered until they end; ended ones only for the last
    :data:`ENDED_KEPT`, enough to absorb the echoes that follow an end.
    """

    __slots__ = ("_ended", "_ended_order", "_working")

    def __init__(self) -> None:
        self._working: dict[str, str] = {}
        self._ended: dict[str, str] = {}
        self._ended_order: deque[str] = deque()

    def is_new(self, order: Order) -> bool:
        key, status = order.id, order.status
        if key in self._ended:
            return False  # an echo after the end (a late update, a re-read)
        if status not in _TERMINAL:
            before = self._working.get(key)
            self._working[key] = status
            return before != status
        self._working.pop(key, None)
        self._ended[key] = status
        self._ended_order.append(key)
        if len(self._ended_order) > ENDED_KEPT:
            self._ended.pop(self._ended_order.popleft(), None)
        return True


class ActivityLog:
    """The session's entries, oldest first; ``version`` moves on every new one."""

    __slots__ = ("_entries", "dropped", "version")

    def __init__(self, kept: int = ENTRIES_KEPT) -> None:
        self._entries: deque[ActivityEntry] = deque(maxlen=kept)
        self.version = 0
        self.dropped = 0
        """How many of the oldest entries have made room for new ones."""

    def record(self, entry: ActivityEntry, at_ms: int) -> ActivityEntry:
        """Stamp, keep and write one entry to the log file."""
        stamped = replace(entry, at_ms=at_ms)
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append(stamped)
        self.version += 1
        level = logging.WARNING if entry.tone in ("bad", "warn") else logging.INFO
        log.log(level, "%s", stamped.line)
        return stamped

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> ActivityEntry:
        """The ``index``-th oldest entry still kept."""
        return self._entries[index]

    def newest_first(self, start: int = 0, count: int | None = None) -> Iterator[ActivityEntry]:
        """Entries from the ``start``-th newest, at most ``count`` of them."""
        entries = self._entries
        stop = len(entries) if count is None else min(len(entries), start + count)
        for index in range(start, stop):
            yield entries[-1 - index]
