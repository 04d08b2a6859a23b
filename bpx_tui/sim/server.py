"""The local Backpack-compatible exchange as a server: REST + WebSocket on one port.

:class:`SimServer` owns the engine, the demo accounts, the clock and the background
loops that make the market move. It is the same object in every mode: a pytest
fixture on port 0, the console's ``--demo`` running it inside its own event loop,
and ``bpx-tui sim`` serving other clients (docs/ARCHITECTURE.md "The local exchange").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web, web_app
from aiohttp.http_exceptions import HttpProcessingError

from bpx_tui.exchange.signing import api_key_of, generate_secret
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.synthetic.market import engine_with_market
from bpx_tui.sim.venue.engine import Engine
from bpx_tui.sim.venue.publisher import Emit
from bpx_tui.sim.wire.auth import AuthPolicy
from bpx_tui.sim.wire.faults import Faults, OrderFaultMode
from bpx_tui.sim.wire.rest import PARSER_LIMIT_BYTES, RestApi, error_middleware, json_response
from bpx_tui.sim.wire.websocket import Hub

log = logging.getLogger("bpx_tui.sim")


class ClientFaultsInOneLine(logging.Filter):
    """aiohttp logs a request it cannot parse, or a client that vanished, with a full
    traceback; both are the client's doing and a flood of them must not bury the log.
    They become one warning line; anything else passes untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError | ConnectionError):
            detail = " ".join(str(exc).split())[:200]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {detail}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno = logging.WARNING
            record.levelname = "WARNING"
        return True


http_log = logging.getLogger("bpx_tui.sim.http")
http_log.addFilter(ClientFaultsInOneLine())

EngineFactory = Callable[[SimConfig, Emit, Callable[[], int]], Engine]


class SimClock:
    """Exchange time in µs: the wall clock, or a frozen value tests move by hand.

    Everything time-based on the exchange (order timestamps, signature expiry,
    funding) reads this one clock, so a test can freeze it and step through an hour
    of funding without sleeping.
    """

    def __init__(self) -> None:
        self._frozen_us: int | None = None
        self._offset_us = 0

    def now_us(self) -> int:
        if self._frozen_us is not None:
            return self._frozen_us
        return time.time_ns() // 1000 + self._offset_us

    def now_ms(self) -> int:
        return self.now_us() // 1000

    @property
    def frozen(self) -> bool:
        return self._frozen_us is not None

    def freeze(self, at_us: int | None = None) -> None:
        self._frozen_us = self.now_us() if at_us is None else at_us

    def advance(self, seconds: float) -> None:
        """Move time forward (frozen: the frozen value; running: a permanent offset)."""
        delta = round(seconds * 1_000_000)
        if self._frozen_us is not None:
            self._frozen_us += delta
        else:
            self._offset_us += delta

    def unfreeze(self) -> None:
        """Resume running from the frozen instant (time never jumps back)."""
        if self._frozen_us is not None:
            self._offset_us = self._frozen_us - time.time_ns() // 1000
            self._frozen_us = None


@dataclass(frozen=True)
class DemoAccount:
    """A funded account and the key pair that controls it."""

    account_id: int
    api_key: str
    api_secret: str

    def __repr__(self) -> str:  # never put a secret into a log line
        return f"DemoAccount(account_id={self.account_id}, api_key={self.api_key!r})"


