"""``bpx-tui sim``: the local exchange as a standalone server.

The first line on stdout is one JSON object with the URLs and the demo account's key
pair, flushed at once, so a test harness or a bot can start the server as a
subprocess and read where to connect without parsing logs (logs go to stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shlex
import signal
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bpx_tui.choices import LOG_LEVELS, one_of
from bpx_tui.exchange.signing import decode_secret
from bpx_tui.exchange.urls import is_loopback_host
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from bpx_tui.sim.wire.auth import AuthPolicy

log = logging.getLogger("bpx_tui.sim.cli")


def build_parser(prog: str = "bpx-tui sim") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the local Backpack-compatible exchange (REST + WebSocket on one port).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default loopback)")
    parser.add_argument(
        "--env",
        action="store_true",
        help="print the first line as shell exports (BPX_BASE_URL, BPX_WS_URL, BPX_API_KEY, "
        "BPX_API_SECRET) instead of JSON, for `. file` before starting bpx-tui",
    )
    parser.add_argument("--port", type=int, default=0, help="listen port; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic market")
    parser.add_argument(
        "--rate", type=float, default=100.0, help="market messages per second (0 = frozen)"
    )
    parser.add_argument(
        "--market-share",
        type=float,
        default=0.8,
        help="max fraction of the event loop the synthetic market may use",
    )
    parser.add_argument(
        "--secret", help="base64 ED25519 secret of the demo account (default: a fresh one)"
    )
    parser.add_argument(
        "--collateral",
        type=usdc,
        default=SimConfig.starting_usdc,
        metavar="AMOUNT",
        help="USDC the demo account starts with (default %(default)s)",
    )
    parser.add_argument(
        "--funding-speedup", type=float, default=1.0, help="3600 = an hourly interval per second"
    )
    parser.add_argument(
        "--ts-strings", action="store_true", help="send WS E/T as JSON strings (seen on Backpack)"
    )
    parser.add_argument("--allow-remote", action="store_true", help="permit a non-loopback --host")
    parser.add_argument("--ping-interval", type=float, default=60.0, help="WS ping period (s)")
    parser.add_argument("--pong-timeout", type=float, default=120.0, help="close without pong (s)")
    parser.add_argument(
        "--future-skew-ms", type=int, default=5000, help="accepted future X-Timestamp skew"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=one_of(LOG_LEVELS),
        help=f"stderr log level: {', '.join(LOG_LEVELS)}",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--rest-latency", type=float, default=0.0, help="delay per REST answer")
    faults.add_argument("--ws-latency", type=float, default=0.0, help="delay per WS message")
    faults.add_argument("--throttle", type=int, default=0, help="answer the first N calls 429")
    faults.add_argument("--throttle-path", help="only calls under this path are throttled")
    faults.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of a 429")
    faults.add_argument(
        "--fail-next-order",
        type=one_of(("error", "hang")),
        metavar="{error,hang}",
        help="the first accepted order answers 5xx (error) or never answers (hang)",
    )
    faults.add_argument("--order-fault-status", type=int, default=503, help="status for error")
    faults.add_argument("--drop-every", type=float, default=0.0, help="drop all WS every S s")
    faults.add_argument("--gap-every", type=float, default=0.0, help="depth gap every S s")
    faults.add_argument("--gap-size", type=int, default=5, help="update ids skipped per gap")
    faults.add_argument("--silent-every", type=float, default=0.0, help="stall WS every S s")
    faults.add_argument("--silent-for", type=float, default=5.0, help="length of a stall (s)")
    faults.add_argument(
        "--refuse-private",
        type=int,
        default=0,
        metavar="N",
        help="answer the first N private (account.*) subscriptions with an error frame",
    )
    return parser


def usdc(text: str) -> Decimal:
    """A positive USDC amount; argparse turns the ValueError into a usage error."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValueError(text) from None
    if not value.is_finite() or value <= 0:
        raise ValueError(text)
    return value


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not is_loopback_host(args.host) and not args.allow_remote:
        parser.error(
            f"refusing to listen on non-loopback host {args.host!r} without --allow-remote"
        )
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    if args.rate < 0:
        parser.error("--rate must be >= 0")
    if not 0 < args.market_share <= 1:
        parser.error("--market-share must be in (0, 1]")
    if args.funding_speedup <= 0:
        parser.error("--funding-speedup must be > 0")
    if args.refuse_private < 0:
        parser.error("--refuse-private must be >= 0")
    if args.secret is not None:
        try:
            decode_secret(args.secret)
        except ValueError as exc:
            parser.error(f"--secret: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    _validate(parser, args)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 0


def server_from_args(args: argparse.Namespace) -> SimServer:
    config = SimConfig(
        seed=args.seed,
        funding_speedup=args.funding_speedup,
        ts_as_strings=args.ts_strings,
        starting_usdc=args.collateral,
    )
    server = SimServer(
        config,
        rate=args.rate,
        market_share=args.market_share,
        secret=args.secret,
        ping_interval=args.ping_interval,
        pong_timeout=args.pong_timeout,
        auth_policy=AuthPolicy(future_skew_ms=args.future_skew_ms),
    )
    server.set_latency(rest=args.rest_latency, ws=args.ws_latency)
    if args.throttle:
        server.throttle(args.throttle, args.throttle_path, args.retry_after)
    if args.refuse_private:
        server.refuse_private(args.refuse_private)
    if args.fail_next_order:
        server.fail_next_order(args.fail_next_order, status=args.order_fault_status)
    return server


async def serve(args: argparse.Namespace) -> int:
    server = server_from_args(args)
    await server.start(args.host, args.port)
    sys.stdout.write(first_line(server.connection_info(), as_env=args.env) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    # Manual fault switches for poking a running client: USR1 drops every WebSocket,
    # USR2 puts a depth gap on every symbol.
    background: set[asyncio.Task[Any]] = set()

    def drop() -> None:
        task = asyncio.create_task(server.drop_connections())
        background.add(task)
        task.add_done_callback(background.discard)

    for sig, action in ((signal.SIGUSR1, drop), (signal.SIGUSR2, lambda: gap(server, args))):
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            loop.add_signal_handler(sig, action)
    chaos = [asyncio.create_task(task) for task in chaos_tasks(server, args)]
    log.info("serving %s; Ctrl-C to stop", server.rest_url)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        for task in chaos:
            task.cancel()
        await asyncio.gather(*chaos, return_exceptions=True)
        await server.stop()
    return 0


def first_line(info: dict[str, str], *, as_env: bool) -> str:
    """The line a client reads to connect: JSON, or exports the console reads at start."""
    if not as_env:
        return json.dumps(info)
    names = {
        "BPX_BASE_URL": info["rest"],
        "BPX_WS_URL": info["ws"],
        "BPX_API_KEY": info["api_key"],
        "BPX_API_SECRET": info["api_secret"],
    }
    return "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in names.items())


def gap(server: SimServer, args: argparse.Namespace) -> None:
    for symbol in server.engine.symbols:
        server.skip_depth(symbol, args.gap_size)
    log.info("fault: depth gap of %d ids on every symbol", args.gap_size)


def chaos_tasks(server: SimServer, args: argparse.Namespace) -> list[Any]:
    """Periodic faults for manual testing of a client against a misbehaving exchange."""

    async def every(period: float, action: Any) -> None:
        while True:
            await asyncio.sleep(period)
            result = action()
            if asyncio.iscoroutine(result):
                await result

    def stall() -> None:
        server.go_silent(args.silent_for)
        log.info("fault: websocket silent for %.1fs", args.silent_for)

    tasks = []
    if args.drop_every > 0:
        tasks.append(every(args.drop_every, server.drop_connections))
    if args.gap_every > 0:
        tasks.append(every(args.gap_every, lambda: gap(server, args)))
    if args.silent_every > 0:
        tasks.append(every(args.silent_every, stall))
    return tasks


if __name__ == "__main__":
    raise SystemExit(main())
