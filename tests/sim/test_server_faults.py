"""Fault injection: every failure a client must survive, produced on demand over real sockets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
import pytest

from bpx_tui.sim.server import SimServer
from tests.sim.conftest import Api, fake_server

ORDER = {
    "symbol": "BTC_USDC_PERP",
    "side": "Bid",
    "orderType": "Limit",
    "price": "90000",
    "quantity": "0.001",
}


async def _frames(
    ws: aiohttp.ClientWebSocketResponse, n: int, timeout: float = 5.0
) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        msg = await ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        out.append(orjson.loads(msg.data))
    return out


async def _subscribe(ws: aiohttp.ClientWebSocketResponse, sim: SimServer, *streams: str) -> None:
    await ws.send_str(orjson.dumps({"method": "SUBSCRIBE", "params": list(streams)}).decode())
    for _ in range(100):
        if all(sim.hub.subscribers(s) for s in streams):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("subscription never registered")


async def test_throttle_answers_429_with_retry_after_then_recovers(
    fake_sim: SimServer, fake_api: Api
) -> None:
    fake_sim.throttle(2, path="/api/v1/markets", retry_after=3)
    for _ in range(2):
        status, body, headers = await fake_api.call("GET", "/api/v1/markets")
        assert status == 429
        assert body == {"code": "TOO_MANY_REQUESTS", "message": "Too many requests"}
        assert headers["Retry-After"] == "3"
    status, _, _ = await fake_api.call("GET", "/api/v1/status")
    assert status == 200
    status, body, _ = await fake_api.call("GET", "/api/v1/markets")
    assert status == 200 and isinstance(body, list)


async def test_throttle_without_path_hits_any_route(fake_sim: SimServer, fake_api: Api) -> None:
    fake_sim.throttle(1)
    assert (await fake_api.call("GET", "/api/v1/ping"))[0] == 429
    assert (await fake_api.call("GET", "/api/v1/ping"))[1] == "pong"


async def test_order_5xx_after_the_engine_accepted_it(fake_sim: SimServer, fake_api: Api) -> None:
    fake_sim.fail_next_order("error", status=503)
    status, body, _ = await fake_api.call("POST", "/api/v1/order", body={**ORDER, "clientId": 77})
    assert status == 503 and body["code"]
    # the order exists although the client saw a failure: it must reconcile by clientId
    found = await fake_api.ok(
        "GET", "/api/v1/order", params={"symbol": "BTC_USDC_PERP", "clientId": 77}
    )
    assert found["clientId"] == 77
    # the fault is one-shot
    assert (await fake_api.call("POST", "/api/v1/order", body=ORDER))[0] == 200


async def test_order_fault_waits_for_an_accepted_order(fake_sim: SimServer, fake_api: Api) -> None:
    fake_sim.fail_next_order("error", status=500)
    status, body, _ = await fake_api.call("POST", "/api/v1/order", body={**ORDER, "symbol": "NOPE"})
    assert status == 400 and body["code"] == "INVALID_MARKET"
    status, body, _ = await fake_api.call("POST", "/api/v1/order", body=ORDER)
    assert status == 500 and body["code"] == "SERVER_ERROR"


async def test_order_hang_times_out_the_client_but_the_order_rests(
    fake_sim: SimServer, fake_api: Api
) -> None:
    fake_sim.fail_next_order("hang", hang_seconds=30)
    with pytest.raises(asyncio.TimeoutError):
        await fake_api.call("POST", "/api/v1/order", body={**ORDER, "clientId": 9}, timeout=0.3)
    found = await fake_api.ok(
        "GET", "/api/v1/order", params={"symbol": "BTC_USDC_PERP", "clientId": 9}
    )
    assert found["clientId"] == 9


async def test_rest_latency_delays_answers(fake_sim: SimServer, fake_api: Api) -> None:
    fake_sim.set_latency(rest=0.3)
    with pytest.raises(asyncio.TimeoutError):
        await fake_api.call("GET", "/api/v1/ping", timeout=0.1)
    fake_sim.set_latency(rest=0)
    assert (await fake_api.call("GET", "/api/v1/ping", timeout=2))[1] == "pong"


async def test_depth_gap_skips_update_ids_on_the_wire(
    fake_sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(fake_sim.ws_url) as ws:
        await _subscribe(ws, fake_sim, "depth.BTC_USDC_PERP")
        fake_sim.step(2)
        before = [f["data"] for f in await _frames(ws, 2)]
        assert before[1]["U"] == before[0]["u"] + 1
        fake_sim.skip_depth("BTC_USDC_PERP", 3)  # each fake message spans 2 ids: 2 are dropped
        fake_sim.step(3)
        (after,) = [f["data"] for f in await _frames(ws, 1)]
        assert after["U"] == before[1]["u"] + 1 + 4
        fake_sim.step(1)
        (next_,) = [f["data"] for f in await _frames(ws, 1)]
        assert next_["U"] == after["u"] + 1


async def test_drop_connections_disconnects_every_client(
    fake_sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(fake_sim.ws_url) as a, http.ws_connect(fake_sim.ws_url + "/ws") as b:
        await _subscribe(a, fake_sim, "depth.BTC_USDC_PERP")
        for _ in range(100):
            if len(fake_sim.hub.connections) == 2:
                break
            await asyncio.sleep(0.01)
        assert await fake_sim.drop_connections() == 2
        for ws in (a, b):
            msg = await ws.receive(timeout=5)
            assert msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )
    assert fake_sim.hub.subscribers("depth.BTC_USDC_PERP") == 0


async def test_graceful_drop_sends_close_1001(
    fake_sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(fake_sim.ws_url) as ws:
        for _ in range(100):
            if fake_sim.hub.connections:
                break
            await asyncio.sleep(0.01)
        assert await fake_sim.drop_connections(abrupt=False) == 1
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1001


async def test_silence_stops_data_and_pings_then_resumes(http: aiohttp.ClientSession) -> None:
    server = fake_server(ping_interval=0.1, pong_timeout=5)
    await server.start()
    try:
        async with http.ws_connect(server.ws_url, autoping=False) as ws:
            await _subscribe(ws, server, "depth.BTC_USDC_PERP")
            msg = await ws.receive(timeout=2)
            assert msg.type == aiohttp.WSMsgType.PING  # server keepalive arrives
            await ws.pong(msg.data)
            server.go_silent(0.5)
            server.step(3)  # emitted while silent: lost, like a stalled link
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive(timeout=0.3)
            await asyncio.sleep(0.3)
            server.step(1)
            seen_data = False
            deadline = time.monotonic() + 3
            while not seen_data and time.monotonic() < deadline:
                msg = await ws.receive(timeout=3)
                if msg.type == aiohttp.WSMsgType.PING:
                    await ws.pong(msg.data)
                else:
                    seen_data = orjson.loads(msg.data)["stream"] == "depth.BTC_USDC_PERP"
            assert seen_data
    finally:
        await server.stop()


async def test_no_pong_closes_the_connection(http: aiohttp.ClientSession) -> None:
    server = fake_server(ping_interval=0.05, pong_timeout=0.2)
    await server.start()
    try:
        async with http.ws_connect(server.ws_url, autoping=False) as ws:
            deadline = time.monotonic() + 5
            closed = False
            while time.monotonic() < deadline and not closed:
                msg = await ws.receive(timeout=5)
                closed = msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert closed
    finally:
        await server.stop()


async def test_ws_latency_delays_messages(fake_sim: SimServer, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(fake_sim.ws_url) as ws:
        await _subscribe(ws, fake_sim, "depth.BTC_USDC_PERP")
        fake_sim.set_latency(ws=0.4)
        fake_sim.step(1)
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.1)
        assert (await _frames(ws, 1, timeout=3))[0]["stream"] == "depth.BTC_USDC_PERP"


async def test_slow_subscriber_is_dropped_without_blocking(http: aiohttp.ClientSession) -> None:
    server = fake_server(max_ws_queue=50)
    await server.start()
    try:
        async with http.ws_connect(server.ws_url) as ws:
            await _subscribe(ws, server, "depth.BTC_USDC_PERP")
            server.step(500)  # synchronous burst: the writer gets no chance to drain
            assert server.hub.dropped_slow == 1
            assert not server.hub.connections
            msg = await ws.receive(timeout=5)
            while msg.type == aiohttp.WSMsgType.TEXT:
                msg = await ws.receive(timeout=5)
            assert msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )
    finally:
        await server.stop()


async def test_throttle_does_not_hit_the_websocket_handshake(
    fake_sim: SimServer, fake_api: Api, http: aiohttp.ClientSession
) -> None:
    fake_sim.throttle(1)
    async with http.ws_connect(fake_sim.ws_url) as ws:
        assert not ws.closed
    assert (await fake_api.call("GET", "/api/v1/ping"))[0] == 429


async def test_unencodable_event_is_dropped_not_raised_into_the_engine(
    fake_sim: SimServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async with http.ws_connect(fake_sim.ws_url) as ws:
        await _subscribe(ws, fake_sim, "depth.BTC_USDC_PERP")
        fake_sim.hub.publish("depth.BTC_USDC_PERP", {"s": object()}, None)  # must not raise
        assert "cannot publish" in caplog.text
        fake_sim.step(1)
        (frame,) = await _frames(ws, 1)
        assert frame["data"]["e"] == "depth"


async def test_engine_failure_during_subscribe_answers_an_error_frame(
    fake_sim: SimServer, http: aiohttp.ClientSession
) -> None:
    from bpx_tui.exchange.signing import Signer

    def broken(account_id: int, symbol: str | None) -> list[dict[str, Any]]:
        raise RuntimeError("engine bug")

    fake_sim.engine.position_snapshot = broken  # type: ignore[method-assign]
    signer = Signer(fake_sim.demo.api_secret, clock=fake_sim.clock.now_ms)
    async with http.ws_connect(fake_sim.ws_url) as ws:
        frame = {
            "method": "SUBSCRIBE",
            "params": ["account.positionUpdate"],
            "signature": signer.ws_signature(),
        }
        await ws.send_str(orjson.dumps(frame).decode())
        (answer,) = await _frames(ws, 1)
        assert answer["error"]["message"] == "Internal error"
        await _subscribe(ws, fake_sim, "depth.BTC_USDC_PERP")  # the connection still works
        fake_sim.step(1)
        assert (await _frames(ws, 1))[0]["stream"] == "depth.BTC_USDC_PERP"
