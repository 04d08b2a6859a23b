"""Everything the venue tells the outside world leaves through one ``emit`` callable.

``emit(stream, data, account_id)`` gets the WebSocket payload exactly as Backpack sends
it (``account_id`` set = a private stream); the server fans it out. Keeping all
stamping here means ``E``/``T`` are set one way (ints, or strings when
``ts_as_strings`` reproduces the feeds that send them as JSON strings) and system
accounts never produce private events.

Depth is published per *engine event*, not per change: a book records the levels an
event touched, and :meth:`Publisher.book` sends one ``depth.<symbol>`` message whose
``U..u`` covers exactly those levels (absolute quantities), so the stream replayed onto
any REST snapshot reproduces the book; a ``bookTicker`` follows when the touch moved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bpx_tui.sim.venue.accounts import Account, Position
from bpx_tui.sim.venue.book import Book
from bpx_tui.sim.venue.margin import Risk
from bpx_tui.sim.venue.market_state import FIRST_UPDATE_ID
from bpx_tui.sim.venue.markets import MarketSpec, fmt_units
from bpx_tui.sim.venue.orders import Order
from bpx_tui.sim.venue.views import FillInfo, order_event, position_event

Json = dict[str, Any]
Emit = Callable[[str, dict[str, Any], int | None], None]
Top = tuple[int | None, int, int | None, int]


def everything(stream: str) -> bool:
    return True


class Publisher:
    """Stamps and emits the venue's public and private stream events."""

    def __init__(
        self,
        emit: Emit,
        clock_us: Callable[[], int],
        ts_as_strings: bool,
        specs: dict[str, MarketSpec],
        risk: Risk,
    ) -> None:
        self._emit = emit
        self._clock = clock_us
        self._strings = ts_as_strings
        self._specs = specs
        self._risk = risk
        self._top: dict[str, Top] = {symbol: (None, 0, None, 0) for symbol in specs}
        self.wanted: Callable[[str], bool] = everything
        """Whether a public stream has a listener: timed feeds that cost work to build
        (a 24 h ticker aggregates a day of candles) skip the streams nobody reads. The
        server asks its WebSocket hub; alone, an engine builds them all (tests read
        every event it emits)."""

    def stamp(self, data: Json, now: int) -> Json:
        """Set ``E`` and ``T`` (event and engine time) on ``data``."""
        stamp: int | str = str(now) if self._strings else now
        data["E"] = stamp
        data["T"] = stamp
        return data

    def public(self, stream: str, data: Json) -> None:
        self._emit(stream, self.stamp(data, self._clock()), None)

    def public_untimed(self, stream: str, data: Json) -> None:
        """Streams whose payload has ``E`` but no engine time ``T`` (ticker, open
        interest; a kline's ``T`` is the candle's close time)."""
        now = self._clock()
        data["E"] = str(now) if self._strings else now
        self._emit(stream, data, None)

    def private(self, account: Account, stream: str, data: Json) -> None:
        if not account.system:
            self._emit(stream, self.stamp(data, self._clock()), account.id)

    def order(
        self,
        account: Account,
        event: str,
        order: Order,
        spec: MarketSpec,
        fill: FillInfo | None = None,
    ) -> None:
        """An ``account.orderUpdate`` event of ``order``."""
        if not account.system:
            self.private(account, "account.orderUpdate", order_event(event, order, spec, fill))

    def position(
        self, account: Account, position: Position, spec: MarketSpec, event: str | None
    ) -> None:
        """An ``account.positionUpdate`` event with the position's figures at the mark."""
        if account.system:
            return
        figures = self._risk.position(account, position, spec)
        data = position_event(position, spec, figures, event)
        self.private(account, "account.positionUpdate", data)

    def rebase(self, book: Book) -> None:
        """Take ``book`` as it is now as the starting snapshot: what is already on it is
        never sent as a change (the synthetic market's seeding)."""
        book.changed = {}
        book.update_id = FIRST_UPDATE_ID
        self._top[book.symbol] = book.top()

    def book(self, book: Book) -> None:
        """Emit the book's changes since the last call as one depth message (hot path)."""
        spec = self._specs[book.symbol]
        pd, qd = spec.price_decimals, spec.quantity_decimals
        ask_side, bid_side = book.asks.levels, book.bids.levels
        a: list[list[str]] = []
        b: list[list[str]] = []
        for is_bid, price in sorted(book.changed):
            level = (bid_side if is_bid else ask_side).get(price)
            (b if is_bid else a).append(
                [fmt_units(price, pd), fmt_units(level.qty if level is not None else 0, qd)]
            )
        book.changed = {}
        first = book.update_id + 1
        book.update_id += len(a) + len(b)
        now = self._clock()
        stamp: int | str = str(now) if self._strings else now
        self._emit(
            "depth." + book.symbol,
            {
                "e": "depth",
                "E": stamp,
                "s": book.symbol,
                "a": a,
                "b": b,
                "U": first,
                "u": book.update_id,
                "T": stamp,
            },
            None,
        )
        top = book.top()
        if top != self._top[book.symbol]:
            self._top[book.symbol] = top
            bid, bid_qty, ask, ask_qty = top
            self._emit(
                "bookTicker." + book.symbol,
                {
                    "e": "bookTicker",
                    "E": stamp,
                    "s": book.symbol,
                    "a": fmt_units(ask, pd) if ask is not None else None,
                    "A": fmt_units(ask_qty, qd),
                    "b": fmt_units(bid, pd) if bid is not None else None,
                    "B": fmt_units(bid_qty, qd),
                    "u": book.update_id,
                    "T": stamp,
                },
                None,
            )
