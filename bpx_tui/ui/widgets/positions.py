"""Open positions with live PnL and liquidation distance, or ``No open positions``.

The rows (:class:`~bpx_tui.ui.views.PositionRow`) are marked to the live mark stream, so
PnL moves with the market between the (sparser) position updates; this panel only
decides how they look. Under the table, one line per spot-against-perp pair
(:mod:`bpx_tui.ui.pairs`): the hedge, its delta and the funding it has earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

from textual.app import ComposeResult
from textual.widgets import Static

from bpx_tui.ui import fmt
from bpx_tui.ui.pairs import PairRow, pair_line
from bpx_tui.ui.views import PositionRow
from bpx_tui.ui.widgets.table import CellMemo, Cells, Column, DiffTable, TablePanel

NO_POSITIONS = "No open positions"
# Columns computed from the live mark: dimmed when that mark is not live.
MARK_COLUMNS = frozenset({"notional", "mark", "upnl", "upnl_pct", "liq_dist"})
LIQUIDATION_ALARM = Decimal("0.05")  # closer than 5 % of the mark: drawn as an alarm
FAR = Decimal(10)  # a liquidation price 10x (or a tenth of) the mark is too far to matter
FAR_TEXT = "> 10x away"
DISTANCE_SHOWN = Decimal(10)  # 1,000 %


class PositionsTable(DiffTable):
    # Market, Side, Size, Entry, Mark, uPnL and Liq fit 78 cells (an 80-column
    # terminal); the rest leave as the panel narrows, highest rank first. The exits
    # stay longer than the notional and the percentages: a missing stop-loss matters.
    COLUMNS: ClassVar = (
        Column("symbol", "Market", 14, right=False),
        Column("side", "Side", 5, right=False),
        Column("size", "Size", 9),
        Column("notional", "Notional", 10, drop_rank=5),
        Column("entry", "Entry", 10),
        Column("mark", "Mark", 10),
        Column("upnl", "uPnL", 9),
        Column("upnl_pct", "uPnL%", 7, drop_rank=6),
        Column("liq", "Liq", 10),
        Column("liq_dist", "Liq dist", 8, drop_rank=2),
        Column("tp", "TP", 10, drop_rank=4),
        Column("sl", "SL", 10, drop_rank=3),
        Column("realized", "rPnL", 9, drop_rank=7),
        Column("funding", "Funding", 9, drop_rank=1),
    )


_STALE_AT = tuple(column.key in MARK_COLUMNS for column in PositionsTable.COLUMNS)


def liquidation_text(row: PositionRow) -> str:
    """The exchange's estimate; one absurdly far away (a small short's 38,524,659) says
    so instead of printing a number nobody can act on."""
    liquidation, mark = row.liquidation, row.mark
    if not liquidation:
        return fmt.DASH  # the exchange says there is none
    if mark and (liquidation >= mark * FAR or liquidation * FAR <= mark):
        return FAR_TEXT
    return fmt.num(liquidation, row.price_decimals)


def distance_text(distance: Decimal | None) -> str:
    if distance is None:
        return fmt.DASH
    if distance > DISTANCE_SHOWN:
        return f">{fmt.pct(DISTANCE_SHOWN, 0, sign=False)}"
    return fmt.pct(distance, 1, sign=False)


def exit_text(price: Decimal | None, count: int, decimals: int) -> str:
    """The nearest exit's trigger price, ×count when there are several; a dash for none
    (a position without a stop-loss is worth seeing at a glance)."""
    if price is None:
        return fmt.DASH
    return fmt.num(price, decimals) + (f"×{count}" if count > 1 else "")


def _sign(value: Decimal) -> str:
    return "up" if value > 0 else "down" if value < 0 else "muted"


def position_cells(row: PositionRow) -> Cells:
    decimals = row.price_decimals
    upnl = row.upnl
    distance = row.liquidation_distance
    pnl_style = "up" if upnl > 0 else "down" if upnl < 0 else ""
    danger = "alarm" if distance is not None and distance < LIQUIDATION_ALARM else "muted"
    cells: Cells = (
        (row.symbol, "active"),
        (row.side, "up" if row.long else "down"),
        (fmt.num(row.size, row.quantity_decimals), ""),
        (fmt.num(row.notional, 2), ""),
        (fmt.num(row.entry, decimals), ""),
        (fmt.num(row.mark, decimals), ""),
        (fmt.num(upnl, 2, sign=True), pnl_style),
        (fmt.pct(row.upnl_pct), pnl_style),
        (liquidation_text(row), "muted"),
        (distance_text(distance), danger),
        (
            exit_text(row.take_profit, row.take_profits, decimals),
            "up" if row.take_profit else "muted",
        ),
        (exit_text(row.stop_loss, row.stop_losses, decimals), "down" if row.stop_loss else "muted"),
        (fmt.num(row.realized, 2, sign=True), _sign(row.realized)),
        (fmt.num(row.funding, 2, sign=True), "muted"),
    )
    if row.fresh.live:
        return cells
    return tuple(
        (text, "stale") if stale else (text, style)
        for (text, style), stale in zip(cells, _STALE_AT, strict=True)
    )


class PositionsPanel(TablePanel):
    """The table, or the words ``No open positions`` when there is nothing to show."""

    TABLE = PositionsTable
    TITLE = "Positions"
    EMPTY = NO_POSITIONS
    STEM = "positions"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cells = CellMemo(position_cells)
        self._pairs_text = ""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static(id="positions-pairs")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#positions-pairs", Static).display = False

    @property
    def table(self) -> PositionsTable:
        return self.query_one(PositionsTable)

    def show_pairs(self, pairs: Sequence[PairRow]) -> None:
        """One line per pair; nothing (and no space taken) without one."""
        text = "\n".join(pair_line(pair) for pair in pairs)
        line = self.query_one("#positions-pairs", Static)
        if text != self._pairs_text:
            self._pairs_text = text
            line.update(text)
            line.display = bool(text)

    def show(self, rows: Sequence[PositionRow]) -> None:
        stale_ages = [row.fresh.age_s or 0 for row in rows if not row.fresh.live]
        subtitle = f"{len(rows)} open"
        if stale_ages:
            subtitle += f" · marks stale {max(stale_ages)} s"
        self.set_class(bool(stale_ages), "-stale")
        self.show_rows(self._cells(rows), subtitle)