class SimServer:
    """The local exchange: engine + REST + WebSocket + market loops + fault switches.

    ``rate`` is market messages per second across all streams (0 pauses the market
    so a test can drive it with :meth:`step`); ``market_share`` caps the fraction of
    the event loop the synthetic market may use.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        rate: float = 100.0,
        market_share: float = 0.5,
        secret: str | None = None,
        advance_interval: float = 0.05,
        ping_interval: float = 60.0,
        pong_timeout: float = 120.0,
        auth_policy: AuthPolicy | None = None,
        max_ws_queue: int = 100_000,
        clock: SimClock | None = None,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.clock = clock or SimClock()
        self.faults = Faults()
        self.auth_policy = auth_policy or AuthPolicy()
        self.rate = rate
        self.market_share = market_share
        self.advance_interval = advance_interval
        self.hub = Hub(
            faults=self.faults,
            now_ms=self.clock.now_ms,
            auth_policy=self.auth_policy,
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            max_queue=max_ws_queue,
        )
        if engine_factory is None:
            engine_factory = engine_with_market
        self.engine = engine_factory(self.config, self.hub.publish, self.clock.now_us)
        self.hub.engine = self.engine
        # What clients stream the depth of is what the synthetic market steps at full rate;
        # timed feeds nobody subscribed to are not built.
        self.engine.follow_watched(self.hub.depth_watched, self.hub.subscribed)
        self.accounts: list[DemoAccount] = []
        self.demo = self.create_account(secret)
        self._stopping = asyncio.Event()
        self.rest = RestApi(
            self.engine, self.faults, self.clock.now_ms, self.auth_policy, self._stopping
        )
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.steps = 0

    # ------------------------------------------------------------------ accounts

    def create_account(self, secret: str | None = None, usdc: Decimal | None = None) -> DemoAccount:
        """Fund a new account; a given ``secret`` makes its key pair reproducible."""
        secret = secret or generate_secret()
        api_key = api_key_of(secret)
        existing = self.engine.account_for_key(api_key)
        account_id = existing if existing is not None else self.engine.create_account(api_key, usdc)
        account = DemoAccount(account_id, api_key, secret)
        if account not in self.accounts:
            self.accounts.append(account)
        return account

    # ------------------------------------------------------------------ lifecycle

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[error_middleware(self.faults)])
        self.rest.install(app)
        app.router.add_get("/", self._root)
        app.router.add_get("/ws", self._root)
        return app

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return json_response({"code": "RESOURCE_NOT_FOUND", "message": "Not found"}, 404)
        return await self.hub.handle(request)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 = any free port) and start the market loops."""
        if self._runner is not None:
            raise RuntimeError("SimServer already started")
        self._stopping.clear()
        runner = web.AppRunner(
            self.build_app(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            logger=http_log,
            max_line_size=PARSER_LIMIT_BYTES,
            max_field_size=PARSER_LIMIT_BYTES,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        self._runner = runner
        self._host = host
        addresses = runner.addresses
        self._port = int(addresses[0][1]) if addresses else port
        self.hub.start()
        self._tasks = [
            asyncio.create_task(self._market_loop(), name="sim-market"),
            asyncio.create_task(self._advance_loop(), name="sim-advance"),
        ]
        log.info("sim listening on %s (ws %s)", self.rest_url, self.ws_url)

    async def stop(self) -> None:
        """Close every connection and stop the loops; safe to call twice."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.hub.stop()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        _forget_wrapped_handlers()

    async def __aenter__(self) -> SimServer:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def rest_url(self) -> str:
        return f"http://{self._url_host()}:{self._port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._url_host()}:{self._port}"

    def _url_host(self) -> str:
        host = self._host
        if host in ("", "0.0.0.0"):
            return "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    def connection_info(self, account: DemoAccount | None = None) -> dict[str, str]:
        """What a client needs: the two URLs and one account's key pair."""
        account = account or self.demo
        return {
            "rest": self.rest_url,
            "ws": self.ws_url,
            "api_key": account.api_key,
            "api_secret": account.api_secret,
        }

    # ------------------------------------------------------------------ market loops

    def step(self, events: int = 1) -> None:
        """Advance the synthetic market by ``events`` steps right now (tests)."""
        try:
            self.engine.step_market(events)
        except Exception:
            log.exception("engine.step_market failed")
        self.steps += events

    def advance(self) -> None:
        """Run the engine's time-driven work (marks, triggers, funding) right now."""
        try:
            self.engine.advance()
        except Exception:
            log.exception("engine.advance failed")

    async def _market_loop(self) -> None:
        """Emit about ``rate`` market messages a second, batching steps when it is high.

        One engine step emits a handful of messages (depth, bookTicker, trades), so the
        loop steps until the messages it owes are out, counting what the hub actually
        received. Each tick may use at most ``market_share`` of its interval: when the
        engine cannot keep up, the rate falls short instead of starving the sockets
        (and, in ``--demo``, the console sharing this event loop).
        """
        loop = asyncio.get_running_loop()
        last = loop.time()
        owed = 0.0
        while True:
            rate = self.rate
            interval = 0.05 if rate <= 0 else max(0.005, min(0.25, 1.0 / rate))
            await asyncio.sleep(interval)
            now = loop.time()
            elapsed, last = now - last, now
            if rate <= 0:
                owed = 0.0
                continue
            owed = min(owed + rate * elapsed, rate * 0.25 + 1.0)
            deadline = now + interval * self.market_share
            while owed >= 1.0:
                before = self.hub.published
                self.step(1)
                owed -= max(1, self.hub.published - before)
                if loop.time() >= deadline:
                    break

    async def _advance_loop(self) -> None:
        while True:
            await asyncio.sleep(self.advance_interval)
            self.advance()

    # ------------------------------------------------------------------ faults

    async def drop_connections(self, *, abrupt: bool = True) -> int:
        """Disconnect every WebSocket client now; returns how many there were."""
        count = await self.hub.close_all(abrupt=abrupt)
        log.info("fault: dropped %d websocket connection(s)", count)
        return count

    def skip_depth(self, symbol: str, count: int = 1) -> None:
        """Make the next depth messages of ``symbol`` skip ``count`` update ids."""
        self.faults.skip_depth(symbol, count)

    def go_silent(self, seconds: float) -> None:
        """No WebSocket data and no pings for ``seconds`` (a stalled feed)."""
        self.faults.go_silent(seconds)

    def refuse_private(self, count: int = 1) -> None:
        """Answer the next ``count`` private WebSocket subscriptions with an error frame."""
        self.faults.refuse_private_subscriptions(count)

    def throttle(self, count: int = 1, path: str | None = None, retry_after: float = 1.0) -> None:
        """Answer the next ``count`` REST calls (optionally under ``path``) with 429."""
        self.faults.throttle(count, path, retry_after)

    def fail_next_order(
        self, mode: OrderFaultMode = "error", status: int = 503, hang_seconds: float = 30.0
    ) -> None:
        """The next accepted order answers ``status`` (mode "error") or hangs ("hang")."""
        self.faults.fail_next_order(mode, status, hang_seconds)

    def set_latency(self, rest: float | None = None, ws: float | None = None) -> None:
        """Extra delay in seconds before each REST answer / each WebSocket message."""
        if rest is not None:
            self.faults.rest_latency = max(0.0, rest)
        if ws is not None:
            self.faults.ws_latency = max(0.0, ws)


async def start_in_process(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> SimServer:
    """Start a server inside the running loop (the console's ``--demo``); caller stops it."""
    server = SimServer(**kwargs)
    await server.start(host, port)
    return server


def _forget_wrapped_handlers() -> None:
    """Let a stopped exchange be freed.

    aiohttp keeps every (handler, apps) pair it has wrapped in middlewares in a
    module-level ``lru_cache`` (``web_app._cached_build_middleware``, aiohttp 3.14); our
    handlers are bound to the server, so each stopped exchange, its books and its past
    stayed in memory for the life of the process (a test run starts hundreds). The
    cache is private, so it is looked up defensively; clearing it only costs live
    servers one rebuild of their middleware chain.
    """
    cached = getattr(web_app, "_cached_build_middleware", None)
    cache_clear = getattr(cached, "cache_clear", None)
    if callable(cache_clear):
        cache_clear()
