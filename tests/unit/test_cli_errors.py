"""The command line refuses bad input with one clear line and the right exit status.

Run as a user would, in a subprocess (``python -m bpx_tui``): no traceback ever reaches
the terminal, a fixed-choice option names its allowed values, a typo close to one gets
a "did you mean", and ``journal`` names the path and the problem for anything that is
not a journal, without writing to that file.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bpx_tui.choices import did_you_mean
from bpx_tui.trading.journal import Journal


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BPX_TUI_HOME": str(home)}
    for name in ("BPX_API_KEY", "BPX_API_SECRET", "BPX_BASE_URL", "BPX_WS_URL"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "bpx_tui", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "allowed", "suggestion"),
    [
        (["--log-level", "FOO"], "DEBUG, INFO, WARNING, ERROR, CRITICAL", None),
        (["--log-level", "warnin"], "DEBUG, INFO, WARNING, ERROR, CRITICAL", "WARNING"),
        (["sim", "--log-level", "x"], "DEBUG, INFO, WARNING, ERROR, CRITICAL", None),
        (["sim", "--fail-next-order", "hangg"], "error, hang", "hang"),
        (["config", "chek"], "init, path, check", "check"),
        (["config", "zzz"], "init, path, check", None),
        (["bench", "--only", "pipline"], "book, pipeline, ui", "pipeline"),
    ],
)
def test_a_fixed_choice_names_its_values_and_exits_2(
    tmp_path: Path, args: list[str], allowed: str, suggestion: str | None
) -> None:
    result = run(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert allowed in result.stderr
    if suggestion is None:
        assert "did you mean" not in result.stderr
    else:
        assert f"did you mean {suggestion!r}?" in result.stderr


def test_a_choice_is_accepted_in_any_case() -> None:
    from bpx_tui.choices import one_of

    parse = one_of(("DEBUG", "INFO"))
    assert parse(" info ") == "INFO"
    assert did_you_mean("xyz", ("DEBUG", "INFO")) == ""


def _not_journals(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    text = tmp_path / "notes.txt"
    text.write_text("not a journal\n")
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (a)")
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    return {
        "text": (text, "not an SQLite database"),
        "empty": (empty, "empty file"),
        "other database": (other, "not a bpx-tui journal (no fills and orders tables)"),
        "damaged": (damaged, "is damaged"),
        "directory": (tmp_path, "is a directory"),
        "missing": (tmp_path / "nope.sqlite3", "no journal here yet"),
    }


def test_journal_refuses_what_is_not_a_journal_without_touching_it(tmp_path: Path) -> None:
    for what, (path, problem) in _not_journals(tmp_path).items():
        before = path.read_bytes() if path.is_file() else None
        result = run(tmp_path, "journal", str(path))
        assert result.returncode == 1, what
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and problem in lines[0], (what, lines)
        assert "Traceback" not in result.stderr
        if before is not None:
            assert path.read_bytes() == before, f"{what} was written to"


def test_journal_reads_the_demo_journal_and_says_when_nothing_is_unresolved(
    tmp_path: Path,
) -> None:
    demo = tmp_path / "data" / "demo" / "journal.sqlite3"
    Journal(demo).close()
    help_text = run(tmp_path, "journal", "--help").stdout
    assert "--demo" in help_text and str(demo) in "".join(help_text.split())  # wrapped
    result = run(tmp_path, "journal", "--demo", "--unresolved")
    assert result.returncode == 0 and "no unresolved orders" in result.stdout
    assert run(tmp_path, "journal", "--demo").stdout.strip() == "no fills recorded"
    missing = run(tmp_path, "journal")  # the live journal does not exist
    assert missing.returncode == 1 and "--demo" in missing.stderr


def test_config_check_without_a_file_says_where_it_looked(tmp_path: Path) -> None:
    result = run(tmp_path, "config", "check")
    assert result.returncode == 0
    expected = tmp_path / "config" / "config.toml"
    assert result.stdout.startswith(f"no config file at {expected}: the defaults apply")
