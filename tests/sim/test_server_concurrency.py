"""Many clients placing and cancelling at once on 127.0.0.1: nothing lost, nothing doubled.

Bounded in clients, orders and time. The checks are on final state, not timing:
funds are conserved across every account and the house, net positions sum to zero,
and every clientId the exchange accepted is in its owner's history exactly once.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import aiohttp

from bpx_tui.sim.server import DemoAccount, SimServer
from tests.sim.hostile import Hostile, conservation_gaps

SYMBOLS = ("BTC_USDC_PERP", "SOL_USDC_PERP")
CLIENTS = 10
ROUNDS = 25
ATTACKS = 50


async def _touch(client: Hostile, symbol: str) -> tuple[float, float]:
    depth = await client.send("GET", "/api/v1/depth", query={"symbol": symbol, "limit": "5"})
    return float(depth.body["bids"][-1][0]), float(depth.body["asks"][0][0])


def _order(symbol: str, side: str, client_id: int, price: float | None) -> dict[str, Any]:
    decimals = 1 if symbol.startswith("BTC") else 2
    body: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "orderType": "Limit" if price is not None else "Market",
        "quantity": "0.001" if symbol.startswith("BTC") else "0.10",
        "clientId": client_id,
    }
    if price is not None:
        body["price"] = f"{price:.{decimals}f}"
    return body


async def _trade(client: Hostile, index: int, seed: int) -> set[int]:
    """A random mix of resting, crossing, batched and cancelled orders; the accepted ids."""
    rng = random.Random(seed)
    accepted: set[int] = set()
    resting: list[tuple[str, int]] = []
    for round_ in range(ROUNDS):
        symbol = rng.choice(SYMBOLS)
        client_id = index * 1000 + round_ * 2
        side = rng.choice(("Bid", "Ask"))
        action = rng.choice(("rest", "cross", "batch", "cancel"))
        if action == "cancel" and resting:
            symbol, victim = resting.pop(rng.randrange(len(resting)))
            answer = await client.send(
                "DELETE", "/api/v1/order", body={"symbol": symbol, "clientId": victim}
            )
            assert answer.status in (200, 400), answer  # 400: it filled meanwhile
            continue
        bid, ask = await _touch(client, symbol)
        passive = bid * 0.98 if side == "Bid" else ask * 1.02
        if action == "cross":
            answer = await client.send(
                "POST", "/api/v1/order", body=_order(symbol, side, client_id, None)
            )
            if answer.status == 200:
                accepted.add(client_id)
            else:
                assert answer.is_client_error(), answer
        elif action == "batch":
            batch = [
                _order(symbol, side, client_id, passive),
                _order(symbol, side, client_id + 1, None),
            ]
            answer = await client.send("POST", "/api/v1/orders", body=batch)
            assert answer.status == 200, answer
            for item, cid in zip(answer.body, (client_id, client_id + 1), strict=True):
                if item["operation"] == "Ok":
                    accepted.add(cid)
                    if cid == client_id:
                        resting.append((symbol, cid))
        else:
            answer = await client.send(
                "POST", "/api/v1/order", body=_order(symbol, side, client_id, passive)
            )
            assert answer.status == 200, answer
            accepted.add(client_id)
            resting.append((symbol, client_id))
    return accepted


async def _attack(client: Hostile) -> None:
    """Meanwhile, the order that used to freeze the exchange, again and again."""
    body = {"symbol": SYMBOLS[0], "side": "Bid", "orderType": "Market", "quoteQuantity": "1e999999"}
    for _ in range(ATTACKS):
        answer = await client.send("POST", "/api/v1/order", body=body)
        assert answer.is_client_error(), answer


async def test_concurrent_clients_conserve_funds_and_ids(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    accounts: list[DemoAccount] = [sim.create_account() for _ in range(CLIENTS)]
    clients = [Hostile(http, sim, account.api_secret) for account in accounts]
    attacker = Hostile(http, sim, sim.demo.api_secret)
    trading = asyncio.gather(*(_trade(c, i + 1, seed=i) for i, c in enumerate(clients)))
    results, _ = await asyncio.wait_for(asyncio.gather(trading, _attack(attacker)), timeout=60)
    assert sim.engine.order_history(sim.demo.account_id, {}) == []
    assert sum(map(len, results)) > CLIENTS * ROUNDS // 2
    for account, accepted in zip(accounts, results, strict=True):
        rows = sim.engine.order_history(account.account_id, {"limit": "1000"})
        seen = Counter(row["clientId"] for row in rows)
        assert set(seen) == accepted, account
        assert all(count == 1 for count in seen.values()), seen
    assert conservation_gaps(sim) == {}
    for symbol in SYMBOLS:
        net = sum(
            a.positions[symbol].net
            for a in sim.engine.accounts.by_id.values()
            if symbol in a.positions
        )
        assert net == 0, symbol
