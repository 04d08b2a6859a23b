"""A deterministic, Backpack-shaped depth stream for the book's tests and benchmark.

Shaped like the stream the performance targets were measured on (docs/PERFORMANCE.md
"The synthetic depth stream") so our numbers compare with those: ~500 levels a side,
tick 0.1 around a random-walking mid, ~3.1 level updates a message (75% within 12 ticks
of the touch), deletes spelled ``"0"``, ``"0.0"`` or ``"0.00000"`` so nobody can test
the string. The generator keeps its own exact book (integer ticks -> size text), so a
consumer can be checked against it.

It lives with the benchmarks, not in ``exchange``: the console never runs it, and the
book must not import its own test harness.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from bpx_tui.exchange.book import OrderBook

ZERO_SPELLINGS = ("0", "0.0", "0.00000")
# Level updates per message: mean 3.1 like the research stream.
_UPDATE_COUNTS = (1, 2, 2, 3, 3, 3, 4, 4, 4, 5)
_NEAR_TICKS = 12


def price_text(tick: int) -> str:
    """Tick 970125 at tick size 0.1 -> ``"97012.5"`` (how Backpack writes it)."""
    return f"{tick // 10}.{tick % 10}"


def _size_text(rng: random.Random) -> str:
    units = 1 + int(rng.random() * 400_000)
    return f"{units // 100_000}.{units % 100_000:05d}"


@dataclass
class SynthStream:
    """A REST snapshot, the deltas that follow it, and the book they lead to."""

    symbol: str
    snapshot: dict[str, Any]
    messages: list[dict[str, Any]]
    bids: dict[int, str] = field(default_factory=dict)
    asks: dict[int, str] = field(default_factory=dict)
    last_update_id: int = 0

    def top(self, side: str, n: int) -> list[tuple[str, str]]:
        """The generator's own best ``n`` levels of ``"Bid"``/``"Ask"`` as text."""
        book = self.bids if side == "Bid" else self.asks
        ticks = sorted(book, reverse=side == "Bid")[:n]
        return [(price_text(t), book[t]) for t in ticks]

    @property
    def level_updates(self) -> int:
        return sum(len(m["a"]) + len(m["b"]) for m in self.messages)


def synth_stream(
    messages: int = 200_000,
    seed: int = 1,
    *,
    symbol: str = "BTC_USDC_PERP",
    levels: int = 500,
    mid_tick: int = 970_000,
    first_id: int = 2_204_871_164,
) -> SynthStream:
    """Generate the snapshot and ``messages`` deltas; same arguments, same stream."""
    rng = random.Random(seed)
    bids: dict[int, str] = {}
    asks: dict[int, str] = {}
    for book, direction in ((bids, -1), (asks, 1)):
        tick = mid_tick
        while len(book) < levels:
            tick += direction
            if rng.random() < 0.8:
                book[tick] = _size_text(rng)
    snapshot = {
        "asks": [[price_text(t), asks[t]] for t in sorted(asks)],
        "bids": [[price_text(t), bids[t]] for t in sorted(bids)],
        "lastUpdateId": str(first_id - 1),
        "timestamp": 1_763_900_000_000_000,
    }
    out: list[dict[str, Any]] = []
    mid = mid_tick
    far = int(levels / 0.8) + 25 - _NEAR_TICKS  # far offsets reach the book's end
    next_id = first_id
    clock = 1_763_900_000_100_000
    rand = rng.random  # randint/choice cost 5-10x more; 200k messages add up
    counts = len(_UPDATE_COUNTS)
    for _ in range(messages):
        a: list[list[str]] = []
        b: list[list[str]] = []
        if rand() < 0.05:
            mid += 1 if rand() < 0.5 else -1
            # Keep the book uncrossed: the level at the new mid leaves.
            for book, changes in ((bids, b), (asks, a)):
                if mid in book:
                    del book[mid]
                    changes.append([price_text(mid), ZERO_SPELLINGS[int(rand() * 3)]])
        for _ in range(_UPDATE_COUNTS[int(rand() * counts)]):
            is_bid = rand() < 0.5
            book, changes = (bids, b) if is_bid else (asks, a)
            if rand() < 0.75:
                offset = 1 + int(rand() * _NEAR_TICKS)
            else:
                offset = _NEAR_TICKS + 1 + int(rand() * far)
            tick = mid - offset if is_bid else mid + offset
            if tick in book and rand() < (0.35 if len(book) >= levels else 0.15):
                del book[tick]
                changes.append([price_text(tick), ZERO_SPELLINGS[int(rand() * 3)]])
            else:
                size = _size_text(rng)
                book[tick] = size
                changes.append([price_text(tick), size])
        last = next_id + int(rand() * 3)
        clock += 50 + int(rand() * 2_000)
        out.append(
            {
                "e": "depth",
                "E": clock + 900,
                "s": symbol,
                "a": a,
                "b": b,
                "U": next_id,
                "u": last,
                "T": clock,
            }
        )
        next_id = last + 1
    return SynthStream(symbol, snapshot, out, bids, asks, next_id - 1)


def check_book(book: OrderBook, stream: SynthStream, n: int = 20) -> None:
    """Raise ``AssertionError`` unless ``book`` shows the generator's final top ``n``."""
    got_bids = [(level.price_text, level.size_text) for level in book.bids(n)]
    got_asks = [(level.price_text, level.size_text) for level in book.asks(n)]
    if got_bids != stream.top("Bid", n) or got_asks != stream.top("Ask", n):
        raise AssertionError("order book differs from the synthetic reference")
    if book.last_update_id != stream.last_update_id or not book.synced:
        raise AssertionError("order book is not synced to the end of the stream")
