"""Typed views of Backpack payloads.

Every ``from_*`` constructor is lenient in what it reads (numbers as strings or JSON
numbers, optional fields missing, unknown enum values kept as text) because Backpack's
payloads drift (docs/PROTOCOL.md "Values on the wire", "Timestamps and units"). Money is
``Decimal``; ``raw`` keeps the
exchange's own dict for anything a caller needs that is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.numbers import (
    Number,
    NumberError,
    RoundingMode,
    decimals_of,
    is_multiple,
    parse_decimal,
    parse_int,
    round_to_step,
    to_decimal,
)

ZERO = Decimal(0)
Json = dict[str, Any]


def _d(value: object) -> Decimal:
    result = parse_decimal(value, ZERO)
    assert result is not None
    return result


def _od(value: object) -> Decimal | None:
    return parse_decimal(value)


def _s(value: object) -> str | None:
    return None if value is None else str(value)


def parse_time_ms(value: object) -> int | None:
    """Milliseconds from an int (ms or µs) or a naive UTC datetime string.

    Backpack mixes all three (docs/PROTOCOL.md "Timestamps and units"); no real ms time
    exceeds 10**14 (the year 5138), so anything larger is µs.
    """
    if value is None:
        return None
    number = parse_int(value)
    if number is not None:
        return number // 1000 if number > 10**14 else number
    if isinstance(value, str):
        text = value.strip().replace(" ", "T").rstrip("Z")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp() * 1000)
    return None


@dataclass(frozen=True, slots=True)
class Market:
    """A market and its filters; the order path rounds and validates through it."""

    symbol: str
    base_symbol: str
    quote_symbol: str
    market_type: str
    tick_size: Decimal
    step_size: Decimal
    min_quantity: Decimal
    max_quantity: Decimal | None
    min_price: Decimal
    max_price: Decimal | None
    funding_interval_ms: int | None
    order_book_state: str
    imf_function: Json | None = None
    mmf_function: Json | None = None
    raw: Json = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, d: Json) -> Market:
        filters = d.get("filters") or {}
        price = filters.get("price") or {}
        quantity = filters.get("quantity") or {}
        return cls(
            symbol=str(d["symbol"]),
            base_symbol=str(d.get("baseSymbol", "")),
            quote_symbol=str(d.get("quoteSymbol", "")),
            market_type=str(d.get("marketType", "SPOT")),
            tick_size=_d(price.get("tickSize")) or Decimal("0.01"),
            step_size=_d(quantity.get("stepSize")) or Decimal("0.01"),
            min_quantity=_d(quantity.get("minQuantity")),
            max_quantity=_od(quantity.get("maxQuantity")),
            min_price=_d(price.get("minPrice")),
            max_price=_od(price.get("maxPrice")),
            funding_interval_ms=parse_int(d.get("fundingInterval")),
            order_book_state=str(d.get("orderBookState", "Open")),
            imf_function=d.get("imfFunction"),
            mmf_function=d.get("mmfFunction"),
            raw=d,
        )

    @property
    def is_perp(self) -> bool:
        return self.market_type in ("PERP", "IPERP", "DATED")

    @property
    def price_decimals(self) -> int:
        return decimals_of(self.tick_size)

    @property
    def quantity_decimals(self) -> int:
        return decimals_of(self.step_size)

    def round_price(self, value: Number, mode: RoundingMode = "nearest") -> Decimal:
        """A price on the tick grid; raises :class:`InvalidOrder` on junk input."""
        try:
            return round_to_step(to_decimal(value, "price"), self.tick_size, mode)
        except NumberError as exc:
            raise InvalidOrder(str(exc)) from None

    def round_quantity(self, value: Number, mode: RoundingMode = "down") -> Decimal:
        """A quantity on the step grid, rounded down by default so we never over-trade."""
        try:
            return round_to_step(to_decimal(value, "quantity"), self.step_size, mode)
        except NumberError as exc:
            raise InvalidOrder(str(exc)) from None

    def check_price(self, price: Decimal) -> None:
        """Refuse a price the exchange would refuse, with a message that says why."""
        if price <= 0:
            raise InvalidOrder(f"{self.symbol}: price must be positive, got {price}")
        if not is_multiple(price, self.tick_size):
            raise InvalidOrder(f"{self.symbol}: price {price} is not on the tick {self.tick_size}")
        if price < self.min_price:
            raise InvalidOrder(
                f"{self.symbol}: price {price} is below the minimum {self.min_price}"
            )
        if self.max_price is not None and price > self.max_price:
            raise InvalidOrder(
                f"{self.symbol}: price {price} is above the maximum {self.max_price}"
            )

    def check_quantity(self, quantity: Decimal) -> None:
        if quantity <= 0:
            raise InvalidOrder(f"{self.symbol}: quantity must be positive, got {quantity}")
        if not is_multiple(quantity, self.step_size):
            raise InvalidOrder(
                f"{self.symbol}: quantity {quantity} is not a multiple of the step {self.step_size}"
            )
        if quantity < self.min_quantity:
            raise InvalidOrder(
                f"{self.symbol}: quantity {quantity} is below the minimum {self.min_quantity}"
            )
        if self.max_quantity is not None and quantity > self.max_quantity:
            raise InvalidOrder(
                f"{self.symbol}: quantity {quantity} is above the maximum {self.max_quantity}"
            )

    def format_price(self, price: Decimal | float) -> str:
        return f"{price:.{self.price_decimals}f}"

    def format_quantity(self, quantity: Decimal | float) -> str:
        return f"{quantity:.{self.quantity_decimals}f}"


@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    last_price: Decimal
    first_price: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal
    quote_volume: Decimal
    change_percent: Decimal | None  # a fraction: -0.031 is -3.1 %
    trades: int

    @classmethod
    def from_api(cls, d: Json) -> Ticker:
        keys = ("lastPrice", "firstPrice", "high", "low", "volume", "quoteVolume", "trades")
        return cls._read(d, str(d["symbol"]), keys, "priceChangePercent")

    @classmethod
    def from_stream(cls, d: Json) -> Ticker:
        """``ticker.<symbol>`` carries no change; it is derived from the first and last price."""
        return cls._read(d, str(d.get("s", "")), ("c", "o", "h", "l", "v", "V", "n"), None)

    @classmethod
    def _read(cls, d: Json, symbol: str, keys: tuple[str, ...], change_key: str | None) -> Ticker:
        """One reader for both sources, which differ only in their key names."""
        last_key, first_key, high, low, volume, quote_volume, trades = keys
        last, first = _d(d.get(last_key)), _d(d.get(first_key))
        if change_key is not None:
            change = _od(d.get(change_key))
        else:
            change = (last - first) / first if first else None
        return cls(
            symbol=symbol,
            last_price=last,
            first_price=first,
            high=_d(d.get(high)),
            low=_d(d.get(low)),
            volume=_d(d.get(volume)),
            quote_volume=_d(d.get(quote_volume)),
            change_percent=change,
            trades=parse_int(d.get(trades), 0) or 0,
        )


@dataclass(frozen=True, slots=True)
class MarkPrice:
    symbol: str
    mark_price: Decimal
    index_price: Decimal | None
    funding_rate: Decimal | None  # fraction per funding interval
    next_funding_ms: int | None

    @classmethod
    def from_api(cls, d: Json) -> MarkPrice:
        keys = ("markPrice", "indexPrice", "fundingRate", "nextFundingTimestamp")
        return cls._read(d, str(d["symbol"]), keys)

    @classmethod
    def from_stream(cls, d: Json) -> MarkPrice:
        return cls._read(d, str(d.get("s", "")), ("p", "i", "f", "n"))

    @classmethod
    def _read(cls, d: Json, symbol: str, keys: tuple[str, ...]) -> MarkPrice:
        mark, index, rate, next_funding = keys
        return cls(
            symbol=symbol,
            mark_price=_d(d.get(mark)),
            index_price=_od(d.get(index)),
            funding_rate=_od(d.get(rate)),
            next_funding_ms=parse_time_ms(d.get(next_funding)),
        )


@dataclass(frozen=True, slots=True)
class FundingRate:
    symbol: str
    funding_rate: Decimal
    interval_end_ms: int | None

    @classmethod
    def from_api(cls, d: Json) -> FundingRate:
        return cls(
            symbol=str(d.get("symbol", "")),
            funding_rate=_d(d.get("fundingRate")),
            interval_end_ms=parse_time_ms(d.get("intervalEndTimestamp")),
        )


@dataclass(frozen=True, slots=True)
class OpenInterest:
    symbol: str
    open_interest: Decimal
    timestamp_ms: int | None

    @classmethod
    def from_api(cls, d: Json) -> OpenInterest:
        return cls(
            symbol=str(d.get("symbol", d.get("s", ""))),
            open_interest=_d(d.get("openInterest", d.get("o"))),
            timestamp_ms=parse_time_ms(d.get("timestamp", d.get("E"))),
        )


@dataclass(frozen=True, slots=True)
class Trade:
    symbol: str
    id: int | None
    price: Decimal
    quantity: Decimal
    timestamp_ms: int | None
    is_buyer_maker: bool

    @classmethod
    def from_api(cls, d: Json, symbol: str = "") -> Trade:
        return cls._read(d, symbol, ("id", "price", "quantity", "timestamp", "isBuyerMaker"))

    @classmethod
    def from_stream(cls, d: Json) -> Trade:
        return cls._read(d, str(d.get("s", "")), ("t", "p", "q", "T", "m"))

    @classmethod
    def _read(cls, d: Json, symbol: str, keys: tuple[str, ...]) -> Trade:
        trade_id, price, quantity, timestamp, buyer_maker = keys
        return cls(
            symbol=symbol,
            id=parse_int(d.get(trade_id)),
            price=_d(d.get(price)),
            quantity=_d(d.get(quantity)),
            timestamp_ms=parse_time_ms(d.get(timestamp)),
            is_buyer_maker=bool(d.get(buyer_maker)),
        )


@dataclass(frozen=True, slots=True)
class Liquidation:
    """One entry of the exchange-wide ``liquidation`` stream."""

    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    timestamp_ms: int | None

    @classmethod
    def from_stream(cls, d: Json) -> Liquidation:
        return cls(
            symbol=str(d.get("s", "")),
            side=str(d.get("S", "")),
            quantity=_d(d.get("q")),
            price=_d(d.get("p")),
            timestamp_ms=parse_time_ms(d.get("T") or d.get("E")),
        )


@dataclass(frozen=True, slots=True)
class Kline:
    start_ms: int | None
    end_ms: int | None
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    close: Decimal | None
    volume: Decimal
    trades: int

    @classmethod
    def from_api(cls, d: Json) -> Kline:
        return cls._read(d, ("start", "end", "open", "high", "low", "close", "volume", "trades"))

    @classmethod
    def from_stream(cls, d: Json) -> Kline:
        return cls._read(d, ("t", "T", "o", "h", "l", "c", "v", "n"))

    @classmethod
    def _read(cls, d: Json, keys: tuple[str, ...]) -> Kline:
        start, end, open_, high, low, close, volume, trades = keys
        return cls(
            start_ms=parse_time_ms(d.get(start)),
            end_ms=parse_time_ms(d.get(end)),
            open=_od(d.get(open_)),
            high=_od(d.get(high)),
            low=_od(d.get(low)),
            close=_od(d.get(close)),
            volume=_d(d.get(volume)),
            trades=parse_int(d.get(trades), 0) or 0,
        )


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """REST ``/depth``: bids and asks best-first (REST sends both ascending)."""

    symbol: str
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]
    last_update_id: int
    timestamp_us: int | None

    @classmethod
    def from_api(cls, d: Json, symbol: str = "") -> DepthSnapshot:
        def levels(rows: object) -> list[tuple[Decimal, Decimal]]:
            out = []
            for row in rows if isinstance(rows, list) else []:
                price, qty = _od(row[0]), _od(row[1])
                if price is not None and qty is not None:
                    out.append((price, qty))
            return out

        return cls(
            symbol=symbol,
            bids=sorted(levels(d.get("bids")), key=lambda level: level[0], reverse=True),
            asks=sorted(levels(d.get("asks")), key=lambda level: level[0]),
            last_update_id=parse_int(d.get("lastUpdateId"), 0) or 0,
            timestamp_us=parse_int(d.get("timestamp")),
        )


# WS order updates use single-letter keys (docs/PROTOCOL.md "Private streams"); REST uses
# camelCase.
_UPDATE_KEYS = {
    "id": "i",
    "clientId": "c",
    "symbol": "s",
    "side": "S",
    "orderType": "o",
    "status": "X",
    "price": "p",
    "quantity": "q",
    "quoteQuantity": "Q",
    "executedQuantity": "z",
    "executedQuoteQuantity": "Z",
    "timeInForce": "f",
    "postOnly": "y",
    "reduceOnly": "r",
    "triggerPrice": "P",
    "triggerBy": "B",
    "triggerQuantity": "Y",
    "selfTradePrevention": "V",
}

_ORDER_TYPES = {"LIMIT": "Limit", "MARKET": "Market"}
OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "TriggerPending"})


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    client_id: int | None
    symbol: str
    side: str  # "Bid" | "Ask"
    order_type: str  # "Limit" | "Market" (WS upper case is normalised)
    status: str
    price: Decimal | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    executed_quantity: Decimal
    executed_quote_quantity: Decimal
    time_in_force: str | None
    post_only: bool
    reduce_only: bool
    trigger_price: Decimal | None
    trigger_by: str | None
    trigger_quantity: str | None
    created_at_ms: int | None
    raw: Json = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, d: Json) -> Order:
        return cls._build(d, d, parse_time_ms(d.get("createdAt")))

    @classmethod
    def from_update(cls, d: Json) -> Order:
        """From an ``account.orderUpdate`` event (single-letter keys)."""
        mapped = {name: d.get(key) for name, key in _UPDATE_KEYS.items()}
        return cls._build(mapped, d, parse_time_ms(d.get("T")))

    @classmethod
    def _build(cls, d: Json, raw: Json, created: int | None) -> Order:
        order_type = str(d.get("orderType") or "")
        trigger_qty = d.get("triggerQuantity")
        return cls(
            id=str(d.get("id") or ""),
            client_id=parse_int(d.get("clientId")),
            symbol=str(d.get("symbol") or ""),
            side=str(d.get("side") or ""),
            order_type=_ORDER_TYPES.get(order_type, order_type),
            status=str(d.get("status") or ""),
            price=_od(d.get("price")),
            quantity=_od(d.get("quantity")),
            quote_quantity=_od(d.get("quoteQuantity")),
            executed_quantity=_d(d.get("executedQuantity")),
            executed_quote_quantity=_d(d.get("executedQuoteQuantity")),
            time_in_force=_s(d.get("timeInForce")),
            post_only=bool(d.get("postOnly")),
            reduce_only=bool(d.get("reduceOnly")),
            trigger_price=_od(d.get("triggerPrice")),
            trigger_by=_s(d.get("triggerBy")),
            trigger_quantity=_s(trigger_qty),
            created_at_ms=created,
            raw=raw,
        )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_trigger(self) -> bool:
        return self.trigger_price is not None

    @property
    def remaining(self) -> Decimal:
        return max(ZERO, (self.quantity or ZERO) - self.executed_quantity)

    @property
    def unfilled(self) -> Decimal | None:
        """What the order has left to trade. A trigger order that has not fired has no
        ``quantity`` yet (REST sends null, the stream ``"0"``: fixture
        ws_account_orderUpdate_triggerPlaced): its size is ``triggerQuantity``, and None
        when that is a share of the position (``"50%"``) or missing: a size nobody can
        confirm (docs/PROTOCOL.md "Trigger orders")."""
        pending = self.status == "TriggerPending" or not self.quantity
        if self.trigger_price is not None and pending:
            text = self.trigger_quantity
            if text is None or text.endswith("%"):
                return None
            return max(ZERO, Decimal(text) - self.executed_quantity)
        return self.remaining


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    net_quantity: Decimal  # > 0 long, < 0 short
    entry_price: Decimal
    break_even_price: Decimal
    mark_price: Decimal
    est_liquidation_price: Decimal | None
    pnl_realized: Decimal
    pnl_unrealized: Decimal
    cumulative_funding: Decimal
    net_cost: Decimal
    imf: Decimal | None
    mmf: Decimal | None
    position_id: str | None
    raw: Json = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, d: Json) -> Position:
        return cls(
            symbol=str(d.get("symbol", "")),
            net_quantity=_d(d.get("netQuantity")),
            entry_price=_d(d.get("entryPrice")),
            break_even_price=_d(d.get("breakEvenPrice")),
            mark_price=_d(d.get("markPrice")),
            est_liquidation_price=_od(d.get("estLiquidationPrice")),
            pnl_realized=_d(d.get("pnlRealized")),
            pnl_unrealized=_d(d.get("pnlUnrealized")),
            cumulative_funding=_d(d.get("cumulativeFundingPayment")),
            net_cost=_d(d.get("netCost")),
            imf=_od(d.get("imf")),
            mmf=_od(d.get("mmf")),
            position_id=_s(d.get("positionId")),
            raw=d,
        )

    @classmethod
    def from_update(cls, d: Json, previous: Position | None = None) -> Position:
        """From an ``account.positionUpdate`` event; fields it lacks keep their last value."""
        quantity = _d(d.get("q"))
        entry = _d(d.get("B"))
        return cls(
            symbol=str(d.get("s", "")),
            net_quantity=quantity,
            entry_price=entry,
            break_even_price=_d(d.get("b")),
            mark_price=_d(d.get("M")),
            est_liquidation_price=(
                previous.est_liquidation_price
                if previous and _od(d.get("l")) in (None, ZERO)
                else _od(d.get("l"))
            ),
            pnl_realized=_d(d.get("p")),
            pnl_unrealized=_d(d.get("P")),
            cumulative_funding=previous.cumulative_funding if previous else ZERO,
            net_cost=quantity * entry,
            imf=_od(d.get("f")),
            mmf=_od(d.get("m")),
            position_id=_s(d.get("i")),
            raw=d,
        )

    @property
    def side(self) -> str:
        return "LONG" if self.net_quantity > 0 else "SHORT" if self.net_quantity < 0 else "FLAT"

    @property
    def notional(self) -> Decimal:
        return abs(self.net_quantity) * self.mark_price


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    available: Decimal
    locked: Decimal
    staked: Decimal

    @classmethod
    def from_api(cls, asset: str, d: Json) -> Balance:
        return cls(
            asset=asset,
            available=_d(d.get("available")),
            locked=_d(d.get("locked")),
            staked=_d(d.get("staked")),
        )


@dataclass(frozen=True, slots=True)
class Collateral:
    """Account health from ``/capital/collateral`` (cross margin)."""

    net_equity: Decimal
    net_equity_available: Decimal
    net_equity_locked: Decimal
    assets_value: Decimal
    pnl_unrealized: Decimal
    imf: Decimal
    mmf: Decimal
    margin_fraction: Decimal | None
    net_exposure_futures: Decimal = ZERO
    """Open perp exposure at mark: what ``imf``/``mmf`` and leverage are fractions of."""
    raw: Json = field(default_factory=dict, compare=False, repr=False)

    @property
    def initial_margin(self) -> Decimal:
        """Equity that the open positions' initial margin takes (``imf`` of exposure)."""
        return self.imf * self.net_exposure_futures

    @property
    def leverage(self) -> Decimal:
        """Exposure over equity: the account's leverage in use (0 when flat)."""
        if self.net_equity <= 0:
            return ZERO
        return self.net_exposure_futures / self.net_equity

    @classmethod
    def from_api(cls, d: Json) -> Collateral:
        return cls(
            net_equity=_d(d.get("netEquity")),
            net_equity_available=_d(d.get("netEquityAvailable")),
            net_equity_locked=_d(d.get("netEquityLocked")),
            assets_value=_d(d.get("assetsValue")),
            pnl_unrealized=_d(d.get("pnlUnrealized")),
            imf=_d(d.get("imf")),
            mmf=_d(d.get("mmf")),
            margin_fraction=_od(d.get("marginFraction")),
            net_exposure_futures=_d(d.get("netExposureFutures")),
            raw=d,
        )


