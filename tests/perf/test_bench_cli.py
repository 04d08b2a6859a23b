"""``bpx-tui bench`` runs, prints its table and writes JSON (one cheap section only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bpx_tui import bench


def test_book_section_writes_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["--quick", "--only", "book", "--messages", "2000", "--reps", "1", "--json", str(out)]
    assert bench.main(argv) == 0
    table = capsys.readouterr().out
    assert "apply + top-20 read per message" in table and "µs/msg" in table
    report = json.loads(out.read_text())
    assert report["plan"] == {"quick": True, "messages": 2000, "reps": 1}
    (row,) = report["results"]
    assert row["section"] == "book" and row["unit"] == "µs/msg"
    assert row["value"] > 0 and row["detail"]["apply_only_us"] > 0
    assert row["detail"]["messages"] == 2000 and len(row["detail"]["runs_us"]) == 1
    assert row["target"] == "<= 4" and isinstance(row["ok"], bool)
    assert report["machine"]["cpus"] >= 1 and report["machine"]["sum_1000_us"] > 0


def test_markdown_is_the_readme_table_of_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, md = tmp_path / "bench.json", tmp_path / "bench.md"
    argv = ["--quick", "--only", "book", "--messages", "2000", "--reps", "1"]
    assert bench.main([*argv, "--json", str(out), "--markdown", str(md)]) == 0
    capsys.readouterr()
    (row,) = json.loads(out.read_text())["results"]
    head, blank, columns, rule, line = md.read_text(encoding="utf-8").splitlines()
    assert head.startswith("bpx-tui bench (quick; median of 1") and "sum(1000)" in head
    assert blank == "" and columns.startswith("| section | metric | value | target | met")
    assert rule == "|---|---|---|---|---|---|"
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[:2] == ["book", row["metric"]]
    assert cells[2] == f"{row['value']:,} µs/msg" and cells[3] == "≤ 4"
    assert cells[4] == ("yes" if row["ok"] else "**no**") and float(cells[5].split("->")[0]) > 0


def test_unknown_section_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main(["--only", "book,warp"])
    assert exc.value.code == 2
    assert "--only: expected one of book, pipeline" in capsys.readouterr().err


def test_cli_dispatches_bench(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    command = [sys.executable, "-m", "bpx_tui", "bench", "--quick", "--only", "book"]
    command += ["--messages", "1000", "--reps", "1", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "bench: book" in done.stderr
    assert json.loads(out.read_text())["results"][0]["section"] == "book"


def test_failed_section_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(plan: object, data: object) -> list[bench.Row]:
        raise RuntimeError("no socket today")

    monkeypatch.setattr(bench, "_section", lambda name: broken)
    assert bench.main(["--only", "pipeline", "--reps", "1"]) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "RuntimeError: no socket today" in out


@pytest.mark.parametrize(
    "argv",
    [["--refresh-hz", "0"], ["--refresh-hz", "61"], ["--reps", "0"], ["--messages", "10"]],
)
def test_bad_numbers_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2


def test_pipeline_vs_ccxt_compares_three_consumers_of_one_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Counts and shape only: each consumer ran every round and its book was checked
    (a wrong book fails the section); no figure is asserted."""
    pytest.importorskip("ccxt.pro")
    out = tmp_path / "bench.json"
    argv = ["--only", "pipeline-vs-ccxt", "--messages", "2000", "--reps", "2", "--json", str(out)]
    assert bench.main(argv) == 0
    table = capsys.readouterr().out
    assert "sum(1000) µs" in table.splitlines()[1]
    rows = json.loads(out.read_text())["results"]
    assert [row["metric"].split(":")[0] for row in rows[:3]] == ["ours", "ccxt", "floor"]
    for row in rows:
        assert row["section"] == "pipeline-vs-ccxt" and row["value"] > 0
        assert len(row["detail"]["runs"]) == 2 and row["detail"]["messages"] == 2000
        assert len(row["sum_1000_us"]) == 2 and min(row["sum_1000_us"]) > 0
    assert [row["target"] for row in rows[3:]] == [">= 3", ">= 85"]
    assert all(row["detail"]["cpu_msg_s"] > 0 for row in rows[:3])
