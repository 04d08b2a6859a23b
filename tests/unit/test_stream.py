"""StreamClient against a real loopback WebSocket server (docs/PROTOCOL.md "WebSocket connection")."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bpx_tui.exchange.errors import TransportError
from bpx_tui.exchange.signing import Signer, generate_secret, signing_string, verify
from bpx_tui.exchange.stream import ConnectionState, StreamClient
from bpx_tui.exchange.transport import MAX_MESSAGE, TRANSPORTS, TransportName
from tests.conftest import load_fixture
from tests.fakes.ws_server import CODE_BAD_SIGNATURE, FakeWsServer

pytestmark = pytest.mark.timeout(30)

PUBLIC = ["depth.BTC_USDC_PERP", "bookTicker.BTC_USDC_PERP", "trade.BTC_USDC_PERP"]
PRIVATE = ["account.orderUpdate", "account.positionUpdate.BTC_USDC_PERP"]
WS_FIXTURES = [
    "ws_depth.json",
    "ws_depth_200ms.json",
    "ws_bookTicker.json",
    "ws_trade.json",
    "ws_kline.json",
    "ws_markPrice.json",
    "ws_ticker.json",
    "ws_openInterest.json",
    "ws_liquidation.json",
    "ws_account_orderUpdate_fill.json",
    "ws_account_positionUpdate_snapshot.json",
    "ws_account_rfqUpdate_active.json",
]


class Recorder:
    """Collects everything the client reports."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.states: list[tuple[ConnectionState, str | None]] = []
        self.errors: list[tuple[int | str | None, str]] = []
        self.refusals: list[tuple[tuple[str, ...], int | str | None, str]] = []
        self.fail_on: str | None = None
        self._changed = asyncio.Event()

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until a condition on what the client reported holds (re-checked per callback)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def on_message(self, stream: str, data: dict[str, Any]) -> None:
        if stream == self.fail_on:
            raise RuntimeError("callback bug")
        self.messages.append((stream, data))
        self._changed.set()

    def on_state(self, state: ConnectionState, reason: str | None) -> None:
        self.states.append((state, reason))
        self._changed.set()

    def on_error(self, code: int | str | None, message: str) -> None:
        self.errors.append((code, message))
        self._changed.set()

    def on_private_refused(
        self, streams: tuple[str, ...], code: int | str | None, message: str
    ) -> None:
        self.refusals.append((streams, code, message))
        self._changed.set()

    def state_names(self) -> list[ConnectionState]:
        return [s for s, _ in self.states]


@pytest.fixture
async def server() -> AsyncIterator[FakeWsServer]:
    async with FakeWsServer() as srv:
        yield srv


@pytest.fixture
def signer() -> Signer:
    clock = iter(range(1_763_900_000_000, 1_763_900_000_000 + 10**9, 1000))
    return Signer(generate_secret(), clock=lambda: next(clock))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> TransportName:
    """Every connection test runs on each WebSocket library: they must behave the same."""
    name: TransportName = request.param
    return name


