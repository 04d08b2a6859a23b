"""One Backpack WebSocket connection carrying every subscription.

The protocol facts relied on are in docs/PROTOCOL.md "WebSocket connection".

Why it is shaped like this:

* Backpack streams carry no snapshot on reconnect and the server may drop us at any
  time (shutdown grace, missed pongs), so subscriptions are *remembered* here and
  re-sent after every reconnect, private ones with a fresh signature: an old one would
  have expired with its window.
* A socket can look open while nothing arrives (half-dead TCP, a stalled proxy). The
  transport's keepalive (``ping_interval``/``ping_timeout``) closes a peer that stops
  answering pings; the silence watchdog is a backstop with its own, shorter clock:
  when neither a frame nor the pong to its own probe ping arrived for
  ``silence_timeout`` it aborts the socket. A pong counts as alive, so a quiet
  private-only connection is not torn down. Server Pings are answered by the transport
  (the exchange closes a connection that leaves its pings unanswered).
* The socket library is a choice (``transport``: aiohttp, the faster reader, or
  websockets), hidden behind :mod:`bpx_tui.exchange.transport`, whose errors are the one
  vocabulary the reconnect logic below handles.
* The reader is the hot path: the transport's read loop hands raw bytes to
  :meth:`StreamClient._on_frame` (no ``str`` round trip, no coroutine per frame),
  which decodes once with ``orjson`` and calls ``on_message`` synchronously, so a
  frame never waits behind a task switch; nothing is logged per frame.
* Everything runs in the caller's event loop; there are no threads to synchronise
  with the UI.
* SUBSCRIBE frames carry no ``id`` (as the reference clients send them), and Backpack's
  error frames name no stream, so a refusal is attributed by what it says: an error
  other than "Invalid stream" (4006) on a connection that carried a signed SUBSCRIBE is
  the private subscription's (``on_private_refused``). Success is never acknowledged:
  a signed SUBSCRIBE that drew no error within ``private_settle`` counts as accepted,
  and ``on_private_accepted`` reports it once after a refusal. A refused private
  subscription is re-sent, freshly signed, every ``private_retry`` on the same
  connection (an expired signature or a passing auth outage heals without a reconnect).

``on_state`` sees CONNECTING once from :meth:`StreamClient.start`, CONNECTED on every
(re)connect, RECONNECTING (or CONNECTING before the first success) after every failed
attempt or lost connection, DOWN after ``max_failures_before_down`` consecutive
failures (retries continue) and DOWN with reason ``"closed"`` from
:meth:`StreamClient.close`. The client layer resyncs its books when CONNECTED follows
RECONNECTING/DOWN.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from bpx_tui.exchange.errors import TransportError
from bpx_tui.exchange.signing import Signer
from bpx_tui.exchange.transport import (
    DEFAULT_TRANSPORT,
    TRANSPORTS,
    ConnectionLost,
    HandshakeFailed,
    TransportName,
    WsConnection,
    connect,
)
from bpx_tui.exchange.urls import is_loopback

__all__ = ["PRIVATE_PREFIX", "ConnectionState", "StreamClient"]

PRIVATE_PREFIX = "account."

# Module globals for the per-frame path: a global is one dict lookup, ``orjson.loads``
# two, and the path runs for every frame.
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
_monotonic = time.monotonic

_log = logging.getLogger(__name__)


class ConnectionState(enum.Enum):
    """Health of the stream connection as shown to the user."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DOWN = "down"


OnMessage = Callable[[str, dict[str, Any]], None]
OnState = Callable[[ConnectionState, str | None], None]
OnError = Callable[[int | str | None, str], None]
OnPrivateRefused = Callable[[tuple[str, ...], int | str | None, str], None]
OnPrivateAccepted = Callable[[tuple[str, ...]], None]

INVALID_STREAM = 4006


def _describe(exc: BaseException) -> str:
    """A short, secret-free sentence for the status line and the log."""
    if isinstance(exc, TimeoutError):
        return "timed out connecting"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError | ConnectionLost | HandshakeFailed):
        return text
    return f"{type(exc).__name__}: {text}"


