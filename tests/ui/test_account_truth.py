"""What the account strip and the positions table say about risk, from the exchange's
own numbers: margin in use, distance to liquidation, leverage, realised PnL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from textual.command import CommandPalette

from bpx_tui.exchange.models import Position
from bpx_tui.ui.commands import leverage_hit
from bpx_tui.ui.freshness import LIVE
from bpx_tui.ui.session import SessionPnl
from bpx_tui.ui.views import AccountView, PositionRow
from bpx_tui.ui.widgets.account import account_text
from bpx_tui.ui.widgets.positions import FAR_TEXT, distance_text, liquidation_text
from tests.ui.helpers import SIZE, make_demo_app, palette_lines, wait_for, wait_ready

D = Decimal


def _position(realized: str, position_id: str = "p1", quantity: str = "0.1") -> Position:
    return Position.from_api(
        {"symbol": "BTC_USDC_PERP", "netQuantity": quantity, "entryPrice": "97000",
         "pnlRealized": realized, "positionId": position_id}
    )  # fmt: skip


def test_session_pnl_counts_from_what_was_open_at_start() -> None:
    session = SessionPnl([_position("50", "old")])
    session.observe(_position("50", "old"))  # the start value again: nothing realised
    assert session.realized == 0
    session.observe(_position("80", "old"))  # a partial close of the old one
    session.observe(_position("4", "new"))  # one opened during the session
    session.observe(_position("10", "new", "0"))  # and closed
    assert session.realized == D(30) + D(10)


def test_account_strip_names_margin_leverage_and_distance() -> None:
    view = AccountView(
        "ready",
        LIVE,
        equity=D("1000"),
        available=D("700"),
        initial_margin=D("194"),
        upnl=D("-12.5"),
        margin_fraction=D("0.1031"),
        maintenance=D("0.0125"),
        leverage=D("9.7"),
        leverage_limit=D("10"),
        session_realized=D("4"),
    )
    lines = account_text(view).splitlines()
    assert [line.split()[0] for line in lines] == ["Equity", "IM", "MF", "Lev"]
    assert "194.00" in lines[1] and "-12.50" in lines[1]
    assert "10.31%" in lines[2] and "8.2x" in lines[2]  # 8.2 times maintenance
    assert "9.70x/10x" in lines[3] and "+4.00" in lines[3]
    assert all(len(line) <= 38 for line in lines)
    flat = account_text(AccountView("ready", LIVE, equity=D(1), available=D(1)))
    assert "MF" in flat and "—" in flat.splitlines()[2]


def _row(liquidation: str | None, mark: str = "97000") -> PositionRow:
    return PositionRow(
        symbol="BTC_USDC_PERP", side="SHORT", long=False, size=D("0.001"), notional=D(97),
        entry=D(97000), mark=D(mark), upnl=D(0), upnl_pct=D(0),
        liquidation=None if liquidation is None else D(liquidation),
        liquidation_distance=None, funding=D(0), price_decimals=1, quantity_decimals=5,
        fresh=LIVE,
    )  # fmt: skip


def test_a_liquidation_too_far_to_matter_says_so() -> None:
    assert liquidation_text(_row("38524659")) == FAR_TEXT
    assert liquidation_text(_row("9000")) == FAR_TEXT  # a long's, a tenth of the mark
    assert liquidation_text(_row("104500.5")) == "104,500.5"
    assert liquidation_text(_row(None)) == "—"
    assert distance_text(D("396.19")) == ">1000%"
    assert distance_text(D("0.0773")) == "7.7%"


async def test_the_strip_shows_margin_in_use_once_a_position_is_open(tmp_path: Path) -> None:
    app, _sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B", "enter")
        client = app.client
        assert client is not None
        await wait_for(
            pilot,
            lambda: client.collateral is not None and client.collateral.initial_margin > 0,
            "the account re-read after the fill",
        )
        await pilot.pause(0.6)
        collateral = client.collateral
        assert collateral is not None
        text = str(app.query_one("#account").content)
        assert f"{collateral.initial_margin:,.2f}" in text.splitlines()[1]
        assert "/10x" in text.splitlines()[3]  # the demo account's leverage limit


def test_only_a_leverage_query_with_a_number_sets_anything() -> None:
    assert leverage_hit("lev 5") == ("Set leverage limit to 5x", "set_leverage(5)")
    assert leverage_hit("Leverage 20x") == ("Set leverage limit to 20x", "set_leverage(20)")
    assert leverage_hit("lev")[1] == "leverage_help"  # type: ignore[index]
    assert leverage_hit("lev 5.5") is None and leverage_hit("level") is None
    assert leverage_hit("buy") is None


async def test_the_palette_sets_the_leverage_limit_as_the_exchange_answers(
    tmp_path: Path,
) -> None:
    app, sim = make_demo_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)

        def limit_line() -> str:
            return str(app.query_one("#account").content).splitlines()[3]

        async def palette(query: str) -> None:
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
            await pilot.press(*query)
            await palette_lines(pilot, "Set leverage")
            await pilot.press("enter")

        await palette("lev 3")
        await wait_for(pilot, lambda: "/3x" in limit_line(), "the strip to show the new limit")
        assert sim.engine.account(sim.demo.account_id)["leverageLimit"] == "3"
        await palette("lev 99")  # beyond what the exchange allows: its refusal is shown
        await wait_for(
            pilot,
            lambda: any("99x refused" in e.result for e in app.activity.newest_first()),
            "the refusal in the activity log",
        )
        assert "/3x" in limit_line()
        assert sim.engine.account(sim.demo.account_id)["leverageLimit"] == "3"
