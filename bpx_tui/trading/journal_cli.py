"""``bpx-tui journal``: realised PnL and fees per day and market, from the local journal.

Reads only the journal file (no network, no credentials), so it works offline and
while the console is running (WAL lets a reader in beside the writer). A path that is
not a journal is refused with one line naming the path and the problem, before
anything is opened for writing: pointing the command at the wrong file must not turn
that file into an empty journal.
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from bpx_tui import paths
from bpx_tui.trading.journal import DailySummary, Journal

COLUMNS = ("day", "market", "fills", "volume", "fees", "realized_pnl", "net")
SQLITE_MAGIC = b"SQLite format 3\x00"
JOURNAL_TABLES = frozenset({"orders", "fills"})


def problem_with(path: Path) -> str | None:
    """Why ``path`` cannot be read as a journal, or None when it can."""
    if not path.exists():
        return "no journal here yet: the first order creates it (the demo's: --demo)"
    if path.is_dir():
        return "is a directory, not a journal file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not head:
        return "is an empty file, not a journal"
    if head != SQLITE_MAGIC:
        return "is not a bpx-tui journal (not an SQLite database)"
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        return f"is damaged: {exc}"
    missing = JOURNAL_TABLES - tables
    if missing:
        names = " and ".join(sorted(missing))
        plural = "s" if len(missing) > 1 else ""
        return f"is an SQLite database but not a bpx-tui journal (no {names} table{plural})"
    return None


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
        prog="bpx-tui journal",
        description="Realised PnL and fees per day and market, from the order journal.",
        epilog=(
            f"The live journal is {paths.journal_file()}; the demo keeps its own at "
            f"{paths.demo_journal_file()} (--demo). BPX_TUI_HOME moves both."
        ),
    )
    parser.add_argument("path", nargs="?", type=Path, help="journal file to read")
    parser.add_argument("--journal", type=Path, default=None, help="the same, as an option")
    parser.add_argument("--demo", action="store_true", help="read the demo's journal")
    parser.add_argument("--csv", action="store_true", help="write CSV instead of a table")
    parser.add_argument(
        "--unresolved", action="store_true", help="list orders whose outcome is not known yet"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    default = paths.demo_journal_file() if args.demo else paths.journal_file()
    path: Path = args.path or args.journal or default
    problem = problem_with(path)
    if problem is not None:
        print(f"bpx-tui journal: {path}: {problem}", file=sys.stderr)
        return 1
    try:
        return _report(path, args, out)
    except sqlite3.DatabaseError as exc:
        print(f"bpx-tui journal: {path}: is damaged: {exc}", file=sys.stderr)
        return 1


def _report(path: Path, args: argparse.Namespace, out: TextIO) -> int:
    with Journal(path) as journal:
        if args.unresolved:
            entries = journal.unresolved()
            if not entries:
                print(
                    "no unresolved orders: every order in the journal has a known outcome", file=out
                )
                return 0
            for entry in entries:
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
