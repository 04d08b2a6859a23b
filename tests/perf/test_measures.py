"""The small measuring helpers: percentiles, and how start-up spots the first price."""

from __future__ import annotations

import pytest

from bpx_tui.benchmarks.common import percentile
from bpx_tui.benchmarks.startup import _ESCAPES, _PRICE


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    with pytest.raises(ValueError):
        percentile([], 50)


def _shows_price(raw: bytes) -> bool:
    return _PRICE.search(_ESCAPES.sub(b"", raw)) is not None


def test_a_styled_ladder_price_counts_as_painted() -> None:
    assert _shows_price(b"\x1b[38;2;38;166;91m\x1b[48;2;0;0;0m  97,005.6\x1b[0m  0.15038")
    assert _shows_price(b"\x1b[12;40H1,234.25")


def test_start_up_screen_text_is_not_a_price() -> None:
    assert not _shows_price(b"\x1b[2J\x1b[?1049h connecting to http://127.0.0.1:44385: loading")
    assert not _shows_price(b"starting the local exchange (demo) 2026-11-24 01:57:24.5")
    assert not _shows_price(b"\x1b[38;2;1;2;3m97\x1b[0m")