@pytest.fixture
async def make_client(
    recorder: Recorder, transport: TransportName
) -> AsyncIterator[Callable[..., StreamClient]]:
    clients: list[StreamClient] = []

    def make(url: str, signer: Signer | None = None, **options: Any) -> StreamClient:
        settings: dict[str, Any] = {
            "silence_timeout": 5.0,
            "connect_timeout": 10.0,  # start() must return on connect, not on timeout
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
            "close_timeout": 0.5,
            "transport": transport,
        }
        settings.update(options)
        client = StreamClient(
            url,
            signer=signer,
            on_message=recorder.on_message,
            on_state=recorder.on_state,
            on_error=recorder.on_error,
            on_private_refused=recorder.on_private_refused,
            **settings,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def _signature_ok(frame: dict[str, Any]) -> bool:
    key, sig, timestamp, window = frame["signature"]
    return verify(key, sig, signing_string("subscribe", None, int(timestamp), int(window)))


async def test_public_and_private_share_one_connection(
    server: FakeWsServer, make_client: Callable[..., StreamClient], signer: Signer
) -> None:
    client = make_client(server.url, signer)
    client.subscribe(PUBLIC + PRIVATE)
    await client.start()
    await server.wait_until(lambda: server.subscribed() == set(PUBLIC + PRIVATE))

    assert len(server.connections) == 1
    public, private = server.subscribe_frames()
    assert public["params"] == PUBLIC
    assert "signature" not in public
    assert private["params"] == PRIVATE
    assert all(isinstance(part, str) for part in private["signature"])
    assert private["signature"][0] == signer.api_key
    assert _signature_ok(private)
    # No ids, as the reference clients send them: nothing may depend on an echo.
    assert "id" not in public and "id" not in private
    assert server.bad_signatures == 0


async def test_subscribe_after_start_and_unsubscribe(
    server: FakeWsServer, make_client: Callable[..., StreamClient], signer: Signer
) -> None:
    client = make_client(server.url, signer)
    await client.start()
    assert server.subscribe_frames() == []  # nothing to subscribe yet

    client.subscribe(["trade.SOL_USDC", "account.orderUpdate"])
    client.subscribe(["trade.SOL_USDC"])  # already subscribed: no new frame
    await server.wait_until(
        lambda: server.subscribed() == {"trade.SOL_USDC", "account.orderUpdate"}
    )
    client.unsubscribe(["trade.SOL_USDC", "never.subscribed"])
    await server.wait_until(lambda: server.subscribed() == {"account.orderUpdate"})

    methods = [(m["method"], m["params"]) for m in server.messages()]
    assert methods == [
        ("SUBSCRIBE", ["trade.SOL_USDC"]),
        ("SUBSCRIBE", ["account.orderUpdate"]),
        ("UNSUBSCRIBE", ["trade.SOL_USDC"]),
    ]
    assert client.subscriptions == ["account.orderUpdate"]
    assert await server.push("trade.SOL_USDC", {"e": "trade"}) == 0


async def test_private_stream_without_signer_is_refused(
    server: FakeWsServer, make_client: Callable[..., StreamClient]
) -> None:
    client = make_client(server.url)
    with pytest.raises(ValueError, match="API keys"):
        client.subscribe(["depth.SOL_USDC", "account.orderUpdate"])
    assert client.subscriptions == []  # all or nothing
    with pytest.raises(TypeError):
        client.subscribe("depth.SOL_USDC")  # type: ignore[arg-type]


async def test_bad_signature_gets_error_frame(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    # The server trusts only a different key, as if the user pasted the wrong secret.
    server.api_keys = {Signer(generate_secret()).api_key}
    client = make_client(server.url, Signer(generate_secret()))
    client.subscribe(["depth.SOL_USDC", "account.orderUpdate"])
    await client.start()
    await recorder.until(lambda: len(recorder.refusals) == 1)

    # Not "Invalid stream", after a signed SUBSCRIBE: the private subscription's refusal.
    assert recorder.refusals == [(("account.orderUpdate",), CODE_BAD_SIGNATURE, "Unknown API key")]
    assert recorder.errors == []
    assert client.private_refused == "Unknown API key"
    assert server.subscribed() == {"depth.SOL_USDC"}  # public data unaffected
    assert client.server_errors == 1
    assert client.errors == 0
    assert client.state is ConnectionState.CONNECTED


@pytest.mark.parametrize("as_strings", [False, True], ids=["int-times", "string-times"])
async def test_fixture_frames_dispatched_intact(
    server: FakeWsServer,
    make_client: Callable[..., StreamClient],
    recorder: Recorder,
    signer: Signer,
    as_strings: bool,
) -> None:
    frames = [load_fixture(name) for name in WS_FIXTURES]
    if as_strings:  # newer captures carry E/T as strings
        for frame in frames:
            for key in ("E", "T"):
                if isinstance(frame["data"].get(key), int):
                    frame["data"][key] = str(frame["data"][key])
    client = make_client(server.url, signer)
    client.subscribe(sorted({f["stream"] for f in frames}))
    await client.start()
    await server.wait_until(lambda: len(server.subscribed()) == len({f["stream"] for f in frames}))

    for frame in frames:
        assert await server.push(frame["stream"], frame["data"]) == 1
    await recorder.until(lambda: len(recorder.messages) == len(frames))

    assert recorder.messages == [(f["stream"], f["data"]) for f in frames]
    times = recorder.messages[0][1]["E"], recorder.messages[0][1]["T"]
    assert all(isinstance(t, str if as_strings else int) for t in times)
    rfq = dict(recorder.messages)["account.rfqUpdate"]
    assert rfq["R"] == 118204411937775616  # > 2**53 survives exactly
    assert client.messages == len(frames)
    assert client.errors == 0
    assert client.last_message_at > 0


async def test_error_frame_goes_to_on_error(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    client = make_client(server.url)
    await client.start()
    error = load_fixture("ws_error.json")
    await server.push_raw(json.dumps(error))
    await server.push_raw('{"id": 7, "error": {"code": "4010", "message": null}}')
    await recorder.until(lambda: len(recorder.errors) == 2)

    assert recorder.errors == [(4006, "Invalid stream"), ("4010", "")]
    assert client.server_errors == 2
    assert client.errors == 0


async def test_junk_frames_are_counted_not_fatal(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    client = make_client(server.url)
    client.subscribe(["trade.SOL_USDC"])
    await client.start()
    await server.wait_until(lambda: server.subscribed() == {"trade.SOL_USDC"})
    junk = [
        "not json at all",
        "[1, 2, 3]",
        '"just a string"',
        '{"stream": "trade.SOL_USDC"}',
        '{"stream": 5, "data": {}}',
        '{"stream": "trade.SOL_USDC", "data": [1]}',
        b"\xff\xfe binary",
    ]
    for payload in junk:
        await server.push_raw(payload)
    await server.push_raw('{"id": 3, "result": null}')  # an ack: ignored, not an error
    await server.push("trade.SOL_USDC", {"e": "trade", "t": 1})
    await recorder.until(lambda: len(recorder.messages) == 1)

    assert recorder.messages == [("trade.SOL_USDC", {"e": "trade", "t": 1})]
    assert client.errors == len(junk)
    assert client.messages == len(junk) + 2
    assert recorder.errors == []
    assert client.state is ConnectionState.CONNECTED
    assert client.reconnects == 0


async def test_callback_exception_is_counted_and_reader_continues(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    recorder.fail_on = "trade.BAD"
    client = make_client(server.url)
    client.subscribe(["trade.BAD", "trade.GOOD"])
    await client.start()
    await server.wait_until(lambda: len(server.subscribed()) == 2)
    for i in range(3):
        await server.push("trade.BAD", {"t": i})
        await server.push("trade.GOOD", {"t": i})
    await recorder.until(lambda: len(recorder.messages) == 3)

    assert [data["t"] for _, data in recorder.messages] == [0, 1, 2]
    assert client.errors == 3
    assert client.reconnects == 0


async def test_server_pings_are_answered(
    server: FakeWsServer, make_client: Callable[..., StreamClient]
) -> None:
    client = make_client(server.url)
    await client.start()
    latencies = await server.ping_all()
    latencies += await server.ping_all()
    assert len(latencies) == 2
    assert all(latency >= 0 for latency in latencies)
    assert client.state is ConnectionState.CONNECTED


async def test_dropped_connection_reconnects_and_resubscribes(
    server: FakeWsServer,
    make_client: Callable[..., StreamClient],
    recorder: Recorder,
    signer: Signer,
) -> None:
    client = make_client(server.url, signer)
    client.subscribe(PUBLIC + PRIVATE)
    await client.start()
    await server.wait_until(lambda: len(server.subscribe_frames(0)) == 2)

    assert await server.drop_all() == 1
    await server.wait_until(lambda: len(server.subscribe_frames(1)) == 2)
    await recorder.until(lambda: recorder.state_names()[-1] is ConnectionState.CONNECTED)

    assert recorder.state_names() == [
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
        ConnectionState.RECONNECTING,
        ConnectionState.CONNECTED,
    ]
    assert recorder.states[2][1]  # a reason is given
    assert client.reconnects == 1
    old_private = server.subscribe_frames(0)[1]
    public, private = server.subscribe_frames(1)
    assert public["params"] == PUBLIC
    assert private["params"] == PRIVATE
    assert _signature_ok(private)
    assert int(private["signature"][2]) > int(old_private["signature"][2])  # re-signed
    assert private["signature"][1] != old_private["signature"][1]
    await server.wait_until(lambda: server.subscribed() == set(PUBLIC + PRIVATE))
    await server.push("trade.BTC_USDC_PERP", {"t": 1})
    await recorder.until(lambda: recorder.messages == [("trade.BTC_USDC_PERP", {"t": 1})])


async def test_polite_close_by_server_reconnects(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    client = make_client(server.url)
    client.subscribe(["ticker.SOL_USDC"])
    await client.start()
    await server.wait_until(lambda: len(server.connections) == 1)
    await server.close_all(1001, "server restart")
    await server.wait_until(lambda: server.subscribed() == {"ticker.SOL_USDC"})
    await recorder.until(lambda: client.reconnects == 1)

    reconnecting = [r for s, r in recorder.states if s is ConnectionState.RECONNECTING]
    assert len(reconnecting) == 1
    assert "1001" in (reconnecting[0] or "")
    assert server.connections[0].close_code == 1001


async def test_silence_is_detected_and_reconnected(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    client = make_client(server.url, silence_timeout=0.4, ping_interval=None)
    client.subscribe(["depth.SOL_USDC"])
    await client.start()
    await server.wait_until(lambda: server.subscribed() == {"depth.SOL_USDC"})
    assert server.go_silent() == 1

    await server.wait_until(lambda: len(server.connections) == 2, timeout=10)
    await server.wait_until(lambda: server.subscribed() == {"depth.SOL_USDC"})
    await recorder.until(lambda: client.reconnects == 1)

    reasons = [r or "" for s, r in recorder.states if s is ConnectionState.RECONNECTING]
    assert len(reasons) == 1
    assert "no data" in reasons[0]
    assert await server.push("depth.SOL_USDC", {"U": 1, "u": 1}) == 1
    await recorder.until(lambda: len(recorder.messages) == 1)


async def test_quiet_but_alive_connection_is_kept(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    """No data at all, but pongs come back: the watchdog must not drop the socket."""
    client = make_client(server.url, silence_timeout=0.5, ping_interval=None)
    await client.start()
    # Several silence windows pass; the watchdog's probe pings keep the link alive.
    for _ in range(12):
        await asyncio.sleep(0.1)
    assert client.reconnects == 0
    assert len(server.connections) == 1
    assert recorder.state_names() == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]


async def test_start_against_closed_port_raises(
    make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(f"ws://127.0.0.1:{port}", connect_timeout=0.3)
    with pytest.raises(TransportError, match="could not connect"):
        await client.start()
    assert recorder.states[0][0] is ConnectionState.CONNECTING
    assert recorder.states[-1][0] is ConnectionState.DOWN
    assert client.state is ConnectionState.DOWN
    assert client.reconnects == 0


async def test_repeated_failures_report_down_and_recover(
    make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    server = FakeWsServer()
    await server.start()
    client = make_client(server.url, max_failures_before_down=2)
    client.subscribe(["trade.SOL_USDC"])
    await client.start()
    await server.stop()  # the exchange disappears; reconnects are refused
    await recorder.until(lambda: ConnectionState.DOWN in recorder.state_names())
    client.subscribe(["ticker.SOL_USDC"])  # made while down: must go out on reconnect
    await server.start()  # back on the same port
    try:
        await server.wait_until(
            lambda: server.subscribed() == {"trade.SOL_USDC", "ticker.SOL_USDC"}
        )
        await recorder.until(lambda: client.state is ConnectionState.CONNECTED)
        names = recorder.state_names()
        assert names[:3] == [
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
            ConnectionState.RECONNECTING,
        ]
        assert ConnectionState.DOWN in names
        assert names[-1] is ConnectionState.CONNECTED
        assert client.reconnects == 1
    finally:
        await client.close()
        await server.stop()


async def test_close_is_clean(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = make_client(server.url, silence_timeout=0.2)
        client.subscribe(["trade.SOL_USDC"])
        await client.start()
        await server.wait_until(lambda: server.subscribed() == {"trade.SOL_USDC"})
        client.subscribe(["trade.ETH_USDC"])  # a send still in flight at close time
        await client.close()
        await server.wait_until(lambda: not server.open_connections())
        await client.close()  # idempotent
        gc.collect()

    assert server.connections[0].close_code == 1000  # a proper Close handshake
    assert recorder.states[-1] == (ConnectionState.DOWN, "closed")
    assert [s for s, _ in recorder.states].count(ConnectionState.DOWN) == 1
    leftovers = [t for t in asyncio.all_tasks() if t.get_name().startswith("bpx-stream")]
    assert leftovers == []
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    # Nothing comes back after close.
    await asyncio.sleep(0.3)
    assert len(server.connections) == 1
    assert client.state is ConnectionState.DOWN


async def test_close_during_backoff_and_restart(
    make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    server = FakeWsServer()
    await server.start()
    client = make_client(server.url, backoff_base=5.0, backoff_cap=5.0)
    await client.start()
    await server.drop_all()
    await server.stop()
    await recorder.until(lambda: client.state is not ConnectionState.CONNECTED)
    await client.close()  # while sleeping in backoff
    assert recorder.states[-1] == (ConnectionState.DOWN, "closed")

    await server.start()
    try:
        await client.start()  # a closed client can be started again
        assert client.state is ConnectionState.CONNECTED
    finally:
        await client.close()
        await server.stop()


def test_constructor_rejects_bad_settings(recorder: Recorder) -> None:
    def make(url: str = "ws://127.0.0.1:1", **options: Any) -> StreamClient:
        return StreamClient(
            url, signer=None, on_message=recorder.on_message, on_state=recorder.on_state, **options
        )

    with pytest.raises(ValueError, match="ws://"):
        make("http://example.com")
    with pytest.raises(ValueError, match="silence_timeout"):
        make(silence_timeout=0)
    with pytest.raises(ValueError, match="max_failures"):
        make(max_failures_before_down=0)
    with pytest.raises(ValueError, match="aiohttp, websockets"):
        make(transport="curl")
    assert make().state is ConnectionState.DOWN


async def test_close_while_start_is_waiting(
    make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(f"ws://127.0.0.1:{port}")
    starting = asyncio.create_task(client.start())
    await recorder.until(lambda: len(recorder.states) >= 2)  # at least one refused attempt
    assert recorder.states[1][0] is ConnectionState.CONNECTING
    assert "retry 1" in (recorder.states[1][1] or "")
    await client.close()
    with pytest.raises(TransportError, match="closed while connecting"):
        await starting
    assert recorder.states[-1] == (ConnectionState.DOWN, "closed")


async def test_failing_state_callback_does_not_stop_the_client(
    server: FakeWsServer, recorder: Recorder, transport: TransportName
) -> None:
    def broken_on_state(state: ConnectionState, reason: str | None) -> None:
        recorder.on_state(state, reason)
        raise RuntimeError("UI bug")

    client = StreamClient(
        server.url,
        on_message=recorder.on_message,
        on_state=broken_on_state,
        transport=transport,
        backoff_base=0.01,
        backoff_cap=0.05,
    )
    client.subscribe(["trade.SOL_USDC"])
    await client.start()
    try:
        await server.drop_all()
        await recorder.until(lambda: client.reconnects == 1)
        await server.wait_until(lambda: server.subscribed() == {"trade.SOL_USDC"})
        assert await server.push("trade.SOL_USDC", {"t": 9}) == 1
        await recorder.until(lambda: recorder.messages == [("trade.SOL_USDC", {"t": 9})])
    finally:
        await client.close()


def test_backoff_is_full_jitter_and_capped(recorder: Recorder) -> None:
    client = StreamClient(
        "ws://127.0.0.1:1",
        on_message=recorder.on_message,
        on_state=recorder.on_state,
        backoff_base=0.25,
        backoff_cap=10.0,
    )
    for failures, ceiling in [(1, 0.25), (2, 0.5), (3, 1.0), (6, 8.0), (7, 10.0), (500, 10.0)]:
        delays = [client._backoff(failures) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the window, not a fixed delay


async def test_keepalive_closes_a_peer_that_stops_answering_pings(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    """The transport's own keepalive (not the watchdog, whose clock is far longer here)
    gives up on a missing pong with 1011, then the client reconnects and resubscribes."""
    client = make_client(server.url, silence_timeout=30.0, ping_interval=0.2, ping_timeout=0.2)
    client.subscribe(["depth.SOL_USDC"])
    await client.start()
    await server.wait_until(lambda: server.subscribed() == {"depth.SOL_USDC"})
    assert server.go_silent() == 1

    await server.wait_until(lambda: server.subscribed() == {"depth.SOL_USDC"}, timeout=10)
    await recorder.until(lambda: client.reconnects == 1)
    reasons = [r or "" for s, r in recorder.states if s is ConnectionState.RECONNECTING]
    assert reasons == ["connection closed (1011 keepalive ping timeout); retry 1"]


async def test_an_oversized_message_ends_the_connection_with_1009(
    server: FakeWsServer, make_client: Callable[..., StreamClient], recorder: Recorder
) -> None:
    """Over MAX_MESSAGE the connection is closed (1009), as websockets always did; the
    client reconnects and the next normal frame arrives."""
    client = make_client(server.url)
    client.subscribe(["trade.SOL_USDC"])
    await client.start()
    await server.wait_until(lambda: server.subscribed() == {"trade.SOL_USDC"})
    await server.push("trade.SOL_USDC", {"pad": "x" * MAX_MESSAGE})

    await recorder.until(lambda: client.reconnects == 1)
    reasons = [r or "" for s, r in recorder.states if s is ConnectionState.RECONNECTING]
    assert len(reasons) == 1 and reasons[0].startswith("connection closed (1009")
    assert recorder.messages == []
    await server.wait_until(lambda: server.subscribed() == {"trade.SOL_USDC"})
    assert await server.push("trade.SOL_USDC", {"t": 1}) == 1
    await recorder.until(lambda: recorder.messages == [("trade.SOL_USDC", {"t": 1})])
