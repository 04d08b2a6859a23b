"""WebSocket side of the local exchange over real loopback sockets (docs/PROTOCOL.md "WebSocket connection")."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from bpx_tui.exchange.signing import Signer
from bpx_tui.sim.server import SimServer
from tests.sim.conftest import Api

SYMBOL = "BTC_USDC_PERP"


async def _send(ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any]) -> None:
    await ws.send_str(orjson.dumps(frame).decode())


async def _next(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    frame: dict[str, Any] = orjson.loads(msg.data)
    return frame


async def _until(
    ws: aiohttp.ClientWebSocketResponse, pred: Any, timeout: float = 5.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await _next(ws, max(0.01, deadline - loop.time()))
        if pred(frame):
            return frame


async def _wait_subscribed(sim: SimServer, stream: str, account_id: int | None = None) -> None:
    for _ in range(200):
        if sim.hub.subscribers(stream, account_id):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{stream} never subscribed")


async def _quiet(ws: aiohttp.ClientWebSocketResponse, timeout: float = 0.2) -> bool:
    try:
        await ws.receive(timeout=timeout)
    except TimeoutError:
        return True
    return False


async def test_depth_stream_update_ids_are_consecutive_on_the_wire(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await _send(ws, {"method": "SUBSCRIBE", "params": [f"depth.{SYMBOL}"], "id": 1})
        await _wait_subscribed(sim, f"depth.{SYMBOL}")
        previous: int | None = None
        seen = 0
        sim.step(100)
        while seen < 40:
            try:
                frame = await _next(ws, timeout=0.5)
            except TimeoutError:
                sim.step(50)
                continue
            assert frame["stream"] == f"depth.{SYMBOL}"
            data = frame["data"]
            assert data["e"] == "depth" and data["s"] == SYMBOL
            assert isinstance(data["U"], int) and data["U"] <= data["u"]
            if previous is not None:
                assert data["U"] == previous + 1
            previous = data["u"]
            seen += 1
        # and the REST snapshot lives in the same sequence space
        async with http.get(sim.rest_url + "/api/v1/depth", params={"symbol": SYMBOL}) as resp:
            snapshot = await resp.json()
        assert previous is not None and int(snapshot["lastUpdateId"]) >= previous


async def test_several_streams_in_one_frame_and_unsubscribe(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    streams = [f"depth.{SYMBOL}", f"trade.{SYMBOL}", f"bookTicker.{SYMBOL}"]
    async with http.ws_connect(sim.ws_url) as ws:
        await _send(ws, {"method": "SUBSCRIBE", "params": streams})
        for stream in streams:
            await _wait_subscribed(sim, stream)
        sim.step(50)
        frame = await _next(ws)
        assert frame["stream"] in streams
        await _send(ws, {"method": "UNSUBSCRIBE", "params": streams, "id": 5})
        for _ in range(200):
            if not any(sim.hub.subscribers(s) for s in streams):
                break
            await asyncio.sleep(0.01)
        while not await _quiet(ws, 0.1):  # drain what was queued before the unsubscribe
            pass
        sim.step(50)
        assert await _quiet(ws)


@pytest.mark.parametrize(
    "stream",
    ["depth.NOPE_USDC", "bogus", "depth.", "kline.7m.BTC_USDC_PERP", "account.orderUpdate.NOPE"],
)
async def test_invalid_stream_gets_4006(
    sim: SimServer, http: aiohttp.ClientSession, stream: str
) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await _send(ws, {"method": "SUBSCRIBE", "params": [stream], "id": 42})
        assert await _next(ws) == {"id": 42, "error": {"code": 4006, "message": "Invalid stream"}}


async def test_invalid_stream_without_id_uses_null(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await _send(ws, {"method": "SUBSCRIBE", "params": ["nope"]})
        assert await _next(ws) == {"id": None, "error": {"code": 4006, "message": "Invalid stream"}}


async def test_malformed_frames_get_an_error_not_a_disconnect(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str("{not json")
        assert (await _next(ws))["error"]["code"] == 4000
        await _send(ws, {"method": "SUBSCRIBE", "params": "depth.BTC_USDC_PERP", "id": 3})
        assert (await _next(ws))["id"] == 3
        await _send(ws, {"method": "PING", "id": 4})
        assert (await _next(ws))["id"] == 4
        # still usable
        await _send(ws, {"method": "SUBSCRIBE", "params": ["nope"], "id": 6})
        assert (await _next(ws))["error"]["code"] == 4006


async def test_all_public_stream_kinds_are_accepted(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    streams = [
        f"bookTicker.{SYMBOL}",
        f"depth.{SYMBOL}",
        f"depth.200ms.{SYMBOL}",
        f"kline.1m.{SYMBOL}",
        f"markPrice.{SYMBOL}",
        f"ticker.{SYMBOL}",
        f"openInterest.{SYMBOL}",
        f"trade.{SYMBOL}",
        "liquidation",
    ]
    async with http.ws_connect(sim.ws_url) as ws:
        await _send(ws, {"method": "SUBSCRIBE", "params": streams, "id": 1})
        for stream in streams:
            await _wait_subscribed(sim, stream)
        sim.step(20)
        sim.advance()
        frame = await _next(ws)
        assert "error" not in frame and frame["stream"] in streams


def _signed_subscribe(
    sim: SimServer, streams: list[str], *, ts: int | None = None, secret: str | None = None
) -> dict[str, Any]:
    signer = Signer(secret or sim.demo.api_secret, clock=sim.clock.now_ms)
    return {"method": "SUBSCRIBE", "params": streams, "signature": signer.ws_signature(ts), "id": 9}


async def test_private_subscribe_needs_a_valid_signature(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    from bpx_tui.exchange.signing import generate_secret

    async with http.ws_connect(sim.ws_url) as ws:
        await _send(ws, {"method": "SUBSCRIBE", "params": ["account.orderUpdate"], "id": 1})
        assert (await _next(ws))["error"]["message"] == "Missing signature"
        expired = _signed_subscribe(sim, ["account.orderUpdate"], ts=sim.clock.now_ms() - 10_000)
        await _send(ws, expired)
        assert (await _next(ws))["error"]["message"] == "Request has expired"
        forged = _signed_subscribe(sim, ["account.orderUpdate"])
        forged["signature"][1] = _signed_subscribe(sim, ["x"], ts=1)["signature"][1]
        await _send(ws, forged)
        assert (await _next(ws))["error"]["message"] == "Invalid signature"
        stranger = _signed_subscribe(sim, ["account.orderUpdate"], secret=generate_secret())
        await _send(ws, stranger)
        assert (await _next(ws))["error"]["message"] == "Unknown API key"
        assert sim.hub.subscribers("account.orderUpdate", sim.demo.account_id) == 0


@pytest.mark.parametrize("request_id", [None, 9], ids=["no-id", "with-id"])
async def test_refuse_private_answers_the_next_private_subscriptions_with_an_error(
    sim: SimServer, http: aiohttp.ClientSession, request_id: int | None
) -> None:
    from bpx_tui.sim.wire.websocket import INVALID_SIGNATURE, PRIVATE_REFUSED_MESSAGE

    sim.refuse_private(1)
    frame = _signed_subscribe(sim, ["account.orderUpdate", f"depth.{SYMBOL}"])
    if request_id is None:
        del frame["id"]  # as the reference clients send it
    async with http.ws_connect(sim.ws_url) as ws:
        await _send(ws, frame)
        assert await _next(ws) == {
            "id": request_id,
            "error": {"code": INVALID_SIGNATURE, "message": PRIVATE_REFUSED_MESSAGE},
        }
        await _wait_subscribed(sim, f"depth.{SYMBOL}")  # public streams are unaffected
        assert sim.hub.subscribers("account.orderUpdate", sim.demo.account_id) == 0
        again = _signed_subscribe(sim, ["account.orderUpdate"])
        del again["id"]
        await _send(ws, again)  # the fault is spent: this one is accepted
        await _wait_subscribed(sim, "account.orderUpdate", sim.demo.account_id)


async def _mid(api: Api) -> float:
    depth = await api.ok("GET", "/api/v1/depth", params={"symbol": SYMBOL})
    return (float(depth["asks"][0][0]) + float(depth["bids"][-1][0])) / 2


async def test_private_streams_deliver_only_to_their_account(
    sim: SimServer, http: aiohttp.ClientSession, api: Api
) -> None:
    other = sim.create_account()
    async with http.ws_connect(sim.ws_url) as mine, http.ws_connect(sim.ws_url) as theirs:
        await _send(
            mine, _signed_subscribe(sim, ["account.orderUpdate", f"account.orderUpdate.{SYMBOL}"])
        )
        await _send(
            theirs, _signed_subscribe(sim, ["account.orderUpdate"], secret=other.api_secret)
        )
        await _wait_subscribed(sim, "account.orderUpdate", sim.demo.account_id)
        await _wait_subscribed(sim, "account.orderUpdate", other.account_id)
        price = f"{round(await _mid(api) * 0.95, 1)}"
        order = await api.ok(
            "POST",
            "/api/v1/order",
            body={
                "symbol": SYMBOL,
                "side": "Bid",
                "orderType": "Limit",
                "price": price,
                "quantity": "0.001",
                "clientId": 123,
            },
        )
        got = {}
        for _ in range(2):
            frame = await _until(mine, lambda f: f.get("data", {}).get("i") == order["id"])
            got[frame["stream"]] = frame["data"]
        assert set(got) == {"account.orderUpdate", f"account.orderUpdate.{SYMBOL}"}
        assert got["account.orderUpdate"]["e"] == "orderAccepted"
        assert got["account.orderUpdate"]["c"] == 123
        assert await _quiet(theirs)


async def test_position_snapshot_on_subscribe_has_no_event_type(
    sim: SimServer, http: aiohttp.ClientSession, api: Api
) -> None:
    await api.ok(
        "POST",
        "/api/v1/order",
        body={"symbol": SYMBOL, "side": "Bid", "orderType": "Market", "quantity": "0.01"},
    )
    async with http.ws_connect(sim.ws_url) as ws:
        await _send(
            ws, _signed_subscribe(sim, [f"depth.{SYMBOL}", f"account.positionUpdate.{SYMBOL}"])
        )
        frame = await _until(ws, lambda f: f.get("stream", "").startswith("account."))
        assert frame["stream"] == f"account.positionUpdate.{SYMBOL}"
        assert "e" not in frame["data"]
        assert frame["data"]["s"] == SYMBOL and frame["data"]["q"] == "0.01000"
        # a later trade on the position arrives as an update with an event type
        await api.ok(
            "POST",
            "/api/v1/order",
            body={"symbol": SYMBOL, "side": "Bid", "orderType": "Market", "quantity": "0.01"},
        )
        update = await _until(ws, lambda f: f.get("stream", "").startswith("account."))
        assert update["data"]["e"] in ("positionAdjusted", "positionOpened")


async def test_get_root_without_upgrade_is_json_404(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(sim.rest_url + "/") as resp:
        assert resp.status == 404
        assert await resp.json() == {"code": "RESOURCE_NOT_FOUND", "message": "Not found"}


async def test_ws_at_root_and_ws_path_and_client_ping(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    for url in (sim.ws_url, sim.ws_url + "/", sim.ws_url + "/ws"):
        async with http.ws_connect(url, autoping=False) as ws:
            await ws.ping(b"hi")
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.PONG and msg.data == b"hi"


async def test_many_subscribers_get_the_same_frames(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    conns = [await http.ws_connect(sim.ws_url) for _ in range(5)]
    try:
        for ws in conns:
            await _send(ws, {"method": "SUBSCRIBE", "params": [f"depth.{SYMBOL}"]})
        for _ in range(200):
            if sim.hub.subscribers(f"depth.{SYMBOL}") == 5:
                break
            await asyncio.sleep(0.01)
        sim.step(10)
        firsts = [await _next(ws) for ws in conns]
        assert all(f == firsts[0] for f in firsts)
    finally:
        for ws in conns:
            await ws.close()


async def test_aggregated_depth_covers_the_realtime_range_without_gaps(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await _send(ws, {"method": "SUBSCRIBE", "params": [f"depth.200ms.{SYMBOL}"]})
        await _wait_subscribed(sim, f"depth.200ms.{SYMBOL}")
        previous: int | None = None
        for _ in range(3):
            sim.step(20)
            frame = await _next(ws)
            assert frame["stream"] == f"depth.200ms.{SYMBOL}"
            data = frame["data"]
            assert data["e"] == "depth" and data["U"] <= data["u"]
            if previous is not None:
                assert data["U"] == previous + 1
            previous = data["u"]
            prices = [float(p) for p, _ in data["a"]]
            assert prices == sorted(prices)


async def test_stream_replayed_onto_a_snapshot_reproduces_the_next_snapshot(
    sim: SimServer, http: aiohttp.ClientSession, api: Api
) -> None:
    """The book sync contract end to end: REST snapshot + WS deltas == later snapshot."""

    def book(snapshot: dict[str, Any]) -> dict[str, dict[str, str]]:
        return {side: {p: q for p, q in snapshot[side]} for side in ("asks", "bids")}

    async with http.ws_connect(sim.ws_url) as ws:
        await _send(ws, {"method": "SUBSCRIBE", "params": [f"depth.{SYMBOL}"]})
        await _wait_subscribed(sim, f"depth.{SYMBOL}")
        sim.step(30)
        first = await api.ok("GET", "/api/v1/depth", params={"symbol": SYMBOL, "limit": 1000})
        sim.step(60)
        await api.ok(
            "POST",
            "/api/v1/order",
            body={"symbol": SYMBOL, "side": "Bid", "orderType": "Market", "quantity": "0.05"},
        )
        second = await api.ok("GET", "/api/v1/depth", params={"symbol": SYMBOL, "limit": 1000})
        target = int(second["lastUpdateId"])
        state = book(first)
        applied = int(first["lastUpdateId"])
        while applied < target:
            data = (await _next(ws))["data"]
            if data["u"] <= applied:
                continue  # older than the snapshot
            assert data["U"] <= applied + 1 <= data["u"]
            for key, side in (("a", "asks"), ("b", "bids")):
                for price, qty in data[key]:
                    if float(qty) == 0:
                        state[side].pop(price, None)
                    else:
                        state[side][price] = qty
            applied = data["u"]
        assert applied == target
        assert state == book(second)
