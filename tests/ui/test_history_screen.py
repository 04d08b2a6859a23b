"""The history screen (``H``, ``:history``) against the local exchange and against ccxt.

ccxt's Backpack client trades on the exchange and then reads the same history endpoints
on its own (its own signing, paging and parsing): the screen's totals must be the totals
of ccxt's rows. The exchange's clock is frozen and moved by hand, so funding is paid a
known number of times and nothing changes between the two reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult

from bpx_tui.config import Settings
from bpx_tui.exchange.history import read_account_history
from bpx_tui.exchange.models import Fill, FundingPayment
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimClock, SimServer
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.history_model import PAGE_ROWS, HistoryView, build_view
from bpx_tui.ui.screens.history import (
    FillsTable,
    HistoryScreen,
    OrdersTable,
    PaymentsTable,
    PnlTable,
)
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.ui.helpers import FROZEN_US, SEED, SIZE, wait_for, wait_ready

ccxt_async = pytest.importorskip("ccxt.async_support")

D = Decimal
PERP, PERP_ID = "BTC/USDC:USDC", "BTC_USDC_PERP"
SPOT, SPOT_ID = "SOL/USDC", "SOL_USDC"
FUNDING_PAYMENTS = 4


def history_app(tmp_path: Path) -> tuple[BpxApp, SimServer]:
    """The console on a frozen exchange whose hourly funding passes in a second."""
    clock = SimClock()
    clock.freeze(FROZEN_US)
    sim = SimServer(SimConfig(seed=SEED, funding_speedup=3600.0), rate=0.0, clock=clock)
    app = BpxApp(
        Settings(), sim=sim, journal_path=tmp_path / "journal.sqlite3", wall_ms=clock.now_ms
    )
    return app, sim


class Ccxt:
    """ccxt pointed at the local exchange; every call signed with the exchange's clock
    (frozen, so the offset is taken again before each call)."""

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim
        self.ex = ccxt_async.backpack(
            {"apiKey": sim.demo.api_key, "secret": sim.demo.api_secret, "enableRateLimit": False}
        )
        self.ex.urls["api"] = {
            **self.ex.urls["api"],
            "public": sim.rest_url,
            "private": sim.rest_url,
        }

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.ex.options["timeDifference"] = self.ex.milliseconds() - self.sim.clock.now_ms()
        call: Callable[..., Awaitable[Any]] = getattr(self.ex, method)
        return await call(*args, **kwargs)

    async def every(self, method: str, **params: Any) -> list[Any]:
        """All pages of a history list, walked with ``offset`` as ccxt passes it on."""
        rows: list[Any] = []
        while True:
            page = await self(method, None, None, 1000, {**params, "offset": len(rows)})
            rows.extend(page)
            if len(page) < 1000:
                return rows


async def trade_and_fund(ccxt: Ccxt, sim: SimServer) -> None:
    """Perp in and partly out, a spot round trip (its buy pays the fee in SOL), a resting
    order cancelled, and funding paid on the open perp a few times."""
    await ccxt("load_markets")
    await ccxt("create_order", PERP, "market", "buy", 0.02)
    await ccxt("create_order", PERP, "market", "sell", 0.005)
    await ccxt("create_order", PERP, "market", "buy", 0.01)
    await ccxt("create_order", PERP, "market", "sell", 0.01)
    await ccxt("create_order", SPOT, "market", "buy", 2)
    await ccxt("create_order", SPOT, "market", "sell", 1.5)
    book = await ccxt("fetch_order_book", PERP)
    passive = float(ccxt.ex.price_to_precision(PERP, book["bids"][0][0] * 0.9))
    resting = await ccxt("create_order", PERP, "limit", "buy", 0.001, passive)
    await ccxt("cancel_order", resting["id"], PERP)
    for _ in range(FUNDING_PAYMENTS):
        sim.clock.advance(1.0)
        sim.advance()


def dec(value: object) -> Decimal:
    return D(str(value))


async def open_history(pilot: Any, app: BpxApp, *keys: str) -> HistoryScreen:
    await pilot.press(*(keys or ("H",)))
    await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), "the history screen")
    screen = app.screen
    assert isinstance(screen, HistoryScreen)
    await wait_for(pilot, lambda: screen.view is not None, "the history read")
    await pilot.pause()
    return screen


async def test_the_view_totals_are_the_totals_of_ccxts_rows(tmp_path: Path) -> None:
    app, sim = history_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ccxt = Ccxt(sim)
        try:
            await trade_and_fund(ccxt, sim)
            screen = await open_history(pilot, app)
            view = screen.view
            assert view is not None
            trades = await ccxt.every("fetch_my_trades", fillType="User")
            incomes = await ccxt.every("fetch_funding_history")
            orders = await ccxt.every("fetch_orders")
            positions = await ccxt("fetch_positions", [PERP])
            markets = ccxt.ex.markets
        finally:
            await ccxt.ex.close()

        # Fills: the same rows, the same volume and fees (a base fee valued at its price).
        assert view.fills.count == len(trades) >= 6
        assert {f.trade_id for f in view.history.fills.rows} == {int(t["id"]) for t in trades}
        volume = sum((dec(t["price"]) * dec(t["amount"]) for t in trades), D(0))
        fees = D(0)
        for t in trades:
            cost, currency = dec(t["fee"]["cost"]), t["fee"]["currency"]
            base = markets[t["symbol"]]["base"]
            fees += cost * dec(t["price"]) if currency == base else cost
        assert view.fills.volume == volume
        assert view.fills.fees == fees
        assert view.fills.fees_by_asset.get("SOL", D(0)) > 0  # the spot buy's fee

        # Funding: the same payments, paid and received alike.
        assert view.funding.count == len(incomes) >= FUNDING_PAYMENTS
        amounts = [dec(i["amount"]) for i in incomes]
        assert view.funding.paid == -sum((a for a in amounts if a < 0), D(0))
        assert view.funding.received == sum((a for a in amounts if a >= 0), D(0))

        # Orders: every final state, the cancelled one too.
        assert view.orders.count == len(orders) == 7
        statuses = {"Filled": "closed", "Cancelled": "canceled"}
        for status, unified in statuses.items():
            assert view.orders.by_status.get(status, 0) == sum(
                o["status"] == unified for o in orders
            )
        assert view.orders.executed_quote == sum((dec(o["cost"]) for o in orders), D(0))

        # Realised PnL: the perp's agrees with the exchange's own figure for the position.
        (position,) = positions
        perp = [row for row in view.pnl if row.symbol == PERP_ID]
        realised = sum((row.realised for row in perp), D(0))
        assert abs(realised - dec(position["info"]["pnlRealized"])) < D("0.01")
        assert view.totals.funding == sum(amounts, D(0))
        assert view.totals.fees == fees and view.totals.volume == volume

        # What is drawn: the rows of the first page and the totals line.
        table = screen.query_one(FillsTable)
        assert table.display and table.row_count == len(trades)
        totals = str(screen.query_one("#history-totals").render())
        assert f"{len(trades)} fills" in totals


async def test_tabs_export_reload_and_esc(tmp_path: Path) -> None:
    app, sim = history_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ccxt = Ccxt(sim)
        try:
            await trade_and_fund(ccxt, sim)
        finally:
            await ccxt.ex.close()
        screen = await open_history(pilot, app)
        view = screen.view
        assert view is not None
        await pilot.press("tab")
        assert screen.tab == "orders" and screen.query_one(OrdersTable).display
        await pilot.press("tab", "tab")
        assert screen.tab == "pnl" and screen.query_one(PnlTable).row_count == len(view.pnl)
        await pilot.press("shift+tab")
        assert screen.tab == "funding"
        # Export: four files in the data directory, their path on the status line.
        await pilot.press("e")
        await pilot.pause()
        note = str(screen.query_one("#history-note").render())
        home = Path(str(tmp_path / "home")) / "data" / "history"
        (directory,) = home.iterdir()
        assert f"CSV written to {directory}" in note.replace("\n", "")
        assert sorted(p.name for p in directory.iterdir()) == [
            "fills.csv",
            "funding.csv",
            "orders.csv",
            "pnl.csv",
        ]
        lines = (directory / "fills.csv").read_text().splitlines()
        assert len(lines) == 1 + view.fills.count
        fee_column = lines[0].split(",").index("fee_quote")
        assert sum(D(line.split(",")[fee_column]) for line in lines[1:]) == view.fills.fees
        # Reload reads again: a new view, the same figures.
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.view is not view, "the second read")
        assert screen.view is not None and screen.view.fills == view.fills
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryScreen), "closed")


async def test_history_command_opens_it_and_H_in_a_ticket_types_nothing(tmp_path: Path) -> None:
    app, _sim = history_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: app.query_one(OrderTicket).is_open, "the ticket")
        await pilot.press("H")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.query_one(OrderTicket).is_open, "closed ticket")
        await pilot.press("colon", *"history", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), "via :history")
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: screen.view is not None, "the read")
        assert screen.view is not None and screen.view.fills.count == 0
        assert "no fills in the exchange's history" in str(
            screen.query_one("#history-empty").render()
        )


async def test_a_refused_read_is_said_in_its_tab_and_the_others_still_show(
    tmp_path: Path,
) -> None:
    app, sim = history_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        sim.faults.throttle(100_000, "/wapi/v1/history/funding", retry_after=0.01)
        screen = await open_history(pilot, app)
        assert screen.view is not None and screen.view.history.funding.error
        await pilot.press("tab", "tab")
        assert screen.tab == "funding"
        error = screen.view.history.funding.error
        assert "TOO_MANY_REQUESTS" in error  # the exchange's refusal, as it said it
        shown = str(screen.query_one("#history-empty").render())
        assert shown == f"could not read the history: {error}"
        assert not screen.query_one(PaymentsTable).display
        assert str(screen.query_one("#history-totals").render()) == ""
        await pilot.press("tab")  # PnL needs the funding: it says why it is empty too
        assert "funding:" in str(screen.query_one("#history-empty").render())
        await pilot.press("shift+tab", "shift+tab", "shift+tab")
        assert screen.tab == "fills" and screen.view.error("fills") is None


async def test_paging_against_the_exchange_reads_every_row_once(tmp_path: Path) -> None:
    app, sim = history_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        ccxt = Ccxt(sim)
        try:
            await trade_and_fund(ccxt, sim)
        finally:
            await ccxt.ex.close()
        rest = app.client.rest  # type: ignore[union-attr]
        whole = await read_account_history(rest)
        paged = await read_account_history(rest, page=3)
        assert paged.fills.rows == whole.fills.rows and len(whole.fills.rows) >= 6
        assert paged.orders.rows == whole.orders.rows
        assert paged.funding.rows == whole.funding.rows
        capped = await read_account_history(rest, cap=4, page=3)
        assert capped.fills.capped and capped.fills.rows == whole.fills.rows[:4]
        assert not whole.fills.capped


# ----------------------------------------------------------------------- 10,000 rows


def big_view(rows: int) -> HistoryView:
    from bpx_tui.exchange.history import AccountHistory, Read

    start = FROZEN_US // 1000
    fills = tuple(
        Fill(
            trade_id=rows - i,
            order_id=str(i),
            client_id=None,
            symbol=PERP_ID,
            side="Bid" if i % 2 else "Ask",
            price=D(90_000 + i % 100),
            quantity=D("0.001"),
            fee=D("0.045"),
            fee_symbol="USDC",
            is_maker=bool(i % 3),
            timestamp_ms=start - i * 60_000,
        )
        for i in range(rows)
    )
    payments = tuple(
        FundingPayment(PERP_ID, D("-0.01"), D("0.0001"), start - i * 3_600_000) for i in range(rows)
    )
    history = AccountHistory(
        fills=Read(fills, capped=True), orders=Read(), funding=Read(payments), cap=rows
    )
    return build_view(history)


class Host(App[None]):
    def __init__(self, view: HistoryView) -> None:
        super().__init__()
        self.history_view = view

    def compose(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        screen = HistoryScreen()
        self.push_screen(screen)
        screen.show(self.history_view)


async def test_ten_thousand_rows_build_one_page_at_a_time() -> None:
    view = big_view(10_000)
    host = Host(view)
    async with host.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = host.screen
        assert isinstance(screen, HistoryScreen)
        table = screen.query_one(FillsTable)
        assert table.row_count == PAGE_ROWS
        assert screen.cells_built == PAGE_ROWS  # not 10,000
        note = str(screen.query_one("#history-note").render())
        assert "1–100 of 10,000 · page 1/100" in note
        assert "CAPPED" in str(screen.query_one("#history-totals").render())
        await pilot.press("n", "n")
        assert screen.page == 2 and table.row_count == PAGE_ROWS
        assert screen.cells_built == 3 * PAGE_ROWS
        first = [str(cell).strip() for cell in table.get_row_at(0)]
        assert first[3] == f"{90_000 + 200 % 100:,}"  # row 201 of the list
        await pilot.press("p")
        assert screen.page == 1 and screen.cells_built == 4 * PAGE_ROWS
        await pilot.press("tab", "tab")  # funding: 10,000 payments, one page built
        assert screen.tab == "funding" and screen.page == 0
        assert screen.cells_built == 5 * PAGE_ROWS
        assert "10,000 payments · paid 100.0000" in str(
            screen.query_one("#history-totals").render()
        )
        await pilot.press("tab")  # PnL: a row per day with funding, 418 days, one page
        assert len(view.pnl) == 418 and screen.query_one(PnlTable).row_count == PAGE_ROWS
        assert screen.cells_built == 6 * PAGE_ROWS
