"""Fixtures for the local exchange's server tests: a started server on 127.0.0.1:0."""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from bpx_tui.exchange.signing import Signer
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.errors import SimError, not_found, order_not_found
from bpx_tui.sim.server import SimServer
from tests.conftest import load_fixture, running

Emit = Callable[[str, dict[str, Any], "int | None"], None]


class FixtureEngine:
    """A stand-in engine answering with the recorded Backpack fixtures.

    Only for transport tests that must control exactly what is emitted (fault
    injection); everything else runs against the real engine.
    """

    def __init__(self, config: SimConfig, emit: Emit, clock_us: Callable[[], int]) -> None:
        self.emit = emit
        self.clock_us = clock_us
        self.symbols = [m["symbol"] for m in load_fixture("rest_markets.json")]
        self.keys: dict[str, int] = {}
        self.update_id = 1000
        self.orders: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(5000)

    def create_account(self, api_key: str, usdc: Decimal | None = None) -> int:
        return self.keys.setdefault(api_key, len(self.keys) + 1)

    def account_for_key(self, api_key: str) -> int | None:
        return self.keys.get(api_key)

    def follow_watched(
        self, watched: Callable[[], frozenset[str]], wanted: Callable[[str], bool]
    ) -> None:
        """The fixture replays recorded frames; what is watched changes nothing."""

    def position_snapshot(self, account_id: int, symbol: str | None) -> list[dict[str, Any]]:
        snapshot: dict[str, Any] = load_fixture("ws_account_positionUpdate_snapshot.json")["data"]
        return [snapshot]

    def step_market(self, events: int = 1) -> None:
        for _ in range(events):
            first = self.update_id + 1
            self.update_id += 2
            now = self.clock_us()
            data = {
                "e": "depth",
                "E": now,
                "s": "BTC_USDC_PERP",
                "a": [["97012.5", "0.1"]],
                "b": [],
                "U": first,
                "u": self.update_id,
                "T": now,
            }
            self.emit("depth.BTC_USDC_PERP", data, None)

    def advance(self) -> None:
        pass

    def depth(self, symbol: str, limit: int | None) -> dict[str, Any]:
        body: dict[str, Any] = load_fixture("rest_depth.json")
        body["lastUpdateId"] = str(self.update_id)
        return body

    def execute_order(self, account_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("symbol") not in self.symbols:
            raise SimError(400, "INVALID_MARKET", "Invalid market")
        order: dict[str, Any] = copy.deepcopy(
            load_fixture("rest_order_execute_response_limit.json")
        )
        order["id"] = str(next(self.ids))
        order["clientId"] = payload.get("clientId")
        self.orders[order["id"]] = order
        self.emit(
            "account.orderUpdate",
            {"e": "orderAccepted", "s": payload["symbol"], "i": order["id"]},
            account_id,
        )
        return order

    def get_order(
        self, account_id: int, symbol: str, order_id: str | None, client_id: int | None
    ) -> dict[str, Any]:
        for order in self.orders.values():
            if order["id"] == order_id or (
                client_id is not None and order["clientId"] == client_id
            ):
                return order
        raise not_found("Order not found")

    def cancel_order(
        self, account_id: int, symbol: str, order_id: str | None, client_id: int | None
    ) -> dict[str, Any]:
        order = self.orders.pop(order_id or "", None)
        if order is None:
            raise order_not_found()
        return {**order, "status": "Cancelled"}

    def __getattr__(self, name: str) -> Any:  # everything else: the matching fixture
        files = {"markets": "rest_markets.json", "mark_prices": "rest_markPrices.json"}
        return lambda *args, **kwargs: load_fixture(files.get(name, "rest_status.json"))


def _new_server(**kwargs: Any) -> SimServer:
    kwargs.setdefault("rate", 0)
    return SimServer(SimConfig(seed=7), **kwargs)


def fake_server(**kwargs: Any) -> SimServer:
    """An unstarted server over :class:`FixtureEngine` with the market paused."""
    return _new_server(engine_factory=FixtureEngine, **kwargs)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """A real-engine server with the market paused (tests step it explicitly)."""
    async with running(_new_server()) as server:
        yield server


@pytest.fixture
async def fake_sim() -> AsyncIterator[SimServer]:
    """A server over :class:`FixtureEngine`, for fault tests that need exact emissions."""
    async with running(fake_server()) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def signer() -> Callable[[SimServer], Signer]:
    def make(server: SimServer) -> Signer:
        return Signer(server.demo.api_secret, clock=server.clock.now_ms)

    return make


class Api:
    """Tiny signed client for the tests: raw status, headers and decoded body."""

    def __init__(
        self, session: aiohttp.ClientSession, server: SimServer, secret: str | None = None
    ) -> None:
        self.session = session
        self.server = server
        self.signer = Signer(secret or server.demo.api_secret, clock=server.clock.now_ms)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        signed: bool | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        from bpx_tui.exchange.signing import instruction_for

        instruction = instruction_for(method, path)
        headers: dict[str, str] = {}
        if instruction is not None and signed is not False:
            headers = self.signer.headers(instruction, body if body is not None else params)
        query = {
            k: ("true" if v is True else "false" if v is False else str(v))
            for k, v in (params or {}).items()
        }
        async with self.session.request(
            method,
            self.server.rest_url + path,
            params=query,
            json=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            raw = await resp.read()
            ctype = resp.content_type
            data: Any = raw.decode()
            if ctype == "application/json":
                import orjson

                data = orjson.loads(raw)
            return resp.status, data, resp.headers

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        status, data, _ = await self.call(method, path, **kwargs)
        assert status == 200, (status, data)
        return data


@pytest.fixture
def api(sim: SimServer, http: aiohttp.ClientSession) -> Api:
    return Api(http, sim)


@pytest.fixture
def fake_api(fake_sim: SimServer, http: aiohttp.ClientSession) -> Api:
    return Api(http, fake_sim)
