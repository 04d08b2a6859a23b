"""The history screen's CSV export: one file per tab, exact numbers, UTC times.

Written into a fresh directory under the data directory (``paths.data_dir()``), named by
the time of the export, so a second export never overwrites the first. Values are the
exchange's own decimals, unformatted (no thousands separators, no rounding): the files
are for a spreadsheet or a tax tool, which must add up to the same totals as the screen.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bpx_tui.ui.history_model import HistoryView, fee_in_quote

Cell = str | int | Decimal | bool | None


def iso(ms: int | None) -> str:
    """UTC time to the millisecond, ISO 8601 with ``Z``; empty when unknown."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 1.5000 -> 1.5; 100 stays 100
    return str(value)


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([_text(cell) for cell in row] for row in rows)


def export(view: HistoryView, data_dir: Path, now_ms: int) -> Path:
    """Write ``fills.csv``, ``orders.csv``, ``funding.csv`` and ``pnl.csv``; the directory.

    A tab whose read failed is not written (an empty file would read as "no history").
    """
    stamp = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y%m%d-%H%M%S")
    directory = data_dir / "history" / stamp
    directory.mkdir(parents=True, exist_ok=True)
    history = view.history
    if history.fills.error is None:
        _write(
            directory / "fills.csv",
            (
                "time_utc", "symbol", "side", "price", "quantity", "notional", "fee",
                "fee_symbol", "fee_quote", "maker", "trade_id", "order_id",
            ),
            (
                (
                    iso(f.timestamp_ms), f.symbol, f.side, f.price, f.quantity,
                    f.price * f.quantity, f.fee, f.fee_symbol, fee_in_quote(f), f.is_maker,
                    f.trade_id, f.order_id,
                )
                for f in history.fills.rows
            ),
        )  # fmt: skip
    if history.orders.error is None:
        _write(
            directory / "orders.csv",
            (
                "created_utc", "symbol", "side", "type", "status", "price", "quantity",
                "executed_quantity", "executed_quote", "trigger_price", "order_id",
            ),
            (
                (
                    iso(o.created_at_ms), o.symbol, o.side, o.order_type, o.status, o.price,
                    o.quantity, o.executed_quantity, o.executed_quote_quantity,
                    o.trigger_price, o.id,
                )
                for o in history.orders.rows
            ),
        )  # fmt: skip
    if history.funding.error is None:
        _write(
            directory / "funding.csv",
            ("interval_end_utc", "symbol", "funding_rate", "amount"),
            (
                (iso(p.interval_end_ms), p.symbol, p.funding_rate, p.quantity)
                for p in history.funding.rows
            ),
        )
    if view.error("pnl") is None:
        _write(
            directory / "pnl.csv",
            ("day_utc", "symbol", "fills", "volume", "realised", "fees", "funding", "net"),
            (
                (r.day, r.symbol, r.fills, r.volume, r.realised, r.fees, r.funding, r.net)
                for r in view.pnl
            ),
        )
    return directory
