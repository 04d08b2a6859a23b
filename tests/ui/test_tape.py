"""Time and sales and the volume traded at each price: bursts merged, size highlighted,
the tape full from the first frame, the ladder's volume column the stream's own sums."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import aiohttp

from bpx_tui.exchange.models import Trade
from bpx_tui.ui.ladder_model import build_view
from bpx_tui.ui.tape import SessionVolume, tape_rows
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.tape import TapePanel
from tests.ui.helpers import make_demo_app, wait_for, wait_ready
from tests.ui.test_ladder_model import HEIGHT, TICK, tight_book

D = Decimal


def trade(i: int, price: str, qty: str, ts: int, buyer_maker: bool = False) -> Trade:
    return Trade("BTC_USDC_PERP", i, D(price), D(qty), ts, buyer_maker)


def test_a_burst_at_one_price_in_one_millisecond_is_one_line() -> None:
    trades = [
        trade(1, "100.0", "1", 1000),
        trade(2, "100.1", "2", 2000),  # one sweep: three prints, same ms, price and side
        trade(3, "100.1", "3", 2000),
        trade(4, "100.1", "5", 2000),
        trade(5, "100.1", "1", 2000, buyer_maker=True),  # the other side: its own line
        trade(6, "100.2", "1", 2000),  # the next price of the sweep: its own line
    ]
    rows = tape_rows(trades, big_notional=D(900), limit=10)
    assert [(r.price, r.quantity, r.prints, r.buy) for r in rows] == [
        (D("100.2"), D(1), 1, True),
        (D("100.1"), D(1), 1, False),
        (D("100.1"), D(10), 3, True),
        (D("100.0"), D(1), 1, True),
    ]
    assert [r.big for r in rows] == [False, False, True, False]  # 10 x 100.1 >= 900
    assert len({r.key for r in rows}) == len(rows)
    assert [r.price for r in tape_rows(trades, D(900), limit=2)] == [D("100.2"), D("100.1")]


def test_the_volume_column_sums_the_session_per_row_and_per_bucket() -> None:
    volume = SessionVolume()
    for i, (price, qty) in enumerate([("99.8", "1"), ("99.8", "2"), ("99.5", "4"), ("100.3", "8")]):
        volume.add(trade(i, price, qty, 1000))
    traded = volume.at("BTC_USDC_PERP")
    view = build_view(tight_book(), HEIGHT, step=TICK, volume=traded, tick=TICK)
    by_price = {row.price: row.volume for row in view.rows}
    assert (by_price["99.8"], by_price["99.5"], by_price["100.3"]) == ("3", "4", "8")
    assert sum(1 for row in view.rows if row.volume) == 3
    # grouped by 1.0: 99.8 and 99.5 land in the 99 bucket; 100.3 in the 100 one
    grouped = build_view(tight_book(), HEIGHT, step=D(1), grouped=True, volume=traded, tick=TICK)
    assert {r.price: r.volume for r in grouped.rows if r.volume} == {"99": "7", "100": "8"}
    # a long session (more prices than the window has ticks) is read by the window's ticks
    for i in range(2000):
        volume.add(trade(100 + i, format(D(200) + i * TICK, "f"), "1", 1000))
    again = build_view(tight_book(), HEIGHT, step=TICK, volume=traded, tick=TICK)
    assert {r.price: r.volume for r in again.rows} == by_price
    assert volume.at("ETH_USDC_PERP") == {}


async def test_the_tape_starts_full_and_shows_our_fill_and_its_volume(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_ready(pilot)
        tape = app.query_one(TapePanel)
        # A hidden tab is not rebuilt per trade (100 rows each time): it is filled when
        # it is shown.
        ticks = app.pump_ticks
        await wait_for(pilot, lambda: app.pump_ticks > ticks + 2, "frames")
        assert not tape.display and tape.table.row_count == 0 and app.feed.trades
        await pilot.press("t")
        await wait_for(pilot, lambda: tape.display and tape.table.row_count > 0, "the tape")
        async with aiohttp.ClientSession() as http:
            url = f"{sim.rest_url}/api/v1/trades?symbol={app.active}&limit=5"
            async with http.get(url) as response:
                newest = max(await response.json(), key=lambda t: t["id"])
        first = tape.table.get_row_at(0)
        assert D(str(first[2]).replace(",", "")) == D(newest["price"])
        assert D(str(first[3]).replace(",", "")) == D(newest["quantity"])

        await pilot.press("escape", "B", "enter")  # a market buy: a print on the tape
        client = app.client
        assert client is not None
        await wait_for(pilot, lambda: client.positions, "the fill")
        position = client.positions[app.active]
        ladder = app.query_one(DepthLadder)
        await wait_for(
            pilot,
            lambda: str(tape.table.get_row_at(0)[1]).strip() == "BUY",
            "our buy at the top of the tape",
        )
        traded = app.feed.volume.at(app.active)
        assert sum(traded.values()) >= position.net_quantity
        shown = {D(r.price): D(r.volume) for r in ladder.view.rows if r.volume}
        assert shown and all(traded[price] == qty for price, qty in shown.items())