def _sparse(count: int) -> bool:
    """Log the first few of a repeated problem, then one in a thousand.

    A broken callback or a junk-spewing server would otherwise write a traceback per
    frame, which at market-data rates costs more than the data itself.
    """
    return count <= 10 or count % 1000 == 0


class StreamClient:
    """Backpack WebSocket client: one connection, many subscriptions, self-healing."""

    def __init__(
        self,
        url: str,
        *,
        signer: Signer | None = None,
        on_message: OnMessage,
        on_state: OnState,
        on_error: OnError | None = None,
        on_private_refused: OnPrivateRefused | None = None,
        on_private_accepted: OnPrivateAccepted | None = None,
        routes: Mapping[str, OnMessage] | None = None,
        private_settle: float = 2.0,
        private_retry: float = 30.0,
        silence_timeout: float = 30.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        connect_timeout: float = 10.0,
        close_timeout: float = 2.0,
        backoff_base: float = 0.25,
        backoff_cap: float = 10.0,
        max_failures_before_down: int = 5,
        healthy_after: float = 10.0,
        logger: logging.Logger | None = None,
        transport: TransportName = DEFAULT_TRANSPORT,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"stream URL must start with ws:// or wss://, got {url!r}")
        for name, value in (
            ("silence_timeout", silence_timeout),
            ("connect_timeout", connect_timeout),
            ("backoff_cap", backoff_cap),
            ("private_settle", private_settle),
            ("private_retry", private_retry),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if backoff_base < 0 or close_timeout < 0 or healthy_after < 0:
            raise ValueError("backoff_base, close_timeout and healthy_after must be >= 0")
        if max_failures_before_down < 1:
            raise ValueError("max_failures_before_down must be at least 1")
        self.url = url
        self.transport: TransportName = transport
        self._signer = signer
        self._on_message = on_message
        # Frames of these streams skip ``on_message``: one Python call less per frame
        # for the streams that are most of the traffic (the client's depth routes).
        # A live mapping, so routes added later count.
        self._route = (routes if routes is not None else {}).get
        self._on_state = on_state
        self._on_error = on_error
        self._on_private_refused = on_private_refused
        self._on_private_accepted = on_private_accepted
        self._private_settle = private_settle
        self._private_retry = private_retry
        self._silence_timeout = silence_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._connect_timeout = connect_timeout
        self._close_timeout = close_timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_failures = max_failures_before_down
        self._healthy_after = healthy_after
        self._log = logger or _log
        # A proxy can never reach our loopback exchange; skip the environment's proxy.
        self._use_proxy = not is_loopback(url)

        # Ordered set of remembered subscriptions: re-sent in the order they were made.
        self._subscriptions: dict[str, None] = {}
        # The connection that carried the last signed SUBSCRIBE: an error frame on it
        # may be the private subscription's refusal.
        self._signed_on: WsConnection | None = None
        self._private_timer: asyncio.TimerHandle | None = None  # settle or retry
        self.private_refused: str | None = None
        """Why the private subscription was last refused; None once one is accepted."""
        self._ws: WsConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._first_connect: asyncio.Future[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._closing = False
        self._drop_reason: str | None = None  # set by the watchdog when it kills a socket
        self._last_failure: str | None = None
        self._connected_once = False
        self._alive_at = 0.0  # connect time or last pong: proof of life besides data
        self._state = ConnectionState.DOWN

        # Stats (read by the status bar and tests).
        self.reconnects = 0
        self.messages = 0
        self.errors = 0
        self.server_errors = 0
        self.last_message_at = 0.0

    # ----------------------------------------------------------------- public API

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def subscriptions(self) -> list[str]:
        """Streams that will be (re)subscribed on every connection, in order."""
        return list(self._subscriptions)

    async def start(self) -> None:
        """Connect and return once the first connection is open.

        Failed attempts are retried with backoff until ``connect_timeout`` runs out;
        then the client is shut down and :class:`TransportError` says why.
        """
        if self._task is not None:
            raise RuntimeError("StreamClient.start() called twice")
        self._closing = False
        self._connected_once = False  # a restart is a fresh session: CONNECTING, not RECONNECTING
        self._first_connect = asyncio.get_running_loop().create_future()
        self._set_state(ConnectionState.CONNECTING, None)
        self._task = asyncio.create_task(self._run(), name=f"bpx-stream {self.url}")
        first, task = self._first_connect, self._task
        try:
            await asyncio.wait(
                {first, task},
                timeout=self._connect_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except BaseException:
            await self._shutdown("closed")
            raise
        if first.done() and not first.cancelled():
            return
        if self._closing:  # close() ran meanwhile and has already reported DOWN
            raise TransportError(f"stream to {self.url} closed while connecting")
        failure = task.exception() if task.done() and not task.cancelled() else None
        reason = _describe(failure) if failure else (self._last_failure or "no answer")
        await self._shutdown(f"could not connect: {reason}")
        raise TransportError(
            f"could not connect to {self.url} within {self._connect_timeout:g} s: {reason}"
        )

    async def close(self) -> None:
        """Stop reconnecting, close the socket cleanly and report DOWN ("closed")."""
        await self._shutdown("closed")

    def subscribe(self, streams: Iterable[str]) -> None:
        """Remember streams and subscribe now if connected (no ack is awaited: none is
        documented).

        Private streams (``account.*``) need a signer; they go in their own frame so a
        bad signature cannot take public market data down with it.
        """
        new = [s for s in dict.fromkeys(self._check_names(streams)) if s not in self._subscriptions]
        if self._signer is None and any(s.startswith(PRIVATE_PREFIX) for s in new):
            raise ValueError("private streams (account.*) need API keys")
        for stream in new:
            self._subscriptions[stream] = None
        if new and self._ws is not None:
            self._send_later(self._ws, self._subscribe_frames(new, self._ws))

    def unsubscribe(self, streams: Iterable[str]) -> None:
        """Forget streams and unsubscribe now if connected."""
        gone = [s for s in dict.fromkeys(self._check_names(streams)) if s in self._subscriptions]
        for stream in gone:
            del self._subscriptions[stream]
        if gone and self._ws is not None:
            self._send_later(self._ws, [self._frame("UNSUBSCRIBE", gone)])

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _check_names(streams: Iterable[str]) -> list[str]:
        if isinstance(streams, str):
            raise TypeError("pass a list of stream names, not a single string")
        names = list(streams)
        for name in names:
            if not isinstance(name, str) or not name or name != name.strip():
                raise ValueError(f"invalid stream name {name!r}")
        return names

    def _frame(self, method: str, streams: list[str], signed: bool = False) -> bytes:
        # No "id": the reference clients send none, and nothing here could use one
        # (Backpack acknowledges no subscribe and its error frames' id is null).
        frame: dict[str, Any] = {"method": method, "params": streams}
        if signed:
            assert self._signer is not None  # subscribe() refuses private streams without one
            frame["signature"] = self._signer.ws_signature()
        return orjson.dumps(frame)

    def _subscribe_frames(self, streams: list[str], ws: WsConnection) -> list[bytes]:
        public = [s for s in streams if not s.startswith(PRIVATE_PREFIX)]
        private = [s for s in streams if s.startswith(PRIVATE_PREFIX)]
        frames = []
        if public:
            frames.append(self._frame("SUBSCRIBE", public))
        if private:
            frames.append(self._frame("SUBSCRIBE", private, signed=True))
            self._private_sent(ws)
        return frames

    def _private_streams(self) -> tuple[str, ...]:
        return tuple(s for s in self._subscriptions if s.startswith(PRIVATE_PREFIX))

    def _private_sent(self, ws: WsConnection) -> None:
        """Start the settle clock: no refusal within it means the subscription holds."""
        self._signed_on = ws
        self._cancel_private_timer()
        self._private_timer = asyncio.get_running_loop().call_later(
            self._private_settle, self._private_settled, ws
        )

    def _cancel_private_timer(self) -> None:
        if self._private_timer is not None:
            self._private_timer.cancel()
            self._private_timer = None

    def _private_settled(self, ws: WsConnection) -> None:
        self._private_timer = None
        if ws is not self._ws or self.private_refused is None:
            return
        self.private_refused = None
        streams = self._private_streams()
        self._log.info("stream: private subscription accepted: %s", ", ".join(streams))
        if self._on_private_accepted is not None:
            try:
                self._on_private_accepted(streams)
            except Exception:
                self._log.exception("stream: on_private_accepted callback failed")

    def _retry_private(self, ws: WsConnection) -> None:
        self._private_timer = None
        private = list(self._private_streams())
        if ws is not self._ws or not private or self._closing:
            return
        self._send_later(ws, [self._frame("SUBSCRIBE", private, signed=True)])
        self._private_sent(ws)

    def _refused_private(self, code: int | str | None, message: str) -> bool:
        """Whether an error frame is the private subscription's refusal (see the module
        docstring for why it is inferred); if so, report it and arm the retry."""
        ws = self._ws
        if ws is None or self._signed_on is not ws or code == INVALID_STREAM:
            return False
        if "invalid stream" in message.lower():
            return False
        self.private_refused = message or f"error {code}"
        self._cancel_private_timer()
        self._private_timer = asyncio.get_running_loop().call_later(
            self._private_retry, self._retry_private, ws
        )
        if self._on_private_refused is not None:
            try:
                self._on_private_refused(self._private_streams(), code, self.private_refused)
            except Exception:
                self._log.exception("stream: on_private_refused callback failed")
        return True

    def _send_later(self, ws: WsConnection, frames: list[bytes]) -> None:
        # Tasks start in creation order and both transports write a whole frame before
        # their first await, so frames from successive calls leave in call order.
        task = asyncio.get_running_loop().create_task(self._send(ws, frames))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, ws: WsConnection, frames: list[bytes]) -> None:
        try:
            for frame in frames:
                await ws.send(frame)
        except ConnectionLost:
            pass  # the subscriptions are remembered; the reconnect re-sends them
        except Exception:
            self._log.exception("stream: sending a subscription frame failed")

    def _set_state(self, state: ConnectionState, reason: str | None) -> None:
        self._state = state
        try:
            self._on_state(state, reason)
        except Exception:
            self._log.exception("stream: on_state callback failed")

    def _backoff(self, failures: int) -> float:
        """Full jitter: spreads a crowd of reconnecting clients over the whole window."""
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** min(failures - 1, 30))
        return random.uniform(0.0, ceiling)

    async def _run(self) -> None:
        """Connect, serve, and reconnect until closed."""
        failures = 0
        while not self._closing:
            ws: WsConnection | None = None
            started = time.monotonic()
            self._drop_reason = None
            try:
                ws = await connect(
                    self.url,
                    transport=self.transport,
                    open_timeout=self._connect_timeout,
                    ping_interval=self._ping_interval,
                    ping_timeout=self._ping_timeout,
                    close_timeout=self._close_timeout,
                    use_proxy=self._use_proxy,
                )
                started = time.monotonic()
                reason = await self._serve(ws)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = self._drop_reason or _describe(exc)
            finally:
                if ws is not None:
                    await self._dispose(ws)
            if self._closing:
                break
            self._last_failure = reason
            if ws is not None and time.monotonic() - started >= self._healthy_after:
                failures = 0
            failures += 1
            if failures >= self._max_failures:
                state = ConnectionState.DOWN
            elif self._connected_once:
                state = ConnectionState.RECONNECTING
            else:
                state = ConnectionState.CONNECTING
            if _sparse(failures):
                self._log.warning("stream: %s (failure %d), retrying", reason, failures)
            self._set_state(state, f"{reason}; retry {failures}")
            await asyncio.sleep(self._backoff(failures))

    async def _serve(self, ws: WsConnection) -> str:
        """Resubscribe, report CONNECTED, then read until the connection ends."""
        self._alive_at = time.monotonic()
        # Publish the socket and snapshot the subscriptions in one synchronous step so a
        # subscribe() racing with this resubscription is neither lost nor sent twice.
        self._ws = ws
        frames = self._subscribe_frames(list(self._subscriptions), ws)
        for frame in frames:
            await ws.send(frame)
        if self._connected_once:
            self.reconnects += 1
        self._connected_once = True
        self._set_state(ConnectionState.CONNECTED, None)
        if self._first_connect is not None and not self._first_connect.done():
            self._first_connect.set_result(None)
        watchdog = asyncio.get_running_loop().create_task(self._watch(ws))
        try:
            await self._read(ws)
        except ConnectionLost as exc:
            return self._drop_reason or _describe(exc)
        finally:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)
        return "connection ended"  # pragma: no cover - _read only leaves by raising

    async def _read(self, ws: WsConnection) -> None:
        """The hot loop is the transport's: it calls :meth:`_on_frame` for every frame."""
        await ws.read(self._on_frame)

    def _on_frame(self, raw: bytes) -> None:
        """One decode, one dispatch, two stores per frame (and it never raises)."""
        self.last_message_at = _monotonic()
        self.messages += 1
        try:
            frame = _loads(raw)
        except _JSONDecodeError:
            self._odd_frame(raw, None)
            return
        try:
            stream = frame["stream"]
            data = frame["data"]
        except (KeyError, TypeError):  # an ack, an error frame, or junk
            self._odd_frame(raw, frame)
            return
        if stream.__class__ is not str or data.__class__ is not dict:
            self._odd_frame(raw, frame)
            return
        try:
            (self._route(stream) or self._on_message)(stream, data)
        except Exception:
            self.errors += 1
            if _sparse(self.errors):
                self._log.exception(
                    "stream: on_message failed for %s (%d errors so far)", stream, self.errors
                )

    def _odd_frame(self, raw: bytes, frame: object) -> None:
        """Error frames go to on_error, acks are ignored, anything else is counted.

        ``frame`` is ``raw`` already decoded (None when it was not JSON): a frame is
        decoded once, whatever it turns out to be.
        """
        if isinstance(frame, dict):
            error = frame.get("error")
            if isinstance(error, dict):
                self._server_error(frame.get("id"), error)
                return
            if "id" in frame and "result" in frame and "stream" not in frame:
                return  # a subscribe ack: undocumented but harmless
        self.errors += 1
        if _sparse(self.errors):
            self._log.warning(
                "stream: ignored a malformed frame (%d so far): %r", self.errors, raw[:200]
            )

    def _server_error(self, frame_id: object, error: dict[str, Any]) -> None:
        self.server_errors += 1
        code = error.get("code")
        message = str(error.get("message") or "")
        if not isinstance(code, int | str) or isinstance(code, bool):
            code = None
        if _sparse(self.server_errors):
            self._log.warning("stream: server error %s on request %s: %s", code, frame_id, message)
        if self._refused_private(code, message):
            return
        if self._on_error is not None:
            try:
                self._on_error(code, message)
            except Exception:
                self._log.exception("stream: on_error callback failed")

    async def _watch(self, ws: WsConnection) -> None:
        """Drop the connection when nothing (not even a pong) arrived for too long."""
        timeout = self._silence_timeout
        probe: asyncio.Future[float] | None = None
        while True:
            await asyncio.sleep(timeout / 4)
            quiet = time.monotonic() - max(self.last_message_at, self._alive_at)
            if quiet >= timeout:
                self._drop_reason = f"no data or pong for {quiet:.1f} s"
                self._log.warning("stream: %s, dropping the connection", self._drop_reason)
                ws.abort()
                return
            if quiet >= timeout / 2 and (probe is None or probe.done()):
                try:
                    probe = await ws.ping()
                except ConnectionLost:
                    return
                probe.add_done_callback(self._pong_arrived)

    def _pong_arrived(self, probe: asyncio.Future[float]) -> None:
        # Reading the exception also keeps asyncio from warning it was never retrieved.
        if not probe.cancelled() and probe.exception() is None:
            self._alive_at = time.monotonic()

    async def _dispose(self, ws: WsConnection) -> None:
        if self._ws is ws:
            self._ws = None
        if self._signed_on is ws:
            # The next connection re-sends (and re-settles) the private subscription.
            self._signed_on = None
            self._cancel_private_timer()
        try:
            await ws.close()  # a Close handshake, bounded by close_timeout
        except Exception:
            ws.abort()
        except asyncio.CancelledError:
            ws.abort()  # never leave a socket open behind a cancelled close
            raise

    async def _shutdown(self, reason: str) -> None:
        if self._task is None and self._first_connect is None:
            return
        self._closing = True
        self._cancel_private_timer()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is not None:
                self._log.error("stream: the connection loop failed", exc_info=task.exception())
        for send in list(self._sends):
            send.cancel()
        if self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)
        first, self._first_connect = self._first_connect, None
        if first is not None and not first.done():
            first.cancel()
        self._set_state(ConnectionState.DOWN, reason)
