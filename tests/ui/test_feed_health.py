"""What the trader sees when the feed breaks, and that painting is capped under load."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from bpx_tui.config import Settings
from bpx_tui.sim.wire.websocket import PRIVATE_REFUSED_MESSAGE
from bpx_tui.ui.widgets.account import AccountStrip
from bpx_tui.ui.widgets.ladder import DepthLadder
from bpx_tui.ui.widgets.positions import PositionsPanel, PositionsTable
from bpx_tui.ui.widgets.ticket import OrderTicket
from bpx_tui.ui.widgets.watchlist import Watchlist
from tests.ui.helpers import SIZE, label_text, make_demo_app, wait_for, wait_ready


async def test_dropped_websocket_shows_in_status_bar_and_recovers(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path, rate=20)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await wait_for(pilot, lambda: label_text(app, "#status-conn") == "CONNECTED", "connected")
        assert label_text(app, "#status-mode") == "DEMO"
        seen: set[str] = set()

        def watch() -> bool:
            seen.add(label_text(app, "#status-conn").split(" ")[0])
            seen.add(label_text(app, "#status-stale"))
            return bool(seen & {"RECONNECTING", "RECONNECTED", "DOWN"})

        assert await sim.drop_connections() >= 1
        await wait_for(pilot, watch, "the status bar to show the drop")
        assert app.query_one("#status-conn").has_class("-bad")
        await wait_for(
            pilot,
            lambda: label_text(app, "#status-conn").startswith("CONNECTED"),
            "the reconnect",
            timeout=15,
        )
        assert label_text(app, "#status-conn") == "CONNECTED ↻1"
        assert not app.query_one("#status-conn").has_class("-bad")
        book = app.client.books[app.active]
        await wait_for(pilot, lambda: book.synced, "the book to resync after the reconnect")
        await wait_for(pilot, lambda: watch() and "STALE" in seen, "STALE while resyncing")
        await wait_for(pilot, lambda: label_text(app, "#status-stale") == "", "fresh data")


async def test_ladder_paints_are_capped_while_depth_floods_in(tmp_path: Path) -> None:
    """5,000 book steps/s offered; the ladder paints at most once per pump tick."""
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ladder = app.query_one(DepthLadder)
        loop = asyncio.get_running_loop()
        sim.rate = 5000
        await pilot.pause(0.3)  # let the flood start
        paints, ticks, messages = ladder.paints, app.pump_ticks, app.feed.depth_messages
        start = loop.time()
        await asyncio.sleep(1.5)
        elapsed = loop.time() - start
        sim.rate = 0
        paints = ladder.paints - paints
        ticks = app.pump_ticks - ticks
        messages = app.feed.depth_messages - messages
        hz = app.settings.refresh_hz
        assert paints >= 1, "the ladder never repainted"
        assert paints <= ticks + 1, (paints, ticks)
        assert paints <= (hz + 2) * elapsed, (paints, elapsed)
        # Coalescing did real work: many book messages per paint.
        assert messages >= 5 * paints, (messages, paints)


async def test_resyncing_book_is_shown_and_blocks_ladder_trading(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ladder = app.query_one(DepthLadder)
        book = app.client.books[app.active]
        sim.skip_depth(app.active, 1)
        sim.set_latency(rest=2.0)  # the snapshot that ends the resync arrives late

        def gapped() -> bool:
            sim.step(1)  # until a depth message of this market arrives with the gap
            return not book.synced

        await wait_for(pilot, gapped, "the sequence gap")
        await wait_for(pilot, lambda: ladder.border_subtitle.startswith("RESYNCING"), "badge")
        assert ladder.has_class("-resyncing")
        assert "RESYNCING" in ladder.view.note and "blocked" in ladder.view.note
        await pilot.press("down", "b")
        ticket = app.query_one(OrderTicket)
        assert not ticket.is_open  # ladder trading refused while the book is not live
        await wait_for(pilot, lambda: label_text(app, "#status-stale") == "STALE", "STALE")
        sim.set_latency(rest=0.0)

        await wait_for(pilot, lambda: sim.step(1) or book.synced, "the resync", timeout=15)
        await wait_for(pilot, lambda: not ladder.has_class("-resyncing"), "the live ladder")
        assert book.resyncs == 1


async def test_a_dead_exchange_dims_every_price_and_a_restart_restores_them(
    tmp_path: Path,
) -> None:
    """Stopped exchange: ladder, watchlist, marks/uPnL and account are drawn as not live,
    with the connection's word and the data's age; back to normal by themselves."""
    app, sim = make_demo_app(tmp_path, settings=replace(Settings(), stale_after_s=1.0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B", "enter")
        await wait_for(pilot, lambda: app.client.positions, "a position to mark")
        ladder = app.query_one(DepthLadder)
        watchlist = app.query_one(Watchlist)
        positions = app.query_one(PositionsPanel)
        await wait_for(pilot, lambda: not ladder.has_class("-stale"), "a live ladder")
        assert watchlist._shown[app.active][1][1] != "stale"

        port = sim.port
        await sim.stop()
        await wait_for(pilot, lambda: ladder.has_class("-stale"), "the ladder dimmed", timeout=5)
        assert ladder.border_subtitle.startswith(("RECONNECTING", "DISCONNECTED"))
        assert ladder.dimmed
        await wait_for(pilot, lambda: "stale" in ladder.border_subtitle, "the data's age")
        assert all(style == "stale" for _text, style in watchlist._shown[app.active][1:])
        assert watchlist.border_subtitle.startswith(("RECONNECTING", "DISCONNECTED"))
        await wait_for(pilot, lambda: "marks stale" in str(positions.border_subtitle), "marks")
        cells = dict(
            zip(
                (c.key for c in PositionsTable.COLUMNS),
                positions.table._shown[app.active],
                strict=True,
            )
        )
        assert cells["mark"][1] == cells["upnl"][1] == "stale"
        assert cells["size"][1] != "stale"  # the position's size is not a price
        assert app.query_one(AccountStrip).has_class("-stale")

        await sim.start("127.0.0.1", port)
        await wait_for(pilot, lambda: not ladder.has_class("-stale"), "the live ladder", timeout=20)
        await wait_for(pilot, lambda: not watchlist.has_class("-stale"), "a live watchlist")
        assert watchlist._shown[app.active][1][1] != "stale"
        await wait_for(pilot, lambda: not positions.has_class("-stale"), "live marks")
        strip = app.query_one(AccountStrip)
        # The strip redraws on the pump's next account change, which may be a tick later.
        await wait_for(pilot, lambda: not strip.has_class("-stale"), "a live account strip")


async def test_a_silent_feed_turns_stale_after_stale_after_s(tmp_path: Path) -> None:
    app, sim = make_demo_app(tmp_path, settings=replace(Settings(), stale_after_s=1.0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ladder = app.query_one(DepthLadder)
        sim.go_silent(6)
        await wait_for(pilot, lambda: ladder.has_class("-stale"), "stale", timeout=5)
        assert ladder.border_subtitle.startswith(("STALE", "RECONNECTING"))
        await wait_for(pilot, lambda: not ladder.has_class("-stale"), "live again", timeout=20)


async def test_a_refused_account_stream_shows_in_status_bar_and_activity_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app, sim = make_demo_app(tmp_path)
    sim.refuse_private(1)
    caplog.set_level(logging.WARNING, logger="bpx_tui.ui")
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        expected = f"account stream refused: {PRIVATE_REFUSED_MESSAGE}"
        await wait_for(
            pilot,
            lambda: label_text(app, "#status-error").startswith("account stream refused"),
            "the refusal on the status bar",
        )
        assert label_text(app, "#status-error") == expected
        await wait_for(
            pilot,
            lambda: any(
                e.event == "stream" and e.tone == "bad" for e in app.activity.newest_first()
            ),
            "the refusal in the activity log",
        )
        entry = next(e for e in app.activity.newest_first() if e.tone == "bad")
        assert entry.result.startswith(expected) and "polling" in entry.result
        assert any(expected in record.getMessage() for record in caplog.records)
        assert app.client.account_stream_refused == PRIVATE_REFUSED_MESSAGE

        # The reconnect's private subscription holds: the words leave the status bar.
        assert await sim.drop_connections() >= 1
        await wait_for(
            pilot,
            lambda: not label_text(app, "#status-error").startswith("account stream refused"),
            "the refusal to leave the status bar",
            timeout=20,
        )
        assert app.client.account_stream_refused is None
        await wait_for(
            pilot,
            lambda: any(
                e.result.startswith("account stream back") for e in app.activity.newest_first()
            ),
            "the restore in the activity log (the pump drains the feed's queue)",
        )


async def test_a_word_said_after_an_error_is_not_hidden_behind_it(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.feed.report("cancel failed: timeout")
        shown = lambda: label_text(app, "#status-error")  # noqa: E731
        await wait_for(pilot, lambda: shown() == "cancel failed: timeout", "the error")
        app.say("cancelled BUY BTC_USDC_PERP @ 96999.0")
        await wait_for(pilot, lambda: shown().startswith("cancelled"), "the later word")
        app.feed.report("close failed: refused")  # newer again: the error shows
        await wait_for(pilot, lambda: shown() == "close failed: refused", "the newer error")
