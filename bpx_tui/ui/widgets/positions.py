"""Open positions with live PnL and liquidation distance, or ``No open positions``.

Mark-dependent columns are recomputed from the live mark stream so PnL moves with the
market between the (sparser) position updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from bpx_tui.exchange.models import Position
from bpx_tui.ui import fmt
from bpx_tui.ui.freshness import LIVE, Freshness
from bpx_tui.ui.widgets.table import Cell, Column, DiffTable, TablePanel

if TYPE_CHECKING:
    from bpx_tui.exchange.client import BackpackClient

NO_POSITIONS = "No open positions"
# Columns computed from the live mark: dimmed when that mark is not live.
MARK_COLUMNS = frozenset({"notional", "mark", "upnl", "upnl_pct", "liq_dist"})


class PositionsTable(DiffTable):
    COLUMNS: ClassVar = (
        Column("symbol", "Market", 15, right=False),
        Column("side", "Side", 5, right=False),
        Column("size", "Size", 10),
        Column("notional", "Notional", 11),
        Column("entry", "Entry", 11),
        Column("mark", "Mark", 11),
        Column("upnl", "uPnL", 10),
        Column("upnl_pct", "uPnL%", 8),
        Column("liq", "Liq", 11),
        Column("liq_dist", "Liq dist", 8),
        Column("funding", "Funding", 9),
    )


def position_cells(
    position: Position, mark: Decimal | None, decimals: int, qty_decimals: int
) -> tuple[Cell, ...]:
    """One row; ``mark`` is the live mark (falls back to the position's own)."""
    price = mark if mark is not None and mark > 0 else position.mark_price
    quantity = position.net_quantity
    entry = position.entry_price
    upnl = (price - entry) * quantity if price and entry else position.pnl_unrealized
    cost = abs(quantity) * entry
    upnl_pct = upnl / cost if cost else None
    liq = position.est_liquidation_price
    liq_dist = abs(price - liq) / price if liq and price else None
    side_style = "up" if quantity > 0 else "down"
    pnl_style = "up" if upnl > 0 else "down" if upnl < 0 else ""
    danger = "alarm" if liq_dist is not None and liq_dist < Decimal("0.05") else "muted"
    return (
        (position.symbol, "active"),
        (position.side, side_style),
        (fmt.num(abs(quantity), qty_decimals), ""),
        (fmt.num(abs(quantity) * price, 2), ""),
        (fmt.num(entry, decimals), ""),
        (fmt.num(price, decimals), ""),
        (fmt.num(upnl, 2, sign=True), pnl_style),
        (fmt.pct(upnl_pct), pnl_style),
        (fmt.num(liq, decimals) if liq else fmt.DASH, "muted"),
        (fmt.pct(liq_dist, 1, sign=False) if liq_dist is not None else fmt.DASH, danger),
        (fmt.num(position.cumulative_funding, 2, sign=True), "muted"),
    )


class PositionsPanel(TablePanel):
    """The table, or the words ``No open positions`` when there is nothing to show."""

    TABLE = PositionsTable
    TITLE = "Positions"
    EMPTY = NO_POSITIONS
    STEM = "positions"

    @property
    def table(self) -> PositionsTable:
        return self.query_one(PositionsTable)

    def show(
        self, client: BackpackClient, freshness: Mapping[str, Freshness] | None = None
    ) -> None:
        rows: dict[str, tuple[Cell, ...]] = {}
        stale_ages: list[int] = []
        columns = PositionsTable.COLUMNS
        for symbol in sorted(client.positions):
            position = client.positions[symbol]
            if position.net_quantity == 0:
                continue
            market = client.markets.get(symbol)
            mark = client.marks.get(symbol)
            cells = position_cells(
                position,
                mark.mark_price if mark else None,
                market.price_decimals if market else 2,
                market.quantity_decimals if market else 4,
            )
            fresh = (freshness or {}).get(symbol, LIVE)
            if not fresh.live:
                stale_ages.append(fresh.age_s or 0)
                cells = tuple(
                    (text, "stale") if column.key in MARK_COLUMNS else (text, style)
                    for (text, style), column in zip(cells, columns, strict=True)
                )
            rows[symbol] = cells
        subtitle = f"{len(rows)} open"
        if stale_ages:
            subtitle += f" · marks stale {max(stale_ages)} s"
        self.set_class(bool(stale_ages), "-stale")
        self.show_rows(rows, subtitle)
