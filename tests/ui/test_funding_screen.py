"""The funding board (``F``, ``:funding``) on the console, against the local exchange.

The exchange's clock is frozen, so the marks the board shows and the ones read here by
REST are the same figures; the list of perps is read from the exchange, never assumed.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from bpx_tui.ui import fmt
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.funding_board import BoardSort
from bpx_tui.ui.screens.funding import FundingBoard, FundingTable
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import SIZE, make_demo_app, wait_for, wait_ready


async def open_board(pilot: Pilot[Any], *keys: str) -> FundingBoard:
    """Press ``keys`` (``F`` by default) and wait for the board's first REST read drawn."""
    app = pilot.app
    assert isinstance(app, BpxApp)
    await pilot.press(*(keys or ("F",)))
    await wait_for(pilot, lambda: isinstance(app.screen, FundingBoard), "the funding board")
    board = app.screen
    assert isinstance(board, FundingBoard)
    await wait_for(pilot, lambda: app.board_polls >= 1, "the board's REST read")
    ticks = app.pump_ticks
    await wait_for(pilot, lambda: app.pump_ticks > ticks + app.settings.refresh_hz, "frames")
    return board


async def test_F_lists_every_perp_with_the_rates_the_exchange_reports(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        board = await open_board(pilot)
        rest = app.client.rest  # type: ignore[union-attr]
        perps = {m.symbol: m for m in await rest.markets() if m.is_perp}
        marks = {m.symbol: m for m in await rest.mark_prices()}
        assert len(perps) >= 2
        assert {row.symbol for row in board.shown} == set(perps)
        year_ms = Decimal(365 * 24 * 3_600_000)
        for row in board.shown:
            mark, market = marks[row.symbol], perps[row.symbol]
            assert mark.funding_rate is not None and market.funding_interval_ms
            assert row.rate == mark.funding_rate
            assert row.apr == mark.funding_rate * year_ms / market.funding_interval_ms
            assert row.active == (row.symbol == app.active)
        # The default order: the highest annualised rate (the best paid for a short) first.
        aprs = [row.apr for row in board.shown]
        assert aprs == sorted(aprs, reverse=True)  # type: ignore[type-var]
        # What is drawn is those figures.
        table = board.query_one(FundingTable)
        first = board.shown[0]
        drawn = [str(cell) for cell in table.get_row(first.symbol)]
        assert drawn[0].strip().endswith(first.symbol)
        assert drawn[1].strip() == fmt.pct(first.rate, 4)
        assert "longs pay shorts" in str(board.query_one("#funding-box").border_title)


async def test_typing_filters_and_enter_trades_the_row(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        board = await open_board(pilot)
        other = next(row.symbol for row in board.shown if row.symbol != app.active)
        base = other.split("_")[0]
        await pilot.press(*base.lower())
        await pilot.pause()
        assert board.shown and all(base in row.symbol.upper() for row in board.shown)
        assert board.query_one(FundingTable).row_count == len(board.shown)
        chosen = board.shown[0].symbol
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.active == chosen, "the chosen market active")
        assert not isinstance(app.screen, FundingBoard)
        assert chosen in app.watchlist_symbols
        assert app._board_timer is None  # the REST poll stops with the board


async def test_desk_keys_typed_into_the_filter_only_filter(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        board = await open_board(pilot)
        active = app.active
        typed = "bsBSxXcCKqFgpoahtL1?/:"
        await pilot.press(*typed)
        await pilot.pause()
        assert board.query_one("#funding-filter", Input).value == typed
        assert app.screen is board and app.is_running
        assert not app.gate.halted and app.active == active
        assert not app.query_one(OrderTicket).is_open
        assert board.shown == []  # no symbol holds all of that
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FundingBoard) and app.active == active


async def test_the_sort_keys_cycle_the_column_and_flip_it(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        board = await open_board(pilot)
        assert board.sort == BoardSort("apr", descending=True)
        for column in ("next", "oi", "basis", "volume"):  # ctrl+s: the next column
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert board.sort == BoardSort(column, descending=True)  # type: ignore[arg-type]
        assert "24h volume ▼" in str(board.query_one("#funding-note").render())
        volumes = [row.volume for row in board.shown]
        assert len(set(volumes)) == len(volumes) > 1  # a column that orders something
        assert volumes == sorted(volumes, reverse=True)  # type: ignore[type-var]
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert board.sort == BoardSort("volume", descending=False)
        assert [row.volume for row in board.shown] == volumes[::-1]


async def test_the_command_line_opens_it(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        board = await open_board(pilot, "colon", *"funding", "enter")
        assert board.shown


async def test_the_board_follows_the_clock_and_the_feed_on_the_slow_tick(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        board = await open_board(pilot)
        before = {row.symbol: row.next_funding_s or 0 for row in board.shown}
        assert all(s > 10 for s in before.values())
        sim.clock.advance(10.0)
        await wait_for(
            pilot,
            lambda: all(row.next_funding_s == before[row.symbol] - 10 for row in board.shown),
            "the countdown ten seconds on",
        )
        cell = str(board.query_one(FundingTable).get_row(board.shown[0].symbol)[4])
        assert cell.strip() == fmt.countdown((board.shown[0].next_funding_s or 0) * 1000)


async def test_every_perp_streams_its_mark_without_a_book_so_the_board_is_live(
    tmp_path: Path,
) -> None:
    """The board's figures for a market nobody has on screen come from the mark stream,
    not only from its 5-second REST poll: every perp's mark and ticker are subscribed
    (no book, trades or candles for them)."""
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        client = app.client
        assert client is not None
        perps = {s for s, m in client.markets.items() if m.is_perp}
        assert len(perps) >= 20 and client.priced >= perps
        quiet = sorted(perps - client.watched)
        assert quiet and not set(quiet) & set(client.books)  # no book for them
        seen = {s: client.mark_times.get(s, 0.0) for s in quiet}
        await wait_for(
            pilot,
            lambda: all(client.mark_times.get(s, 0.0) > seen[s] for s in quiet),
            "a streamed mark of every unwatched perp",
        )
        assert app.board_polls == 0  # the board was never opened: nothing polled them
