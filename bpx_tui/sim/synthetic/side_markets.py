"""The rest of the universe beside a blast: every other market's mark and ticker, once a
second, the way live Backpack streams them.

``bpx-tui bench``'s ``markets`` section measures the console with one market's depth
blasted at thousands of messages a second *and* every other listed market streaming its
``markPrice`` (perps) and ``ticker`` — what the funding board and the watchlist subscribe
to. The blast server (:mod:`~bpx_tui.sim.synthetic.blast`) lists these markets and, per
connection, writes the frames of the streams that connection subscribed, once a second.

Frames are encoded up front, like the blast's: a cycle of :data:`CYCLE` price steps per
market, with only the event time (``E``, µs) formatted at send time, so a consumer's
feed-latency figure is true and the server's cost stays small beside the client's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from bpx_tui.sim.venue.universe import MARKETS

CYCLE = 60
"""Price steps per market before its frames repeat (a minute at one a second)."""
_WIGGLE = 0.002  # the mark's swing over a cycle, a fraction of its price


@dataclass(frozen=True)
class SideMarkets:
    """Every market but the blasted one: its listing row and its encoded frames."""

    listing: list[dict[str, Any]]
    heads: dict[str, list[bytes]]  # stream name -> payloads without the closing ``,"E":..}}``

    @property
    def streams(self) -> frozenset[str]:
        return frozenset(self.heads)

    def frames(self, streams: Iterable[str], tick: int) -> list[bytes]:
        """Step ``tick`` of each of ``streams`` that is ours, as finished payloads."""
        now_us = int(time.time() * 1_000_000)
        out = []
        for stream in streams:
            heads = self.heads.get(stream)
            if heads is not None:
                out.append(b'%s,"E":%d}}' % (heads[tick % len(heads)], now_us))
        return out


def _price(spec_price: Decimal, decimals: int, step: int) -> str:
    swing = 1 + _WIGGLE * math.sin(2 * math.pi * step / CYCLE)
    return f"{float(spec_price) * swing:.{decimals}f}"


def side_markets(blasted: str) -> SideMarkets:
    """Every market of the local exchange's universe except ``blasted``."""
    listing = []
    heads: dict[str, list[bytes]] = {}
    next_ms = (int(time.time()) // 3600 + 1) * 3_600_000
    for spec in MARKETS:
        symbol = spec.symbol
        if symbol == blasted:
            continue
        listing.append(spec.to_json())
        prices = [_price(spec.start_price, spec.price_decimals, i) for i in range(CYCLE)]
        ticker = f"ticker.{symbol}"
        heads[ticker] = [_head(ticker, _ticker(symbol, prices, i)) for i in range(CYCLE)]
        if spec.is_perp:
            mark = f"markPrice.{symbol}"
            # Rates that differ by market and sign, as the funding board shows them.
            rate = (len(symbol) % 7 - 3) * 0.00002
            heads[mark] = [
                _head(mark, _mark(symbol, prices[i], rate + 0.00001 * math.sin(i / 9), next_ms))
                for i in range(CYCLE)
            ]
    return SideMarkets(listing, heads)


def _ticker(symbol: str, prices: list[str], step: int) -> dict[str, Any]:
    low, high = min(prices, key=float), max(prices, key=float)
    return {
        "e": "ticker", "s": symbol, "o": prices[0], "c": prices[step], "h": high, "l": low,
        "v": "1000", "V": "1000000", "n": 100 + step,
    }  # fmt: skip


def _mark(symbol: str, price: str, rate: float, next_ms: int) -> dict[str, Any]:
    return {"e": "markPrice", "s": symbol, "p": price, "i": price, "f": f"{rate:.6f}", "n": next_ms}


def _head(stream: str, data: dict[str, Any]) -> bytes:
    return b'{"stream":"%s","data":%s' % (stream.encode(), orjson.dumps(data)[:-1])
