"""``BackpackAPI``: the original guide's facade, method for method, on top of BackpackClient.

Scripts written against the guide keep working unchanged: the same constructor, the
same method names and arguments, and the same result conventions — plain dicts and
floats, and an error *reported by the exchange* comes back as a dict with a non-zero
``code`` and a ``msg`` instead of raising. Transport failures (no answer at all) still
raise, because a caller cannot treat "unknown" as "rejected".

What changed underneath: orders take the console's one path (``build_order`` puts
them on the market's tick/step, so a float such as ``0.1 + 0.2`` never reaches the
wire; :class:`OrderDispatch` sends them), placement is never blindly retried, a lost
answer is looked up by clientId until the exchange shows the order or proves it absent
(``UnknownOrderOutcome`` is raised only when it could not be read at all), and the
price stream reconnects and resubscribes by itself.

It sits above the trading layer, not in :mod:`bpx_tui.exchange`, because it places
orders through the trading layer's order path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import ApiError, InvalidOrder, NotFoundError, OrderNotPlaced
from bpx_tui.exchange.events import TickerUpdated
from bpx_tui.exchange.models import Order, Position, Ticker
from bpx_tui.exchange.numbers import Number, NumberError, to_decimal
from bpx_tui.exchange.transport import DEFAULT_TRANSPORT, TransportName
from bpx_tui.exchange.vocab import parse_order_type, parse_side
from bpx_tui.trading.dispatch import OrderDispatch
from bpx_tui.trading.order import OrderIntent, build_order

PriceCallback = Callable[[str, float], Awaitable[None]]

_FIRST_PRICE_TIMEOUT_S = 10.0


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code or "ERROR", "msg": message, "message": message, **extra}


def _api_error(exc: ApiError) -> dict[str, Any]:
    return _error(exc.code, exc.message or str(exc), status=exc.status)


def _position_dict(position: Position) -> dict[str, Any]:
    result: dict[str, Any] = dict(position.raw) if "netQuantity" in position.raw else {}
    result.update(
        symbol=position.symbol,
        quantity=float(position.net_quantity),
        side=position.side,
        entryPrice=float(position.entry_price),
        markPrice=float(position.mark_price),
        unrealizedProfit=float(position.pnl_unrealized),
        realizedProfit=float(position.pnl_realized),
    )
    if position.est_liquidation_price is not None:
        result["liquidationPrice"] = float(position.est_liquidation_price)
    return result


def _order_dict(order: Order) -> dict[str, Any]:
    result = dict(order.raw)
    result.setdefault("id", order.id)
    result["orderId"] = order.id
    result.setdefault("symbol", order.symbol)
    result.setdefault("status", order.status)
    result["type"] = order.order_type
    result["orderType"] = order.order_type
    result.setdefault("side", order.side)
    return result


class BackpackAPI:
    """The guide's facade; every method is a coroutine except ``register_price_callback``."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        base_url: str = "https://api.backpack.exchange",
        ws_url: str = "wss://ws.backpack.exchange",
        logger: logging.Logger | None = None,
        ws_transport: TransportName = DEFAULT_TRANSPORT,
    ) -> None:
        self.logger = logger or logging.getLogger("bpx_tui.api")
        self.client = BackpackClient(
            base_url,
            ws_url,
            api_key or None,
            api_secret or None,
            logger=self.logger,
            ws_transport=ws_transport,
        )
        self.prices: dict[str, float] = {}
        self._price_callbacks: list[PriceCallback] = []
        self._markets_loaded = False
        self._streaming = False
        self._callback_tasks: set[asyncio.Task[None]] = set()
        self.client.subscribe(TickerUpdated, lambda event: self._on_ticker(event.ticker))
        self.dispatch = OrderDispatch(self.client)

    def __repr__(self) -> str:
        return f"BackpackAPI(client={self.client!r})"

    async def __aenter__(self) -> BackpackAPI:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for task in list(self._callback_tasks):
            task.cancel()
        await self.client.close()

    # ------------------------------------------------------------------ prices

    async def _ensure_markets(self) -> None:
        if not self._markets_loaded:
            self.client.markets = {m.symbol: m for m in await self.client.rest.markets()}
            self._markets_loaded = True

    async def start_ws_price_stream(self, symbols: list[str] | None = None) -> None:
        """Stream last prices into ``prices``; returns once the first price has arrived.

        Without ``symbols`` every perpetual market is streamed. The connection
        reconnects and resubscribes by itself for as long as the API object lives.
        """
        if self._streaming:
            return
        await self._ensure_markets()
        wanted = symbols or [s for s, m in self.client.markets.items() if m.is_perp]
        first_price = asyncio.Event()
        remove = self.client.subscribe(TickerUpdated, lambda _event: first_price.set())
        try:
            self.client.stream.subscribe([f"ticker.{symbol}" for symbol in wanted])
            await self.client.stream.start()
            self._streaming = True
            for ticker in await self.client.rest.tickers():
                if ticker.symbol in wanted:
                    self._on_ticker(ticker)
            if not self.prices:
                await asyncio.wait_for(first_price.wait(), _FIRST_PRICE_TIMEOUT_S)
        finally:
            remove()

    def register_price_callback(self, callback: PriceCallback) -> None:
        """``await callback(symbol, price)`` runs for every streamed price."""
        self._price_callbacks.append(callback)

    def _on_ticker(self, ticker: Ticker) -> None:
        price = float(ticker.last_price)
        if price <= 0:
            return
        self.prices[ticker.symbol] = price
        for callback in self._price_callbacks:
            task = asyncio.get_running_loop().create_task(
                self._run_callback(callback, ticker.symbol, price)
            )
            self._callback_tasks.add(task)
            task.add_done_callback(self._callback_tasks.discard)

    async def _run_callback(self, callback: PriceCallback, symbol: str, price: float) -> None:
        try:
            await callback(symbol, price)
        except Exception:
            self.logger.exception("price callback failed for %s", symbol)

    async def get_price(self, symbol: str) -> float | None:
        """Last price: the streamed one when streaming, else the REST ticker."""
        if symbol in self.prices:
            return self.prices[symbol]
        try:
            ticker = await self.client.rest.ticker(symbol)
        except ApiError as exc:
            self.logger.warning("no price for %s: %s", symbol, exc)
            return None
        return float(ticker.last_price) if ticker.last_price > 0 else None

    async def get_funding_rate(self, symbol: str) -> float | None:
        """Current funding rate of a perp, as a fraction per funding interval."""
        try:
            marks = await self.client.rest.mark_prices(symbol)
        except ApiError as exc:
            self.logger.warning("no funding rate for %s: %s", symbol, exc)
            return None
        for mark in marks:
            if mark.symbol == symbol and mark.funding_rate is not None:
                return float(mark.funding_rate)
        return None

    async def get_all_funding_rates(self) -> dict[str, float]:
        return {
            mark.symbol: float(mark.funding_rate)
            for mark in await self.client.rest.mark_prices()
            if mark.funding_rate is not None
        }

    # ------------------------------------------------------------------ orders

    async def place_order(
        self,
        symbol: str,
        side: str,
        quantity: Number,
        price: Number | None = None,
        order_type: str = "MARKET",
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> dict[str, Any]:
        """Place one order; the exchange's answer, or ``{"code", "msg"}`` on a rejection."""
        try:
            await self._ensure_markets()
            intent = OrderIntent(
                symbol=symbol,
                side=parse_side(side),
                order_type=parse_order_type(order_type),
                quantity=to_decimal(quantity, "quantity"),
                price=None if price is None else to_decimal(price, "price"),
                post_only=post_only,
                reduce_only=reduce_only,
            )
            new = build_order(intent, self.client.market(symbol))
            order = await self.dispatch.send(new)
        except (InvalidOrder, NumberError) as exc:
            return _error("INVALID_ORDER", str(exc))
        except OrderNotPlaced as exc:
            return _error("NOT_PLACED", str(exc))
        except ApiError as exc:
            return _api_error(exc)
        return _order_dict(order)

    async def place_order_with_depth(
        self,
        symbol: str,
        side: str,
        quantity: Number,
        order_type: str = "LIMIT",
        depth_tolerance: float = 0.001,
    ) -> dict[str, Any]:
        """A limit order priced off the best opposite level, moved by ``depth_tolerance``.

        A buy is priced at best ask x (1 + tolerance), a sell at best bid x (1 - tolerance),
        rounded to the tick, so the order crosses the spread by at most the tolerance: it
        fills like a market order when the book holds, and never chases beyond the band.
        """
        try:
            await self._ensure_markets()
            book_side = parse_side(side)
            parse_order_type(order_type)
            book = await self.client.rest.depth_snapshot(symbol)
            levels = book.asks if book_side == "Bid" else book.bids
            if not levels:
                return _error(
                    "INSUFFICIENT_LIQUIDITY",
                    f"{symbol} has no {'asks' if book_side == 'Bid' else 'bids'}",
                )
            tolerance = to_decimal(depth_tolerance, "depth_tolerance")
            best = levels[0][0]
            raw = best * (1 + tolerance) if book_side == "Bid" else best * (1 - tolerance)
            market = self.client.market(symbol)
            price = market.round_price(raw, "down" if book_side == "Bid" else "up")
        except (InvalidOrder, NumberError) as exc:
            return _error("INVALID_ORDER", str(exc))
        except ApiError as exc:
            return _api_error(exc)
        return await self.place_order(symbol, side, quantity, price, order_type)

    async def get_order_status(self, symbol: str, order_id: str) -> dict[str, Any]:
        """The order wherever it is: resting (``/order``) or finished (order history)."""
        try:
            return _order_dict(await self.client.rest.get_order(symbol, order_id=str(order_id)))
        except NotFoundError:
            pass
        except ApiError as exc:
            return _api_error(exc)
        try:
            history = await self.client.rest.order_history(symbol=symbol, orderId=str(order_id))
        except ApiError as exc:
            return _api_error(exc)
        for order in history:
            if order.id == str(order_id):
                return _order_dict(order)
        return _error("RESOURCE_NOT_FOUND", f"order {order_id} not found on {symbol}")

    async def get_open_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return [_order_dict(order) for order in await self.client.rest.open_orders(symbol)]

    async def cancel_order(self, symbol: str, order_id: str) -> dict[str, Any]:
        try:
            return _order_dict(await self.client.rest.cancel_order(symbol, order_id=str(order_id)))
        except ApiError as exc:
            return _api_error(exc)

    async def cancel_all_orders(
        self, symbol: str | None = None
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """Cancel every open order of ``symbol``, or of every market that has open orders."""
        try:
            if symbol is not None:
                return [_order_dict(o) for o in await self.client.rest.cancel_all(symbol) or []]
            symbols = sorted({o.symbol for o in await self.client.rest.open_orders()})
            cancelled: list[dict[str, Any]] = []
            for sym in symbols:
                answer = await self.client.rest.cancel_all(sym)  # None: 202, accepted
                cancelled.extend(_order_dict(o) for o in answer or [])
            return cancelled
        except ApiError as exc:
            return _api_error(exc)

    # ------------------------------------------------------------------ account

    async def get_position(self, symbol: str) -> dict[str, Any] | None:
        """``None`` when flat; else signed ``quantity``, ``entryPrice``, ``unrealizedProfit``."""
        for position in await self.client.rest.positions(symbol):
            if position.symbol == symbol and position.net_quantity != 0:
                return _position_dict(position)
        return None

    async def get_positions(self) -> list[dict[str, Any]]:
        return [
            _position_dict(p) for p in await self.client.rest.positions() if p.net_quantity != 0
        ]

    async def get_orderbook(self, symbol: str, limit: int | None = None) -> dict[str, Any]:
        """Bids and asks best-first (Backpack's REST sends both ascending)."""
        try:
            book = await self.client.rest.depth_snapshot(symbol)
        except ApiError as exc:
            return _api_error(exc)
        bids = book.bids[:limit] if limit else book.bids
        asks = book.asks[:limit] if limit else book.asks
        return {
            "symbol": symbol,
            "bids": [[float(p), float(q)] for p, q in bids],
            "asks": [[float(p), float(q)] for p, q in asks],
            "lastUpdateId": book.last_update_id,
            "timestamp": book.timestamp_us,
        }

    async def get_balances(self) -> list[dict[str, Any]]:
        balances = await self.client.rest.balances()
        return [
            {
                "asset": b.asset,
                "available": float(b.available),
                "locked": float(b.locked),
                "staked": float(b.staked),
            }
            for b in balances.values()
        ]

    async def get_account_info(self) -> dict[str, Any]:
        """Backpack's account settings plus the guide's ``status`` and ``commissionTier``."""
        try:
            info = dict(await self.client.rest.account())
        except ApiError as exc:
            return _api_error(exc)
        info["status"] = "LIQUIDATING" if info.get("liquidating") else "ACTIVE"
        info["commissionTier"] = {
            "makerFee": info.get("futuresMakerFee"),
            "takerFee": info.get("futuresTakerFee"),
            "spotMakerFee": info.get("spotMakerFee"),
            "spotTakerFee": info.get("spotTakerFee"),
        }
        return info
