"""``bpx-tui sim`` as a subprocess: JSON first line, serves, clean exit on signals."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bpx_tui.exchange.signing import api_key_of
from bpx_tui.exchange.urls import is_loopback_host
from bpx_tui.sim.cli import build_parser, chaos_tasks, main, server_from_args

ROOT = Path(__file__).resolve().parents[2]
SECRET = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bpx_tui.sim.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _first_line(proc: subprocess.Popen[bytes], timeout: float) -> dict[str, str]:
    assert proc.stdout is not None
    loop = asyncio.get_running_loop()
    line = await asyncio.wait_for(loop.run_in_executor(None, proc.stdout.readline), timeout)
    info: dict[str, str] = json.loads(line)
    return info


async def _stop(proc: subprocess.Popen[bytes], sig: int) -> int:
    proc.send_signal(sig)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: proc.wait(timeout=15))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_cli_prints_connection_json_first_and_exits_cleanly(sig: int) -> None:
    started = time.monotonic()
    proc = _spawn("--port", "0", "--rate", "5", "--seed", "3")
    try:
        info = await _first_line(proc, timeout=10)
        startup = time.monotonic() - started
        assert set(info) == {"rest", "ws", "api_key", "api_secret"}
        assert info["rest"].startswith("http://127.0.0.1:") and info["ws"].startswith(
            "ws://127.0.0.1:"
        )
        assert api_key_of(info["api_secret"]) == info["api_key"]
        async with aiohttp.ClientSession() as http:
            async with http.get(info["rest"] + "/api/v1/ping") as resp:
                assert await resp.text() == "pong"
            async with http.ws_connect(info["ws"]) as ws:
                await ws.send_json({"method": "SUBSCRIBE", "params": ["depth.BTC_USDC_PERP"]})
                msg = await ws.receive(timeout=10)
                assert json.loads(msg.data)["stream"] == "depth.BTC_USDC_PERP"
        assert await _stop(proc, sig) == 0
        assert proc.stderr is not None
        assert b"listening" in proc.stderr.read()
        print(f"startup {startup:.2f}s")  # informative only: timings are never asserted
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_cli_secret_selects_the_demo_account() -> None:
    proc = _spawn("--secret", SECRET, "--rate", "0")
    try:
        info = await _first_line(proc, timeout=10)
        assert info["api_secret"] == SECRET and info["api_key"] == api_key_of(SECRET)
        async with aiohttp.ClientSession() as http, http.ws_connect(info["ws"]) as ws:
            await asyncio.sleep(0.2)
            proc.send_signal(signal.SIGUSR1)  # manual fault switch: drop every WebSocket
            msg = await ws.receive(timeout=10)
            assert msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )
        assert await _stop(proc, signal.SIGINT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_cli_env_prints_exports_a_shell_can_source(tmp_path: Path) -> None:
    """``--env``: the first stdout line is ``export BPX_...``; a shell sourcing it gets the
    same URLs and keys the JSON line carries, and the logs stay on stderr."""
    proc = _spawn("--env", "--secret", SECRET, "--rate", "0")
    try:
        assert proc.stdout is not None
        loop = asyncio.get_running_loop()
        line = await asyncio.wait_for(loop.run_in_executor(None, proc.stdout.readline), 10)
        assert line.startswith(b"export BPX_BASE_URL=")
        env_file = tmp_path / "sim.env"
        env_file.write_bytes(line)
        shell = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            f'. "{env_file}"; echo "$BPX_BASE_URL $BPX_WS_URL $BPX_API_KEY"',
            stdout=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin"},
        )
        out, _ = await shell.communicate()
        shown = out.decode().split()
        assert shown[0].startswith("http://127.0.0.1:") and shown[1].startswith("ws://")
        assert shown[2] == api_key_of(SECRET)
        async with aiohttp.ClientSession() as http, http.get(shown[0] + "/api/v1/ping") as resp:
            assert await resp.text() == "pong"
        assert await _stop(proc, signal.SIGINT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_a_public_host_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bpx_tui.sim.cli", "--host", "0.0.0.0"],
        cwd=ROOT,
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert b"--allow-remote" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--host", "192.168.1.10"),
        ("--host", "example.com"),
        ("--secret", "not-base64"),
        ("--secret", "AAAA"),
        ("--rate", "-1"),
        ("--port", "70000"),
        ("--funding-speedup", "0"),
        ("--refuse-private", "-1"),
    ],
)
def test_cli_refuses_bad_arguments(
    args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "error" in captured.err


def test_loopback_detection() -> None:
    """The hosts the server listens on without ``--allow-remote``."""
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1")
    assert is_loopback_host("localhost") and is_loopback_host("127.0.0.2")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("example.com")


def test_fault_flags_arm_the_server() -> None:
    args = build_parser().parse_args(
        [
            "--rate",
            "0",
            "--rest-latency",
            "0.5",
            "--ws-latency",
            "0.25",
            "--throttle",
            "2",
            "--throttle-path",
            "/api/v1/depth",
            "--retry-after",
            "4",
            "--fail-next-order",
            "hang",
            "--future-skew-ms",
            "1234",
            "--ts-strings",
            "--funding-speedup",
            "3600",
            "--seed",
            "9",
            "--refuse-private",
            "2",
        ]
    )
    server = server_from_args(args)
    assert (server.faults.rest_latency, server.faults.ws_latency) == (0.5, 0.25)
    assert server.faults.take_throttle("/api/v1/markets") is None
    assert server.faults.take_throttle("/api/v1/depth") == 4
    fault = server.faults.take_order_fault()
    assert fault is not None and fault.mode == "hang"
    assert server.auth_policy.future_skew_ms == 1234
    assert server.config.ts_as_strings and server.config.funding_speedup == 3600
    assert server.config.seed == 9 and server.rate == 0
    assert [server.faults.take_private_refusal() for _ in range(3)] == [True, True, False]


async def test_periodic_chaos_drops_and_gaps() -> None:
    args = build_parser().parse_args(
        ["--rate", "0", "--drop-every", "0.05", "--gap-every", "0.05", "--gap-size", "3"]
    )
    server = server_from_args(args)
    await server.start()
    tasks = [asyncio.create_task(t) for t in chaos_tasks(server, args)]
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(server.ws_url) as ws:
            msg = await ws.receive(timeout=5)
            assert msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )
        assert server.faults._depth_skips and set(server.faults._depth_skips) <= set(
            server.engine.symbols
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.stop()
