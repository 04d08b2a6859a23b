"""A client that sends what no well-behaved library would, and a way to see what it changed.

:class:`Hostile` signs whatever body it is given the way the server will verify it
(from the server's own parse of the body), so a malformed value reaches the number
parser instead of being stopped by the signature check; values that cannot be signed
at all (nested objects) go with a signature of something else, and the server must
refuse them at the signature check, which is just as good an answer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import orjson

from bpx_tui.exchange.signing import Signer, instruction_for
from bpx_tui.sim.server import SimServer
from bpx_tui.sim.wire.auth import message_for

JSON = "application/json"
WINDOW_MS = 5000


@dataclass
class Answer:
    status: int
    body: Any
    content_type: str
    seconds: float

    def is_client_error(self) -> bool:
        """A 4xx with Backpack's ``{"code", "message"}`` JSON body."""
        return (
            400 <= self.status < 500
            and self.content_type == JSON
            and isinstance(self.body, dict)
            and set(self.body) == {"code", "message"}
            and bool(self.body["code"])
            and bool(self.body["message"])
        )


class Hostile:
    """Signed requests with arbitrary query values and raw JSON bodies."""

    def __init__(self, session: aiohttp.ClientSession, server: SimServer, secret: str) -> None:
        self.session = session
        self.server = server
        self.signer = Signer(secret, clock=server.clock.now_ms)

    def _headers(self, method: str, path: str, query: dict[str, str], body: Any) -> dict[str, str]:
        instruction = instruction_for(method, path)
        if instruction is None:
            return {}
        ts = self.server.clock.now_ms()
        try:
            message = message_for(instruction, query, body, ts, WINDOW_MS)
        except Exception:  # not signable: the server must refuse it at the signature
            message = "unsignable"
        return {
            "X-API-Key": self.signer.api_key,
            "X-Signature": self.signer.sign(message),
            "X-Timestamp": str(ts),
            "X-Window": str(WINDOW_MS),
        }

    async def send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        timeout: float = 10.0,
    ) -> Answer:
        """One request; ``body`` is encoded with ``json`` (which writes NaN and huge ints)."""
        query = query or {}
        headers = self._headers(method, path, query, body)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = JSON
        started = time.monotonic()
        async with self.session.request(
            method,
            self.server.rest_url + path,
            params=query,
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            raw = await resp.read()
            decoded: Any = orjson.loads(raw) if resp.content_type == JSON else raw.decode()
            return Answer(resp.status, decoded, resp.content_type, time.monotonic() - started)


def account_state(server: SimServer, account_id: int) -> tuple[Any, ...]:
    """Everything a refused request must leave alone: orders, balances, positions, history.

    Raw figures, not ``/capital``: those move with the mark price on their own.
    """
    account = server.engine.accounts.by_id[account_id]
    orders = sorted(
        (o.id, o.client_id, o.status, o.executed, o.quantity) for o in account.open_orders.values()
    )
    balances = sorted((asset, amount) for asset, amount in account.balances.items() if amount)
    positions = sorted((s, p.net, p.cost) for s, p in account.positions.items())
    return (
        orders,
        balances,
        positions,
        len(account.order_history),
        len(account.fills),
        server.engine.ids.last,
    )


def conservation_gaps(server: SimServer) -> dict[str, Decimal]:
    """Per asset: balances + house (+ unrealized PnL for USDC) - deposits; all zero."""
    engine = server.engine
    totals: dict[str, Decimal] = {}
    for account in engine.accounts.by_id.values():
        for asset, amount in account.deposits.items():
            totals[asset] = totals.get(asset, Decimal(0)) - amount
        for asset, amount in account.balances.items():
            totals[asset] = totals.get(asset, Decimal(0)) + amount
        for symbol, position in account.positions.items():
            unrealized = position.unrealized(engine.prices.mark(symbol), engine.specs[symbol])
            totals["USDC"] = totals.get("USDC", Decimal(0)) + unrealized
    for asset, amount in engine.accounts.house.items():
        totals[asset] = totals.get(asset, Decimal(0)) + amount
    return {asset: gap for asset, gap in totals.items() if gap != 0}


SYMBOL = "BTC_USDC_PERP"


async def passive_price(hostile: Hostile) -> str:
    """A bid price 3 % under the book's lowest bid: an order there rests untouched."""
    answer = await hostile.send("GET", "/api/v1/depth", query={"symbol": SYMBOL})
    return f"{round(float(answer.body['bids'][-1][0]) * 0.97, 1)}"


def resting_bid(passive: str, /, **changes: Any) -> dict[str, Any]:
    """A resting bid at ``passive`` with ``changes`` applied (None removes a field)."""
    body: dict[str, Any] = {
        "symbol": SYMBOL,
        "side": "Bid",
        "orderType": "Limit",
        "price": passive,
        "quantity": "0.001",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}
