"""ccxt's Backpack client against the local exchange: proof that the wire protocol matches.

ccxt is an independent implementation of the same protocol (signing, paths, shapes,
WebSocket sync). Whenever it disagrees with the server, the server is fixed -- never
ccxt -- unless docs/PROTOCOL.md says ccxt is the one that is wrong.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from tests.conftest import running

ccxt_async = pytest.importorskip("ccxt.async_support")
ccxt_pro = pytest.importorskip("ccxt.pro")

PERP = "BTC/USDC:USDC"
PERP_ID = "BTC_USDC_PERP"


def _point_at(exchange: Any, server: SimServer) -> Any:
    exchange.urls["api"] = {
        **exchange.urls["api"],
        "public": server.rest_url,
        "private": server.rest_url,
        "ws": {"public": server.ws_url, "private": server.ws_url},
    }
    return exchange


@pytest.fixture
async def market_sim() -> AsyncIterator[SimServer]:
    """A live market (steps running) so streams flow and ccxt's book sync can complete."""
    async with running(SimServer(SimConfig(seed=11), rate=200)) as server:
        yield server


@pytest.fixture
async def client(market_sim: SimServer) -> AsyncIterator[Any]:
    exchange = _point_at(
        ccxt_async.backpack(
            {
                "apiKey": market_sim.demo.api_key,
                "secret": market_sim.demo.api_secret,
                "enableRateLimit": False,
            }
        ),
        market_sim,
    )
    try:
        yield exchange
    finally:
        await exchange.close()


async def test_public_market_data(client: Any) -> None:
    markets = await client.load_markets()
    assert PERP in markets and markets[PERP]["id"] == PERP_ID
    assert markets[PERP]["precision"]["price"] and markets[PERP]["limits"]["amount"]["min"]
    ticker = await client.fetch_ticker(PERP)
    assert ticker["symbol"] == PERP and ticker["last"] > 0
    book = await client.fetch_order_book(PERP)
    assert book["bids"] and book["asks"] and book["bids"][0][0] < book["asks"][0][0]
    assert book["nonce"] > 0
    trades = await client.fetch_trades(PERP, limit=20)
    assert all(t["symbol"] == PERP and t["price"] > 0 for t in trades)
    since = client.milliseconds() - 3_600_000
    candles = await client.fetch_ohlcv(PERP, "1m", since=since, limit=10)
    assert isinstance(candles, list)
    for candle in candles:
        assert len(candle) == 6 and candle[0] >= 0
    funding = await client.fetch_funding_rate(PERP)
    assert funding["symbol"] == PERP and funding["markPrice"] > 0
    assert funding["fundingRate"] is not None and funding["nextFundingTimestamp"]


async def test_private_trading_round_trip(client: Any) -> None:
    await client.load_markets()
    balance = await client.fetch_balance()
    assert balance["USDC"]["free"] > 0
    book = await client.fetch_order_book(PERP)
    passive = client.price_to_precision(PERP, book["bids"][0][0] * 0.95)
    order = await client.create_order(PERP, "limit", "buy", 0.001, float(passive))
    assert order["id"] and order["status"] == "open"
    open_orders = await client.fetch_open_orders(PERP)
    assert order["id"] in {o["id"] for o in open_orders}
    cancelled = await client.cancel_order(order["id"], PERP)
    assert cancelled["status"] == "canceled"
    assert order["id"] not in {o["id"] for o in await client.fetch_open_orders(PERP)}

    bought = await client.create_order(PERP, "market", "buy", 0.01)
    assert bought["id"] and bought["status"] == "closed" and bought["filled"] == pytest.approx(0.01)
    positions = await client.fetch_positions([PERP])
    (position,) = [p for p in positions if p["symbol"] == PERP]
    # ccxt reads contracts from netExposureQuantity and leaves it a string
    assert position["side"] == "long" and float(position["contracts"]) == pytest.approx(0.01)

    closed = await client.create_order(PERP, "market", "sell", 0.01, params={"reduceOnly": True})
    assert closed["status"] == "closed" and closed["reduceOnly"] is True
    remaining = [p for p in await client.fetch_positions([PERP]) if float(p["contracts"] or 0)]
    assert remaining == []

    fills = await client.fetch_my_trades(PERP)
    assert {f["side"] for f in fills} == {"buy", "sell"}
    assert {f["order"] for f in fills} >= {bought["id"], closed["id"]}


