"""One symbol's order book: price levels with FIFO queues, and the depth change log.

Both sides keep their prices in an ascending list (bisect insert/delete is a memmove
over a few hundred ints) and a dict of levels. Every mutation records the touched
``(is_bid, price)`` so the engine can publish exactly one ``depth`` message per engine
event with the levels' new absolute quantities (docs/PROTOCOL.md "Order book sync").
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator

from bpx_tui.sim.venue.orders import Order


class Level:
    __slots__ = ("orders", "qty")

    def __init__(self) -> None:
        self.qty = 0
        self.orders: deque[Order] = deque()


class BookSide:
    """Levels of one side; ``prices`` ascending for both sides."""

    __slots__ = ("is_bid", "levels", "prices")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.prices: list[int] = []
        self.levels: dict[int, Level] = {}

    def best(self) -> int | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.is_bid else self.prices[0]

    def worst(self) -> int | None:
        if not self.prices:
            return None
        return self.prices[0] if self.is_bid else self.prices[-1]

    def qty_at(self, price: int) -> int:
        level = self.levels.get(price)
        return level.qty if level is not None else 0

    def best_first(self) -> Iterator[int]:
        """Prices from the touch outwards (a snapshot: safe while levels are removed)."""
        return reversed(self.prices[:]) if self.is_bid else iter(self.prices[:])


class Book:
    __slots__ = ("asks", "bids", "changed", "orders", "symbol", "update_id")

    def __init__(self, symbol: str, first_update_id: int = 0) -> None:
        self.symbol = symbol
        self.bids = BookSide(True)
        self.asks = BookSide(False)
        self.orders: dict[str, Order] = {}
        self.update_id = first_update_id
        self.changed: dict[tuple[bool, int], None] = {}

    def side(self, is_bid: bool) -> BookSide:
        return self.bids if is_bid else self.asks

    def add(self, order: Order) -> None:
        """Rest ``order`` (price set, remaining > 0) at the back of its level."""
        assert order.price is not None
        side = self.bids if order.is_bid else self.asks
        price = order.price
        level = side.levels.get(price)
        if level is None:
            level = Level()
            side.levels[price] = level
            insort(side.prices, price)
        level.orders.append(order)
        level.qty += order.remaining
        self.orders[order.id] = order
        self.changed[(order.is_bid, price)] = None

    def remove(self, order: Order) -> None:
        """Take a resting order off the book (its unfilled remainder leaves the level)."""
        assert order.price is not None
        side = self.bids if order.is_bid else self.asks
        price = order.price
        level = side.levels[price]
        level.orders.remove(order)
        level.qty -= order.remaining
        del self.orders[order.id]
        if not level.orders:
            del side.levels[price]
            del side.prices[bisect_left(side.prices, price)]
        self.changed[(order.is_bid, price)] = None

    def reduce(self, order: Order, steps: int) -> None:
        """The level shrinks by ``steps`` (a fill or a reduce-only shrink of ``order``)."""
        assert order.price is not None
        side = self.bids if order.is_bid else self.asks
        side.levels[order.price].qty -= steps
        self.changed[(order.is_bid, order.price)] = None

    def resize(self, order: Order, remaining: int) -> None:
        """Give a resting order a new unfilled size in place (the market maker re-quoting)."""
        assert order.price is not None and order.quantity is not None and remaining > 0
        delta = remaining - order.remaining
        order.quantity += delta
        side = self.bids if order.is_bid else self.asks
        side.levels[order.price].qty += delta
        self.changed[(order.is_bid, order.price)] = None

    def top(self) -> tuple[int | None, int, int | None, int]:
        """Best bid, its size, best ask, its size (``None``/0 for an empty side)."""
        bid_prices, ask_prices = self.bids.prices, self.asks.prices
        bid = bid_prices[-1] if bid_prices else None
        ask = ask_prices[0] if ask_prices else None
        return (
            bid,
            self.bids.levels[bid].qty if bid is not None else 0,
            ask,
            self.asks.levels[ask].qty if ask is not None else 0,
        )

    def crossed(self) -> bool:
        bid, ask = self.bids.best(), self.asks.best()
        return bid is not None and ask is not None and bid >= ask