@dataclass(frozen=True, slots=True)
class Fill:
    trade_id: int | None
    order_id: str
    client_id: str | None
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_symbol: str
    is_maker: bool
    timestamp_ms: int | None

    @classmethod
    def from_api(cls, d: Json) -> Fill:
        return cls(
            trade_id=parse_int(d.get("tradeId")),
            order_id=str(d.get("orderId", "")),
            client_id=_s(d.get("clientId")),
            symbol=str(d.get("symbol", "")),
            side=str(d.get("side", "")),
            price=_d(d.get("price")),
            quantity=_d(d.get("quantity")),
            fee=_d(d.get("fee")),
            fee_symbol=str(d.get("feeSymbol", "")),
            is_maker=bool(d.get("isMaker")),
            timestamp_ms=parse_time_ms(d.get("timestamp")),
        )


@dataclass(frozen=True, slots=True)
class FundingPayment:
    symbol: str
    quantity: Decimal  # signed cash flow: negative when paid
    funding_rate: Decimal
    interval_end_ms: int | None

    @classmethod
    def from_api(cls, d: Json) -> FundingPayment:
        return cls(
            symbol=str(d.get("symbol", "")),
            quantity=_d(d.get("quantity")),
            funding_rate=_d(d.get("fundingRate")),
            interval_end_ms=parse_time_ms(d.get("intervalEndTimestamp")),
        )
