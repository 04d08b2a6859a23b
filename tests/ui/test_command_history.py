"""The command line's history: the walk, the draft it keeps, the file it outlives a run in."""

from __future__ import annotations

from pathlib import Path

from bpx_tui.ui.command_grammar import apply_completion, complete
from bpx_tui.ui.command_history import LIMIT, CommandHistory


def test_up_walks_back_and_down_returns_to_the_line_being_typed() -> None:
    history = CommandHistory(entries=["buy 0.01", "lev 3", "close"])
    assert history.older("sym e") == "close"
    assert history.older("close") == "lev 3"
    assert history.older("lev 3") == "buy 0.01"
    assert history.older("buy 0.01") == "buy 0.01"  # the oldest stays
    assert history.newer() == "lev 3"
    assert history.newer() == "close"
    assert history.newer() == "sym e"  # past the newest: the draft, not an empty line
    assert history.newer() == "sym e"


def test_an_entered_line_is_kept_once_and_the_walk_restarts_at_the_bottom(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "command_history.txt"
    history = CommandHistory(path)
    for line in ("buy 0.01", "buy 0.01", "  ", "cancel all"):
        history.add(line)
    assert history.entries == ["buy 0.01", "cancel all"]
    assert history.older("") == "cancel all"
    history.add("lev 3")
    assert history.older("") == "lev 3"
    # The next run reads it back.
    assert CommandHistory(path).entries == ["buy 0.01", "cancel all", "lev 3"]


def test_the_file_keeps_the_newest_lines_and_a_broken_one_costs_only_the_recall(
    tmp_path: Path,
) -> None:
    path = tmp_path / "command_history.txt"
    history = CommandHistory(path)
    for n in range(LIMIT + 5):
        history.add(f"lev {n}")
    kept = CommandHistory(path).entries
    assert len(kept) == LIMIT and kept[0] == "lev 5" and kept[-1] == f"lev {LIMIT + 4}"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert CommandHistory(path).entries == []
    blocked = CommandHistory(tmp_path / "file" / "history.txt")
    (tmp_path / "file").write_text("a file where the directory should be")
    blocked.add("close")  # cannot be saved: remembered for this run, no exception
    assert blocked.entries == ["close"]


def test_tab_completes_one_word_or_as_much_as_the_candidates_share() -> None:
    symbols = ["BTC_USDC_PERP", "BTC_USDC", "ETH_USDC_PERP"]
    text = "ca"
    assert apply_completion(text, 2, complete(text, 2, symbols)) == ("cancel ", 7)
    text = "sym bt"
    assert apply_completion(text, 6, complete(text, 6, symbols)) == ("sym BTC_USDC", 12)
    text = "c"  # close, cancel: nothing shared beyond "c", the line stays
    assert apply_completion(text, 1, complete(text, 1, symbols)) == ("c", 1)
    text = "buy 0.1 mar @1"  # completing inside the line adds no space
    assert apply_completion(text, 11, complete(text, 11, symbols)) == ("buy 0.1 market @1", 14)
