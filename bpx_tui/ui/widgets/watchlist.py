"""The watchlist: several markets at a glance; Enter makes a row the active market.

Prices here change about once a second per market (ticker and mark streams), so a
diff-updated DataTable is cheap enough; a changed last price flashes up/down for
:data:`FLASH_S` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from textual.message import Message

from bpx_tui.ui import fmt
from bpx_tui.ui.freshness import LIVE, Freshness
from bpx_tui.ui.widgets.table import Cell, Column, DiffTable

if TYPE_CHECKING:
    from bpx_tui.exchange.client import BackpackClient

FLASH_S = 0.6


@dataclass(slots=True)
class _Flash:
    price: Decimal
    direction: str = ""
    until: float = 0.0


def last_price(client: BackpackClient, symbol: str) -> Decimal | None:
    """The freshest traded price: the last trade, else the 24h ticker's last."""
    trade = client.last_trades.get(symbol)
    if trade is not None:
        return trade.price
    ticker = client.tickers.get(symbol)
    return ticker.last_price if ticker is not None else None


class Watchlist(DiffTable):
    COLUMNS: ClassVar = (
        Column("symbol", "Market", 16, right=False),
        Column("last", "Last", 12),
        Column("change", "24h", 8),
        Column("mark", "Mark", 12),
        Column("index", "Index", 12),
        Column("funding", "Fund/int", 10),
        Column("apr", "APR", 9),
        Column("next", "Next", 8),
        Column("oi", "OI", 8),
    )

    class MarketChosen(Message):
        def __init__(self, symbol: str) -> None:
            self.symbol = symbol
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._flash: dict[str, _Flash] = {}

    def on_data_table_row_selected(self, event: DiffTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.MarketChosen(str(event.row_key.value)))

    def show(
        self,
        client: BackpackClient,
        symbols: list[str],
        active: str,
        open_interest: dict[str, Decimal],
        now_ms: int,
        now: float,
        freshness: Mapping[str, Freshness] | None = None,
    ) -> bool:
        """Push the current values; returns True while a flash is still running.

        A market whose data is not live has its numbers dimmed (no flash), and the
        panel's subtitle says how old the oldest is.
        """
        rows: dict[str, tuple[Cell, ...]] = {}
        flashing = False
        worst: Freshness = LIVE
        for symbol in symbols:
            cells, flash = self._row(client, symbol, active, open_interest, now_ms, now)
            fresh = (freshness or {}).get(symbol, LIVE)
            if not fresh.live:
                cells = (cells[0], *((text, "stale") for text, _style in cells[1:]))
                flash = False
                if worst.live or (fresh.age_s or 0) > (worst.age_s or 0):
                    worst = fresh
            rows[symbol] = cells
            flashing = flashing or flash
        self.sync(rows)
        self.border_subtitle = worst.label
        self.set_class(not worst.live, "-stale")
        return flashing

    def _row(
        self,
        client: BackpackClient,
        symbol: str,
        active: str,
        open_interest: dict[str, Decimal],
        now_ms: int,
        now: float,
    ) -> tuple[tuple[Cell, ...], bool]:
        market = client.markets.get(symbol)
        decimals = market.price_decimals if market else 2
        last = last_price(client, symbol)
        direction = self._direction(symbol, last, now)
        ticker = client.tickers.get(symbol)
        mark = client.marks.get(symbol)
        change = ticker.change_percent if ticker else None
        rate = mark.funding_rate if mark else None
        interval = market.funding_interval_ms if market else None
        next_ms = mark.next_funding_ms - now_ms if mark and mark.next_funding_ms else None
        oi = open_interest.get(symbol)
        cells: tuple[Cell, ...] = (
            (("▶ " if symbol == active else "  ") + symbol, "active" if symbol == active else ""),
            (fmt.num(last, decimals), direction),
            (fmt.pct(change), _sign_style(change)),
            (fmt.num(mark.mark_price if mark else None, decimals), ""),
            (fmt.num(mark.index_price if mark else None, decimals), "muted"),
            (fmt.pct(rate, 4), _sign_style(rate)),
            (fmt.pct(fmt.annualised(rate, interval), 1), _sign_style(rate)),
            (fmt.countdown(next_ms) if next_ms is not None else fmt.DASH, "muted"),
            (fmt.compact(oi), "muted"),
        )
        return cells, bool(direction)

    def _direction(self, symbol: str, last: Decimal | None, now: float) -> str:
        if last is None:
            return ""
        flash = self._flash.get(symbol)
        if flash is None:
            self._flash[symbol] = _Flash(last)
            return ""
        if last != flash.price:
            flash.direction = "up" if last > flash.price else "down"
            flash.until = now + FLASH_S
            flash.price = last
        return flash.direction if now < flash.until else ""


def _sign_style(value: Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return "up" if value > 0 else "down"
