"""Per-symbol public statistics: recent trades, 1-minute candles, the 24 h ticker.

Candles are kept per minute for last, mark and index prices; longer kline intervals
and the rolling 24 h ticker are aggregated from them on request, so recording a trade
is O(1) no matter how busy the market is.

The past from before the venue opened (:mod:`bpx_tui.sim.synthetic.backfill`) is made
on first *read* (:meth:`MarketData.defer_past`): a venue listing 32 markets would
otherwise spend ~0.35 s at every start inventing days nobody may ask for. Writes never
need it -- the past goes in front of whatever the venue recorded meanwhile, and its
trade ids are reserved up front -- so stepping a market nobody reads stays cheap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bpx_tui.exchange.numbers import wire
from bpx_tui.sim.errors import bad_request
from bpx_tui.sim.venue.markets import MarketSpec

Json = dict[str, Any]
ZERO = Decimal(0)
DAY_S = 86_400
KEEP_MINUTES = 8 * 1440

INTERVALS_S: dict[str, int] = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
    "3d": 259200,
    "1w": 604800,
    "1month": 2_592_000,  # buckets of 30 days; calendar months are not modelled
}
PRICE_TYPES = {"Last": "Last", "LastPrice": "Last", "Mark": "Mark", "MarkPrice": "Mark"}
PRICE_TYPES |= {"Index": "Index", "IndexPrice": "Index"}


def naive_datetime(ts_us: int, sep: str = "T", millis: bool = False) -> str:
    """Backpack's naive UTC datetime text (``2025-07-27T17:39:00.092``).

    The unit and spelling depend on the field (docs/PROTOCOL.md "Timestamps and units").
    """
    moment = datetime.fromtimestamp(ts_us / 1_000_000, UTC)
    text = moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if millis:
        text += f".{(ts_us // 1000) % 1000:03d}"
    return text


PastTrade = tuple[int, int, int, bool]
"""A backfilled trade: price ticks, quantity steps, time (µs), buyer is maker."""
Past = tuple[dict[str, list["Candle"]], list[PastTrade]]
"""Candles per kind (oldest first) and trades (oldest first) from before the venue opened."""


class Candle:
    __slots__ = ("close", "high", "low", "open", "quote_volume", "start_s", "trades", "volume")

    def __init__(self, start_s: int, price: Decimal) -> None:
        self.start_s = start_s
        self.open = self.high = self.low = self.close = price
        self.volume = ZERO
        self.quote_volume = ZERO
        self.trades = 0

    def update(self, price: Decimal) -> None:
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        self.close = price


def _merge(start_s: int, candles: list[Candle]) -> Candle:
    merged = Candle(start_s, candles[0].open)
    merged.high = max(c.high for c in candles)
    merged.low = min(c.low for c in candles)
    merged.close = candles[-1].close
    merged.volume = sum((c.volume for c in candles), ZERO)
    merged.quote_volume = sum((c.quote_volume for c in candles), ZERO)
    merged.trades = sum(c.trades for c in candles)
    return merged


class MarketData:
    """Trades and candles of one symbol."""

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        self._trades: deque[Json] = deque(maxlen=1000)
        self.next_trade_id = 1
        self.last_price: Decimal | None = None
        self._candles: dict[str, deque[Candle]] = {
            kind: deque(maxlen=KEEP_MINUTES) for kind in ("Last", "Mark", "Index")
        }
        self._past: Callable[[], Past] | None = None
        self._day_key: tuple[int, int, int] | None = None
        self._day_closed: Candle | None = None

    @property
    def trades(self) -> deque[Json]:
        """The recent trades, oldest first, the past's included."""
        self.load_past()
        return self._trades

    @property
    def candles(self) -> dict[str, deque[Candle]]:
        """One-minute candles per kind, oldest first, the past's included."""
        self.load_past()
        return self._candles

    @property
    def past_pending(self) -> bool:
        """True while a deferred past has not been asked for yet."""
        return self._past is not None

    def record_trade(
        self, price: int, qty: int, quote_units: int, ts_us: int, buyer_maker: bool
    ) -> tuple[int, Candle | None]:
        """Store a trade; returns its id and the previous candle if this one closed it."""
        spec = self.spec
        trade_id = self._append_trade(price, qty, quote_units, ts_us, buyer_maker)
        price_dec = spec.price_dec(price)
        self.last_price = price_dec
        closed = self._sample("Last", price_dec, ts_us)
        candle = self._candles["Last"][-1]
        candle.volume += spec.qty_dec(qty)
        candle.quote_volume += spec.notional_dec(quote_units)
        candle.trades += 1
        return trade_id, closed

    def _append_trade(
        self, price: int, qty: int, quote_units: int, ts_us: int, buyer_maker: bool
    ) -> int:
        spec = self.spec
        trade_id = self.next_trade_id
        self.next_trade_id += 1
        self._trades.append(
            {
                "id": trade_id,
                "price": spec.price_text(price),
                "quantity": spec.qty_text(qty),
                "quoteQuantity": wire(spec.notional_dec(quote_units)),
                "timestamp": ts_us // 1000,
                "isBuyerMaker": buyer_maker,
            }
        )
        return trade_id

    def defer_past(self, make: Callable[[], Past], trade_count: int, last_price: Decimal) -> None:
        """History from before the venue opened, made by ``make`` when first read.

        ``trade_count`` past trades get the ids ``1..trade_count`` now, so live trades
        numbered meanwhile come after them; ``last_price`` (the past's last trade) is
        what band checks and last-price triggers see before the first live trade.
        """
        if self._trades or self.next_trade_id != 1:
            raise RuntimeError("a past must be deferred before the first trade")
        self._past = make
        self.next_trade_id = 1 + trade_count
        self.last_price = last_price

    def load_past(self) -> None:
        """Put the deferred past in front of what the venue recorded since it opened.

        Reading :attr:`candles` or :attr:`trades` does this; a caller that reads many
        markets at once calls it first, one market at a time (~10 ms each).

        The trades are not sampled into candles: the candles given already count them.
        """
        make, self._past = self._past, None
        if make is None:
            return
        candles, trades = make()
        for kind, rows in candles.items():
            kept = self._candles[kind]
            room = len(rows) if kept.maxlen is None else kept.maxlen - len(kept)
            if room > 0:  # never push out what the venue recorded itself
                kept.extendleft(reversed(rows[-room:]))
        live = list(self._trades)
        self._trades.clear()
        next_id = self.next_trade_id
        self.next_trade_id = 1
        for price, qty, ts_us, buyer_maker in trades:
            self._append_trade(price, qty, price * qty, ts_us, buyer_maker)
        if self.next_trade_id > next_id:
            raise RuntimeError("the past has more trades than ids were reserved for")
        self._trades.extend(live)  # the deque's cap drops the oldest past ones first
        self.next_trade_id = next_id

    def record_price(self, kind: str, price: Decimal, ts_us: int) -> None:
        self._sample(kind, price, ts_us)

    def _sample(self, kind: str, price: Decimal, ts_us: int) -> Candle | None:
        minute = ts_us // 60_000_000 * 60
        candles = self._candles[kind]
        if candles and candles[-1].start_s >= minute:
            candles[-1].update(price)
            return None
        previous = candles[-1] if candles else None
        candles.append(Candle(minute, price))
        return previous

    def current_candle(self) -> Candle | None:
        """The live market's latest traded candle (the past's is never current)."""
        candles = self._candles["Last"]
        return candles[-1] if candles else None

    def _window(self, kind: str, start_s: int, end_s: int) -> Iterable[Candle]:
        for candle in reversed(self.candles[kind]):
            if candle.start_s < start_s:
                break
            if candle.start_s < end_s:
                yield candle

    def _rolling_day(self, start_s: int, end_s: int) -> Candle | None:
        """The candles from ``start_s`` to ``end_s`` merged into one, or None.

        All but the newest are closed and never change, so their merge is kept until the
        window's first minute or the newest candle moves (once a minute): a ticker every
        second per market then costs one merge of two candles, not of a day's 1,440.
        """
        candles = self.candles["Last"]
        if not candles:
            return None
        newest = candles[-1]
        key = (-(-start_s // 60), newest.start_s, len(candles))
        if key != self._day_key:
            closed = [c for c in self._window("Last", start_s, end_s) if c is not newest]
            closed.reverse()
            self._day_key = key
            self._day_closed = _merge(closed[0].start_s, closed) if closed else None
        parts = [] if self._day_closed is None else [self._day_closed]
        if start_s <= newest.start_s < end_s:
            parts.append(newest)
        return _merge(parts[0].start_s, parts) if parts else None

    def ticker(self, now_us: int, fallback: Decimal) -> Json:
        """The 24 h rolling ``/api/v1/ticker`` body."""
        now_s = now_us // 1_000_000
        merged = self._rolling_day(now_s - DAY_S + 1, now_s + 60)
        spec = self.spec
        last = self.last_price if self.last_price is not None else fallback
        if merged is not None:
            first, high, low = merged.open, merged.high, merged.low
            volume, quote_volume, trades = merged.volume, merged.quote_volume, merged.trades
        else:
            first = high = low = last
            volume = quote_volume = ZERO
            trades = 0
        change = last - first
        percent = (change / first).quantize(Decimal("1e-6")) if first else ZERO
        tick = spec.tick
        return {
            "symbol": spec.symbol,
            "firstPrice": str(first.quantize(tick)),
            "lastPrice": str(last.quantize(tick)),
            "priceChange": str(change.quantize(tick)),
            "priceChangePercent": str(percent),
            "high": str(high.quantize(tick)),
            "low": str(low.quantize(tick)),
            "volume": str(volume.quantize(spec.step)),
            "quoteVolume": wire(quote_volume),
            "trades": str(trades),
        }

    def klines(self, interval: str, start_s: int, end_s: int, price_type: str | None) -> list[Json]:
        """``/api/v1/klines`` rows, ascending."""
        seconds = INTERVALS_S.get(interval)
        if seconds is None:
            raise bad_request(f"Invalid interval: {interval}")
        kind = PRICE_TYPES.get(price_type or "Last")
        if kind is None:
            raise bad_request(f"Invalid priceType: {price_type}")
        buckets: dict[int, list[Candle]] = {}
        for candle in self._window(kind, start_s - seconds, end_s):
            bucket = candle.start_s // seconds * seconds
            if bucket + seconds <= start_s:
                continue
            buckets.setdefault(bucket, []).insert(0, candle)
        rows = []
        for bucket in sorted(buckets):
            merged = _merge(bucket, buckets[bucket])
            rows.append(self.kline_row(merged, seconds))
        return rows

    def kline_row(self, candle: Candle, seconds: int) -> Json:
        tick = self.spec.tick
        return {
            "start": naive_datetime(candle.start_s * 1_000_000, " "),
            "end": naive_datetime((candle.start_s + seconds) * 1_000_000, " "),
            "open": str(candle.open.quantize(tick)),
            "high": str(candle.high.quantize(tick)),
            "low": str(candle.low.quantize(tick)),
            "close": str(candle.close.quantize(tick)),
            "volume": str(candle.volume.quantize(self.spec.step)),
            "quoteVolume": wire(candle.quote_volume),
            "trades": str(candle.trades),
        }

    def kline_event(self, candle: Candle, closed: bool) -> Json:
        """The ``kline.1m.<symbol>`` payload without ``E`` (ws_kline.json)."""
        tick = self.spec.tick
        return {
            "e": "kline",
            "s": self.spec.symbol,
            "t": naive_datetime(candle.start_s * 1_000_000),
            "T": naive_datetime((candle.start_s + 60) * 1_000_000),
            "o": str(candle.open.quantize(tick)),
            "c": str(candle.close.quantize(tick)),
            "h": str(candle.high.quantize(tick)),
            "l": str(candle.low.quantize(tick)),
            "v": str(candle.volume.quantize(self.spec.step)),
            "n": candle.trades,
            "X": closed,
        }
