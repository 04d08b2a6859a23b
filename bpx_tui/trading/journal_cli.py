"""``bpx-tui journal``: realised PnL and fees per day and market, from the local journal.

Reads only the journal file (no network, no credentials), so it works offline and
while the console is running (WAL lets a reader in beside the writer).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from bpx_tui import paths
from bpx_tui.trading.journal import DailySummary, Journal

COLUMNS = ("day", "market", "fills", "volume", "fees", "realized_pnl", "net")


def _row(item: DailySummary) -> tuple[str, ...]:
    money = (item.volume, item.fees, item.realized_pnl, item.net)
    return (item.day, item.symbol, str(item.fills), *(f"{v:.2f}" for v in money))


def _table(rows: list[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    for index, row in enumerate(rows):
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)
        if index == 0:
            print("  ".join("-" * w for w in widths), file=out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="bpx-tui journal", description="Realised PnL and fees per day and market."
    )
    parser.add_argument("--csv", action="store_true", help="write CSV instead of a table")
    parser.add_argument("--journal", type=Path, default=None, help="journal file to read")
    parser.add_argument(
        "--unresolved", action="store_true", help="list orders whose outcome is not known yet"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    path: Path = args.journal or paths.journal_file()
    if not path.exists():
        print(f"no journal at {path} yet: it is created by the first order", file=sys.stderr)
        return 1
    with Journal(path) as journal:
        if args.unresolved:
            for entry in journal.unresolved():
                print(
                    f"{entry.client_id}\t{entry.symbol}\t{entry.state}\t{entry.detail or ''}",
                    file=out,
                )
            return 0
        summary = journal.fills_summary()
    if args.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(_row(item) for item in summary)
        return 0
    if not summary:
        print("no fills recorded", file=out)
        return 0
    rows = [COLUMNS, *(_row(item) for item in summary)]
    zero = Decimal(0)
    total = DailySummary(
        "total",
        "",
        sum(i.fills for i in summary),
        sum((i.volume for i in summary), zero),
        sum((i.fees for i in summary), zero),
        sum((i.realized_pnl for i in summary), zero),
    )
    rows.append(_row(total))
    _table(rows, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