async def test_ccxt_pro_watch_order_book_and_ticker(market_sim: SimServer) -> None:
    exchange = _point_at(
        ccxt_pro.backpack(
            {"apiKey": market_sim.demo.api_key, "secret": market_sim.demo.api_secret}
        ),
        market_sim,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await exchange.load_markets()
            book = await asyncio.wait_for(exchange.watch_order_book(PERP), 30)
            assert book["bids"] and book["asks"]
            assert book["bids"][0][0] < book["asks"][0][0]
            nonce = book["nonce"]
            for _ in range(5):
                book = await asyncio.wait_for(exchange.watch_order_book(PERP), 15)
            assert book["nonce"] > nonce
            assert book["bids"][0][0] < book["asks"][0][0]
            ticker = await asyncio.wait_for(exchange.watch_ticker(PERP), 15)
            assert ticker["symbol"] == PERP and ticker["last"] > 0
    finally:
        await exchange.close()


async def test_ccxt_pro_private_streams(market_sim: SimServer) -> None:
    """ccxt signs the private SUBSCRIBE itself; order and position events must reach it."""
    exchange = _point_at(
        ccxt_pro.backpack(
            {"apiKey": market_sim.demo.api_key, "secret": market_sim.demo.api_secret}
        ),
        market_sim,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await exchange.load_markets()
            orders_task = asyncio.create_task(exchange.watch_orders(PERP))
            for _ in range(200):
                if market_sim.hub.subscribers(
                    f"account.orderUpdate.{PERP_ID}", market_sim.demo.account_id
                ):
                    break
                await asyncio.sleep(0.01)
            book = await exchange.fetch_order_book(PERP)
            price = float(exchange.price_to_precision(PERP, book["bids"][0][0] * 0.97))
            placed = await exchange.create_order(PERP, "limit", "buy", 0.001, price)
            orders = await asyncio.wait_for(orders_task, 15)
            assert placed["id"] in {o["id"] for o in orders}
            assert {o["status"] for o in orders if o["id"] == placed["id"]} == {"open"}

            positions_task = asyncio.create_task(exchange.watch_positions([PERP]))
            for _ in range(200):
                if market_sim.hub.subscribers("account.positionUpdate", market_sim.demo.account_id):
                    break
                await asyncio.sleep(0.01)
            await exchange.create_order(PERP, "market", "buy", 0.01)
            positions = await asyncio.wait_for(positions_task, 15)
            assert [(p["symbol"], p["side"]) for p in positions] == [(PERP, "long")]
    finally:
        await exchange.close()


async def test_a_fresh_venue_has_history_and_liquidation_prices_for_ccxt(
    market_sim: SimServer,
) -> None:
    """A chart, a funding table and a position's risk figure work from the first second.

    ``limit=1000`` on the funding history because Backpack's default page is 100 rows.
    """
    account = market_sim.create_account(usdc=Decimal(1000))
    market_sim.engine.update_account(account.account_id, {"leverageLimit": "10"})
    exchange = _point_at(
        ccxt_async.backpack(
            {"apiKey": account.api_key, "secret": account.api_secret, "enableRateLimit": False}
        ),
        market_sim,
    )
    try:
        await exchange.load_markets()
        rates = await exchange.fetch_funding_rate_history(PERP, limit=1000)
        assert len(rates) >= 7 * 24
        assert all(r["symbol"] == PERP and r["fundingRate"] is not None for r in rates)
        candles = await exchange.fetch_ohlcv(PERP, "1m", limit=1000)
        assert len(candles) >= 1000
        assert all(low <= high for _, _, high, low, _, _ in candles)
        ticker = await exchange.fetch_ticker(PERP)
        amount = float(exchange.amount_to_precision(PERP, 5000 / ticker["last"]))  # ~5x
        await exchange.create_order(PERP, "market", "buy", amount)
        (position,) = [p for p in await exchange.fetch_positions([PERP]) if p["symbol"] == PERP]
        liq = Decimal(position["info"]["estLiquidationPrice"])
        mark = Decimal(position["info"]["markPrice"])
        assert Decimal(0) < liq < mark
        assert abs(liq / mark - Decimal("0.8125")) < Decimal("0.03")  # 1 - 1/5 + mmf
    finally:
        await exchange.close()
