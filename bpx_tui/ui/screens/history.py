"""``H`` / ``:history``: the account's fills, orders, funding and realised PnL.

Read from the exchange's history endpoints (never the local journal) by the app,
which hands this screen a :class:`~bpx_tui.ui.history_model.HistoryView` (computed
once per read); the screen draws one tab, one page at a time: a table holds at most
:data:`~bpx_tui.ui.history_model.PAGE_ROWS` rows however long the history is, and only
the page shown is formatted. Reload and export are intents the app routes
(:class:`HistoryScreen.Reload`, :class:`HistoryScreen.Export`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from bpx_tui.exchange.models import Fill, FundingPayment, Order
from bpx_tui.ui import fmt, keys
from bpx_tui.ui.history_model import (
    TAB_TITLES,
    TABS,
    HistoryView,
    PnlRow,
    Tab,
    fee_in_quote,
    page_bounds,
    page_count,
    totals_line,
)
from bpx_tui.ui.widgets.table import Cells, Column, DiffTable

T = TypeVar("T")
HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("history_next_tab", "history_previous_tab"), "tabs"),
    (("history_next_page", "history_previous_page"), "pages"),
    (("history_export",), "CSV"),
    (("history_reload",), "reload"),
)
"""The note line's words for the screen's keys (``keys.py`` scope ``history``)."""
READING = "reading the history from the exchange…"
FEE_SHOWN = Decimal("0.0001")


def stamp(ms: int | None) -> str:
    """``11-24 13:05:02`` in UTC (the day column says which year when it matters)."""
    if ms is None:
        return fmt.DASH
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%m-%d %H:%M:%S")


def _signed(value: Decimal) -> str:
    return "" if value == 0 else ("up" if value > 0 else "down")


def _side(side: str) -> tuple[str, str]:
    return fmt.side_word(side), "up" if side == "Bid" else "down"


def _fee(value: Decimal) -> str:
    """Four decimals (the CSV has every digit); a fee too small for them shows exactly."""
    return fmt.num(value, 4) if value == 0 or abs(value) >= FEE_SHOWN else fmt.exact(value)


def fill_cells(fill: Fill) -> Cells:
    fee = fee_in_quote(fill)
    return (
        (stamp(fill.timestamp_ms), "muted"),
        (fill.symbol, ""),
        _side(fill.side),
        (fmt.exact(fill.price), ""),
        (fmt.exact(fill.quantity), ""),
        (fmt.num(fill.price * fill.quantity), ""),
        (_fee(fill.fee) + " " + fill.fee_symbol, "muted" if fee is None else ""),
        ("maker" if fill.is_maker else "taker", "muted"),
    )


def order_cells(order: Order) -> Cells:
    status = order.status
    style = "up" if status == "Filled" else ("muted" if status in ("Cancelled", "Expired") else "")
    return (
        (stamp(order.created_at_ms), "muted"),
        (order.symbol, ""),
        _side(order.side),
        (order.order_type + (" trig" if order.trigger_price is not None else ""), ""),
        (status, style),
        (fmt.exact(order.price) or fmt.DASH, ""),
        (fmt.exact(order.quantity) or fmt.DASH, ""),
        (fmt.exact(order.executed_quantity), ""),
        (fmt.num(order.executed_quote_quantity), ""),
    )


def funding_cells(payment: FundingPayment) -> Cells:
    return (
        (stamp(payment.interval_end_ms), "muted"),
        (payment.symbol, ""),
        (fmt.pct(payment.funding_rate, 4), ""),
        (fmt.num(payment.quantity, 6, sign=True), _signed(payment.quantity)),
    )


def pnl_cells(row: PnlRow) -> Cells:
    return (
        (row.day, ""),
        (row.symbol, ""),
        (str(row.fills), ""),
        (fmt.num(row.volume), ""),
        (fmt.num(row.realised, sign=True), _signed(row.realised)),
        (fmt.num(row.fees), ""),
        (fmt.num(row.funding, 4, sign=True), _signed(row.funding)),
        (fmt.num(row.net, sign=True), _signed(row.net)),
    )


def _cells(
    items: Sequence[T], render: Callable[[T], Cells], start: int, end: int
) -> dict[str, Cells]:
    return {str(i): render(items[i]) for i in range(start, end)}


class FillsTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("time", "Time UTC", 14, right=False),
        Column("symbol", "Market", 13, right=False),
        Column("side", "Side", 4, right=False),
        Column("price", "Price", 9),
        Column("qty", "Qty", 7),
        Column("notional", "Notional", 9, drop_rank=1),
        Column("fee", "Fee", 11, drop_rank=2),
        Column("liquidity", "Liq", 5, right=False, drop_rank=3),
    )


class OrdersTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("time", "Created UTC", 14, right=False),
        Column("symbol", "Market", 13, right=False),
        Column("side", "Side", 4, right=False),
        Column("type", "Type", 6, right=False, drop_rank=3),
        Column("status", "Status", 9, right=False),
        Column("price", "Price", 9, drop_rank=2),
        Column("qty", "Qty", 7, drop_rank=1),
        Column("filled", "Filled", 7),
        Column("filled_quote", "Filled $", 9, drop_rank=4),
    )


class PaymentsTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("time", "Interval end", 14, right=False),
        Column("symbol", "Market", 13, right=False),
        Column("rate", "Rate", 9),
        Column("amount", "Amount", 10),
    )


class PnlTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("day", "Day UTC", 10, right=False),
        Column("symbol", "Market", 13, right=False),
        Column("fills", "Fills", 5, drop_rank=3),
        Column("volume", "Volume", 10, drop_rank=2),
        Column("realised", "Realised", 9),
        Column("fees", "Fees", 7, drop_rank=1),
        Column("funding", "Funding", 9),
        Column("net", "Net", 9),
    )


TABLES: Mapping[Tab, type[DiffTable]] = {
    "fills": FillsTable,
    "orders": OrdersTable,
    "funding": PaymentsTable,
    "pnl": PnlTable,
}


class HistoryScreen(ModalScreen[None]):
    """Tabs of the account's history, one page of one tab drawn at a time."""

    class Reload(Message):
        """Read the history from the exchange again."""

        def __init__(self, origin: HistoryScreen) -> None:
            super().__init__()
            self.origin = origin
            """The screen that asked: the read's result goes back to it."""

    class Export(Message):
        """Write the history read last as CSV files."""

        def __init__(self, origin: HistoryScreen, view: HistoryView) -> None:
            super().__init__()
            self.origin = origin
            """The screen that asked: where the outcome is said."""
            self.view = view
            """What is exported: the read on screen, not a new one."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        *keys.bindings("history"),
        Binding("escape", "dismiss(None)", "Close"),
    ]

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.view: HistoryView | None = None
        self.failure: str | None = None
        self.tab: Tab = "fills"
        self.page = 0
        self.cells_built = 0
        """Rows formatted since the screen opened: a page's worth per page drawn."""
        self._message = ""
        specs = {spec.id: spec for spec in keys.by_scope("history")}
        self._hint = " · ".join(
            "/".join(keys.display_key(specs[i].key, overrides, i) for i in ids) + " " + word
            for ids, word in HINTS
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box"):
            yield Static(id="history-tabs")
            yield Static(id="history-totals", markup=False)
            for tab, table in TABLES.items():
                yield table(id=f"history-{tab}")
            yield Static(READING, id="history-empty", markup=False)
            yield Static(id="history-note", markup=False)

    def on_mount(self) -> None:
        self.query_one(
            "#history-box"
        ).border_title = "History · from the exchange · times UTC · esc close"
        self._redraw()

    # -------------------------------------------------------------- the app's calls

    def show(self, view: HistoryView) -> None:
        """A fresh read: drawn from its first page, on the tab the trader is on."""
        self.view, self.failure, self.page = view, None, 0
        if self.is_mounted:
            self._redraw()

    def failed(self, message: str) -> None:
        """The read as a whole failed: say so in place of the rows."""
        self.failure = message
        if self.is_mounted:
            self._redraw()

    def say(self, message: str) -> None:
        """A word on the screen's status line (an export's path, a reload)."""
        self._message = message
        if self.is_mounted:
            self._draw_note()

    # -------------------------------------------------------------- keys

    def action_tab(self, step: int) -> None:
        self.tab = TABS[(TABS.index(self.tab) + step) % len(TABS)]
        self.page = 0
        self._redraw()

    def action_page(self, step: int) -> None:
        if self.view is None:
            return
        pages = page_count(self.view.count(self.tab))
        page = max(0, min(pages - 1, self.page + step))
        if page != self.page:
            self.page = page
            self._redraw()

    def action_export(self) -> None:
        if self.view is None:
            self.say("nothing to export yet")
            return
        self.post_message(self.Export(self, self.view))

    def action_reload(self) -> None:
        self.say("reading the history again…")
        self.post_message(self.Reload(self))

    # -------------------------------------------------------------- drawing

    def _rows(self) -> dict[str, Cells]:
        """The page's cells, keyed by position in the tab's list (only the page built)."""
        view = self.view
        if view is None:
            return {}
        start, end = page_bounds(view.count(self.tab), self.page)
        history = view.history
        if self.tab == "fills":
            rows = _cells(history.fills.rows, fill_cells, start, end)
        elif self.tab == "orders":
            rows = _cells(history.orders.rows, order_cells, start, end)
        elif self.tab == "funding":
            rows = _cells(history.funding.rows, funding_cells, start, end)
        else:
            rows = _cells(view.pnl, pnl_cells, start, end)
        self.cells_built += len(rows)
        return rows

    def _redraw(self) -> None:
        view, tab = self.view, self.tab
        self.query_one("#history-tabs", Static).update(self._tabs_line())
        for name, table_class in TABLES.items():
            self.query_one(table_class).display = False if name != tab else bool(view)
        table = self.query_one(TABLES[tab])
        rows = self._rows()
        table.sync(rows)
        if rows:
            table.move_cursor(row=0, animate=False)
        empty = self.query_one("#history-empty", Static)
        error = self.failure or (view.error(tab) if view else None)
        if error:
            empty.update(f"could not read the history: {error}")
        elif view is not None and not rows:
            empty.update(f"no {TAB_TITLES[tab].lower()} in the exchange's history")
        else:
            empty.update(READING)
        empty.display = not rows
        table.display = bool(rows)
        if rows:
            table.focus()
        totals = ""
        if view is not None and not error:
            totals = totals_line(view, tab)
            if view.capped(tab):
                totals += f" · CAPPED: the newest {view.history.cap:,} rows per kind only"
        self.query_one("#history-totals", Static).update(totals)
        self._draw_note()

    def _tabs_line(self) -> Text:
        line = Text()
        for i, tab in enumerate(TABS):
            count = "" if self.view is None else f" {self.view.count(tab):,}"
            line.append("│" if i else "")
            line.append(f" {TAB_TITLES[tab]}{count} ", "reverse bold" if tab == self.tab else "")
        return line

    def _draw_note(self) -> None:
        parts = []
        if self.view is not None:
            total = self.view.count(self.tab)
            start, end = page_bounds(total, self.page)
            if total:
                page = f"page {self.page + 1}/{page_count(total)}"
                parts.append(f"{start + 1:,}–{end:,} of {total:,} · {page}")
        parts.append(self._hint)
        if self._message:
            parts.append(self._message)
        self.query_one("#history-note", Static).update(" · ".join(parts))
