"""The bench's blast server: frames on the wire are the stream, and replays stay in sequence."""

from __future__ import annotations

import orjson
import pytest
from websockets.asyncio.client import connect

from bpx_tui.benchmarks.common import SYMBOL, Data, Plan
from bpx_tui.sim.synthetic.blast import BlastFeed, BlastServer, encode_feed, ws_frame


@pytest.fixture(scope="module")
def feed() -> BlastFeed:
    data = Data(Plan(messages=300, reps=1))
    return encode_feed(data.stream, data.market)


def _payload(frame: bytes) -> dict:  # type: ignore[type-arg]
    size = frame[1]
    start = 2 if size < 126 else (4 if size == 126 else 10)
    return orjson.loads(frame[start:])  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536])
def test_ws_frame_headers_follow_rfc6455(size: int) -> None:
    frame = ws_frame(b"x" * size)
    assert frame[0] == 0x81  # FIN + text, unmasked
    if size < 126:
        assert frame[1] == size and len(frame) == size + 2
    elif size < 65_536:
        assert frame[1] == 126 and int.from_bytes(frame[2:4], "big") == size
    else:
        assert frame[1] == 127 and int.from_bytes(frame[2:10], "big") == size


def test_encoded_frames_are_the_synthetic_messages(feed: BlastFeed) -> None:
    data = Data(Plan(messages=300, reps=1))
    for number in (0, 1, 150, 299):
        frame = _payload(feed.frame(number))
        assert frame["stream"] == f"depth.{SYMBOL}"
        assert frame["data"] == data.stream.messages[number]


def test_replays_continue_the_update_ids(feed: BlastFeed) -> None:
    count = len(feed.ids)
    previous = _payload(feed.frame(0))["data"]
    for number in range(1, 2 * count + 5):
        data = _payload(feed.frame(number))["data"]
        assert data["U"] == previous["u"] + 1, number
        previous = data
    assert feed.last_update_id(2 * count + 5) == previous["u"]


async def test_server_answers_markets_snapshot_and_streams_after_the_snapshot(
    feed: BlastFeed,
) -> None:
    import aiohttp

    server = BlastServer(feed, total=50)
    await server.start()
    info = server.info
    try:
        async with connect(info.ws_url) as ws:
            subscribe = {"method": "SUBSCRIBE", "params": [f"depth.{SYMBOL}"], "id": 1}
            await ws.send(orjson.dumps(subscribe).decode())
            first = orjson.loads(await ws.recv())
            assert first["data"]["U"] == feed.ids[0][0]
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{info.rest_url}/api/v1/markets") as response:
                    assert [m["symbol"] for m in await response.json()] == [SYMBOL]
                async with session.get(f"{info.rest_url}/api/v1/depth") as response:
                    snapshot = await response.json()
            assert int(snapshot["lastUpdateId"]) == feed.ids[0][0] - 1
            last = first["data"]
            while last["u"] < info.last_update_id:
                frame = orjson.loads(await ws.recv())["data"]
                if frame["U"] == feed.ids[0][0]:
                    continue  # the first frame repeats until the snapshot is fetched
                assert frame["U"] == last["u"] + 1
                last = frame
        assert server.sent == 50 and server.snapshots == 1
    finally:
        await server.stop()


async def test_side_markets_stream_every_other_market_beside_the_blast(feed: BlastFeed) -> None:
    """With ``side``, the server lists the universe and the one client the console uses
    gets every perp's mark (and a spot market's ticker) while the blasted book stays in sequence; the
    other markets' books are empty and still (a snapshot of nothing, no depth)."""
    from bpx_tui.exchange.client import BackpackClient
    from bpx_tui.sim.synthetic.side_markets import side_markets
    from bpx_tui.sim.venue.universe import MARKETS
    from tests.conftest import until

    side = side_markets(SYMBOL)
    assert SYMBOL not in {m["symbol"] for m in side.listing}
    server = BlastServer(feed, total=200, rate=2_000, side=side)
    await server.start()
    client = BackpackClient(server.info.rest_url, server.info.ws_url)
    try:
        await client.start([SYMBOL, "ETH_USDC_PERP"])
        assert set(client.markets) == {spec.symbol for spec in MARKETS}
        perps = [symbol for symbol, market in client.markets.items() if market.is_perp]
        client.watch_prices([*perps, "SOL_USDC"])
        assert client.priced == frozenset([*perps, "SOL_USDC"])
        others = set(perps) - {SYMBOL}  # the blasted market streams only its depth
        await until(lambda: set(client.marks) >= others, "every other perp's mark")
        await until(lambda: client.books[SYMBOL].messages >= 150, "the blast")
        await until(lambda: "SOL_USDC" in client.tickers, "the spot market's ticker")
        # A priced perp's ticker is REST's; only a watched one's (ETH here) streams.
        assert others & set(client.tickers) == {"ETH_USDC_PERP"}
        rates = {client.marks[s].funding_rate for s in others}
        assert any(r is not None and r < 0 for r in rates) and len(rates) > 3
        eth = client.books["ETH_USDC_PERP"]
        await until(lambda: eth.synced, "the quiet market's book")
        assert eth.best_bid() is None  # listed, still
        assert server.snapshots == 1  # only the blasted book's snapshot starts the blast
    finally:
        await client.close()
        await server.stop()
