"""View values: what the watchlist, positions, orders, account and ladder panels draw.

The panels never see the client. Each frame the app builds these small frozen values
from the client's caches with the functions below and hands them over; a panel turns
them into cells and styles. So the arithmetic a trader relies on (live uPnL, distance to
liquidation, which orders sort first) lives in plain functions that a test can call on
a real client without a screen, and an unchanged value tells a panel it has nothing to
re-format (:class:`~bpx_tui.ui.widgets.table.CellMemo`).

Times are whole seconds: that is all the panels show, and it keeps a value equal to
the last frame's until the text would actually change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from bpx_tui.exchange.book import Side
from bpx_tui.exchange.models import Market, Order, Position
from bpx_tui.exchange.numbers import parse_decimal
from bpx_tui.trading.exits import Exits, position_exits
from bpx_tui.ui import fmt
from bpx_tui.ui.candles import PriceLine
from bpx_tui.ui.freshness import LIVE, Freshness
from bpx_tui.ui.ladder_model import Marker
from bpx_tui.ui.pairs import PairRow, pair_rows

if TYPE_CHECKING:
    from bpx_tui.exchange.client import BackpackClient

# Used before a market's filters arrive (or for a market the exchange stopped listing).
PRICE_DECIMALS = 2
QUANTITY_DECIMALS = 4

AccountState = Literal["no-account", "loading", "ready"]


@dataclass(frozen=True, slots=True)
class WatchRow:
    """One market in the watchlist."""

    symbol: str
    active: bool
    price_decimals: int
    last: Decimal | None
    change: Decimal | None  # 24h, a fraction
    mark: Decimal | None
    index: Decimal | None
    funding_rate: Decimal | None  # per funding interval, a fraction
    funding_apr: Decimal | None
    next_funding_s: int | None  # seconds to the next funding (0 once it is due)
    open_interest: Decimal | None
    fresh: Freshness

    @property
    def key(self) -> str:
        return self.symbol


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One open position, marked to the live mark where there is one."""

    symbol: str
    side: str  # LONG / SHORT
    long: bool
    size: Decimal  # absolute
    notional: Decimal
    entry: Decimal
    mark: Decimal
    upnl: Decimal
    upnl_pct: Decimal | None  # of the entry cost, a fraction
    liquidation: Decimal | None
    liquidation_distance: Decimal | None  # of the mark, a fraction
    funding: Decimal  # cumulative
    price_decimals: int
    quantity_decimals: int
    fresh: Freshness  # of the mark: the marked columns are only as live as it
    realized: Decimal = Decimal(0)  # the position's realised PnL (partial closes)
    take_profit: Decimal | None = None  # the nearest take-profit's trigger price
    take_profits: int = 0  # how many there are
    stop_loss: Decimal | None = None  # the nearest stop-loss's trigger price
    stop_losses: int = 0

    @property
    def key(self) -> str:
        return self.symbol


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One working order; a trigger order's price is its trigger price."""

    id: str
    symbol: str
    side: str  # Bid / Ask
    order_type: str
    trigger: bool
    post_only: bool
    reduce_only: bool
    price: Decimal | None
    quantity: Decimal | None
    trigger_quantity: str | None  # a trigger order's size until it fires
    filled: Decimal
    status: str
    age_s: int | None
    price_decimals: int
    quantity_decimals: int

    @property
    def key(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class HoldingRow:
    """One asset of the account: spot holdings and the USDC behind the perps."""

    asset: str
    available: Decimal
    locked: Decimal  # held by open orders
    value: Decimal | None  # in USDC at the freshest price known; None when unpriced

    @property
    def key(self) -> str:
        return self.asset


@dataclass(frozen=True, slots=True)
class AccountView:
    """The account strip; the numbers are None until ``state`` is ``ready``."""

    state: AccountState
    fresh: Freshness = LIVE  # of the feed: equity and uPnL are marked to its prices
    equity: Decimal | None = None
    available: Decimal | None = None
    initial_margin: Decimal | None = None  # taken by the open positions
    upnl: Decimal | None = None
    margin_fraction: Decimal | None = None  # equity / exposure; None when flat
    maintenance: Decimal | None = None  # the margin fraction at which it liquidates
    leverage: Decimal | None = None  # exposure / equity
    leverage_limit: Decimal | None = None  # the account's setting
    session_realized: Decimal | None = None

    @property
    def maintenance_multiple(self) -> Decimal | None:
        """How many times the maintenance fraction the account's margin fraction is:
        1 is liquidation."""
        if not self.margin_fraction or not self.maintenance:
            return None
        return self.margin_fraction / self.maintenance


def last_price(client: BackpackClient, symbol: str) -> Decimal | None:
    """The freshest traded price: the last trade, else the 24h ticker's last."""
    trade = client.last_trades.get(symbol)
    if trade is not None:
        return trade.price
    ticker = client.tickers.get(symbol)
    return ticker.last_price if ticker is not None else None


def _decimals(market: Market | None) -> tuple[int, int]:
    if market is None:
        return PRICE_DECIMALS, QUANTITY_DECIMALS
    return market.price_decimals, market.quantity_decimals


def watch_rows(
    client: BackpackClient,
    symbols: Iterable[str],
    active: str,
    open_interest: Mapping[str, Decimal],
    now_ms: int,
    freshness: Mapping[str, Freshness],
) -> list[WatchRow]:
    """The watchlist in the order of ``symbols``."""
    rows: list[WatchRow] = []
    markets, tickers, marks = client.markets, client.tickers, client.marks
    for symbol in symbols:
        market = markets.get(symbol)
        ticker = tickers.get(symbol)
        mark = marks.get(symbol)
        rate = mark.funding_rate if mark else None
        next_ms = mark.next_funding_ms if mark else None
        rows.append(
            WatchRow(
                symbol=symbol,
                active=symbol == active,
                price_decimals=market.price_decimals if market else PRICE_DECIMALS,
                last=last_price(client, symbol),
                change=ticker.change_percent if ticker else None,
                mark=mark.mark_price if mark else None,
                index=mark.index_price if mark else None,
                funding_rate=rate,
                funding_apr=fmt.annualised(rate, market.funding_interval_ms if market else None),
                next_funding_s=max(0, (next_ms - now_ms) // 1000) if next_ms else None,
                open_interest=open_interest.get(symbol),
                fresh=freshness.get(symbol, LIVE),
            )
        )
    return rows


def position_row(
    position: Position,
    mark: Decimal | None,
    price_decimals: int,
    quantity_decimals: int,
    fresh: Freshness = LIVE,
    exits: Exits | None = None,
) -> PositionRow:
    """One position against ``mark``, the live mark (else the position's own, which
    only moves with the sparser position updates), with its ``exits``."""
    price = mark if mark is not None and mark > 0 else position.mark_price
    quantity = position.net_quantity
    entry = position.entry_price
    upnl = (price - entry) * quantity if price and entry else position.pnl_unrealized
    size = abs(quantity)
    cost = size * entry
    liquidation = position.est_liquidation_price or None
    return PositionRow(
        symbol=position.symbol,
        side=position.side,
        long=quantity > 0,
        size=size,
        notional=size * price,
        entry=entry,
        mark=price,
        upnl=upnl,
        upnl_pct=upnl / cost if cost else None,
        liquidation=liquidation,
        liquidation_distance=abs(price - liquidation) / price if liquidation and price else None,
        funding=position.cumulative_funding,
        price_decimals=price_decimals,
        quantity_decimals=quantity_decimals,
        fresh=fresh,
        realized=position.pnl_realized,
        take_profit=exits.tp[0].trigger_price if exits and exits.tp else None,
        take_profits=len(exits.tp) if exits else 0,
        stop_loss=exits.sl[0].trigger_price if exits and exits.sl else None,
        stop_losses=len(exits.sl) if exits else 0,
    )


def position_rows(client: BackpackClient, freshness: Mapping[str, Freshness]) -> list[PositionRow]:
    """Open positions by market; a flat one (size 0, still cached) is not a row."""
    rows: list[PositionRow] = []
    positions, markets, marks = client.positions, client.markets, client.marks
    for symbol in sorted(positions):
        position = positions[symbol]
        if position.net_quantity == 0:
            continue
        mark = marks.get(symbol)
        rows.append(
            position_row(
                position,
                mark.mark_price if mark else None,
                *_decimals(markets.get(symbol)),
                freshness.get(symbol, LIVE),
                exits_of(client, position),
            )
        )
    return rows


def sorted_orders(orders: Mapping[str, Order]) -> list[Order]:
    """Plain orders first, then trigger orders; each by market, then newest first."""
    return sorted(
        orders.values(),
        key=lambda o: (o.is_trigger, o.symbol, -(o.created_at_ms or 0), o.id),
    )


def order_row(order: Order, price_decimals: int, quantity_decimals: int, now_ms: int) -> OrderRow:
    created = order.created_at_ms
    trigger = order.is_trigger
    return OrderRow(
        id=order.id,
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        trigger=trigger,
        post_only=order.post_only,
        reduce_only=order.reduce_only,
        price=order.trigger_price if trigger else order.price,
        quantity=order.quantity,
        trigger_quantity=order.trigger_quantity,
        filled=order.executed_quantity,
        status=order.status,
        age_s=max(0, (now_ms - created) // 1000) if created else None,
        price_decimals=price_decimals,
        quantity_decimals=quantity_decimals,
    )


def order_rows(client: BackpackClient, now_ms: int) -> list[OrderRow]:
    markets = client.markets
    return [
        order_row(order, *_decimals(markets.get(order.symbol)), now_ms)
        for order in sorted_orders(client.open_orders)
    ]


def account_view(
    client: BackpackClient, fresh: Freshness = LIVE, session_realized: Decimal | None = None
) -> AccountView:
    if not client.has_credentials:
        return AccountView("no-account", fresh)
    collateral = client.collateral
    if collateral is None:
        return AccountView("loading", fresh)
    return AccountView(
        "ready",
        fresh,
        equity=collateral.net_equity,
        available=collateral.net_equity_available,
        initial_margin=collateral.initial_margin,
        upnl=collateral.pnl_unrealized,
        margin_fraction=collateral.margin_fraction,
        maintenance=collateral.mmf or None,
        leverage=collateral.leverage,
        leverage_limit=parse_decimal(client.account_info.get("leverageLimit")),
        session_realized=session_realized,
    )


def spot_price(client: BackpackClient, asset: str) -> Decimal | None:
    """An asset's spot USDC price: the spot book's mid, else its last trade."""
    if asset == "USDC":
        return Decimal(1)
    spot = f"{asset}_USDC"
    book = client.books.get(spot)
    mid = book.mid_price() if book is not None and book.synced else None
    if mid is not None:
        return mid
    ticker = client.tickers.get(spot)
    return ticker.last_price if ticker is not None and ticker.last_price else None


def asset_price(client: BackpackClient, asset: str) -> Decimal | None:
    """An asset's USDC price: the spot price, else the perp's mark (the hedge a funding
    trader holds it against)."""
    price = spot_price(client, asset)
    if price is not None:
        return price
    mark = client.marks.get(f"{asset}_USDC_PERP")
    return mark.mark_price if mark is not None else None


def account_pairs(client: BackpackClient) -> list[PairRow]:
    """The account's spot-against-perp pairs, the spot leg priced on its own market."""
    return pair_rows(
        client.positions,
        client.balances,
        client.markets,
        client.marks,
        lambda asset: spot_price(client, asset),
    )


def holding_rows(client: BackpackClient) -> list[HoldingRow]:
    """Every asset with a balance, USDC first, then by value."""
    rows = []
    for asset, balance in client.balances.items():
        total = balance.available + balance.locked
        if total == 0:
            continue
        price = asset_price(client, asset)
        rows.append(
            HoldingRow(
                asset, balance.available, balance.locked, None if price is None else total * price
            )
        )
    return sorted(rows, key=lambda r: (r.asset != "USDC", -(r.value or 0), r.asset))


def _live_position(client: BackpackClient, symbol: str) -> Position | None:
    position = client.positions.get(symbol)
    return position if position is not None and position.net_quantity != 0 else None


def exits_of(client: BackpackClient, position: Position) -> Exits:
    """``position``'s take-profits and stop-losses among the open orders, judged against
    the live mark (see :mod:`bpx_tui.trading.exits` for why the mark)."""
    mark = client.marks.get(position.symbol)
    return position_exits(
        client.open_orders.values(), position, mark.mark_price if mark else position.mark_price
    )


def ladder_markers(client: BackpackClient, symbol: str) -> tuple[Marker, ...]:
    """Our resting orders, the position's entry and its liquidation price, on the ladder.

    Trigger orders (a take-profit, a stop-loss, a stop entry) rest nowhere in the book
    until they fire: they are a glyph by their trigger price, not an own-order size —
    ``TP`` / ``SL`` for the position's exits, ``◇`` for any other trigger.
    """
    markers: list[Marker] = []
    position = _live_position(client, symbol)
    exits = exits_of(client, position) if position is not None else Exits()
    kinds = {o.id: "TP" for o in exits.tp} | {o.id: "SL" for o in exits.sl}
    for order in client.open_orders.values():
        if order.symbol == symbol and order.trigger_price is not None:
            glyph = kinds.get(order.id, "")
            label = f"{glyph or '◇'}trigger"
            markers.append(Marker(order.trigger_price, label, order_id=order.id, glyph=glyph))
        elif order.symbol == symbol and order.price is not None:
            label = f"{'B' if order.side == 'Bid' else 'S'}{fmt.plain(order.remaining)}"
            side: Side = "Bid" if order.side == "Bid" else "Ask"
            markers.append(Marker(order.price, label, side, order.remaining, order.id))
    if position is not None:
        markers.append(Marker(position.entry_price, "◆entry"))
        if position.est_liquidation_price:
            markers.append(Marker(position.est_liquidation_price, "✖liq"))
    return tuple(markers)


def chart_lines(client: BackpackClient, symbol: str) -> tuple[PriceLine, ...]:
    """The chart's horizontal lines: the open position's entry and, once REST has
    brought it (the stream sends ``"0"``), its estimated liquidation price."""
    position = _live_position(client, symbol)
    if position is None:
        return ()
    lines = [PriceLine(position.entry_price, "entry", "entry")]
    if position.est_liquidation_price:
        lines.append(PriceLine(position.est_liquidation_price, "liq", "liq"))
    return tuple(lines)
