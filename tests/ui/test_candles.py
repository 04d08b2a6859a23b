"""The candle chart's pure model: timeframes, the live overlay, scaling and glyphs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bpx_tui.exchange.models import Kline
from bpx_tui.ui import candles
from bpx_tui.ui.candles import Candle, ChartView, PriceLine, Scale, TimeframeError

D = Decimal
MIN = 60_000


def kline(start: int, o: str, h: str, low: str, c: str, v: str = "1") -> Kline:
    return Kline(start, start + MIN, D(o), D(h), D(low), D(c), D(v), 1)


def candle(start: int, o: str, h: str, low: str, c: str, v: str = "1") -> Candle:
    return Candle(start, D(o), D(h), D(low), D(c), D(v))


def test_timeframes_parse_case_insensitively_and_a_bad_one_names_them_all() -> None:
    assert [candles.parse_timeframe(t) for t in ("1m", "5M", " 1h ", "1D")] == [
        "1m",
        "5m",
        "1h",
        "1d",
    ]
    with pytest.raises(TimeframeError, match=r"'7m' is not a timeframe: one of 1m, 5m, 15m"):
        candles.parse_timeframe("7m")


def test_step_walks_the_timeframes_and_stops_at_either_end() -> None:
    assert candles.step("1m", 1) == "5m"
    assert candles.step("4h", 1) == "1d"
    assert candles.step("1d", 1) == "1d"
    assert candles.step("1m", -1) == "1m"
    assert [candles.step("1m", n) for n in range(6)] == list(candles.TIMEFRAMES)


def test_from_klines_sorts_dedupes_and_skips_a_row_without_prices() -> None:
    rows = [
        kline(2 * MIN, "3", "4", "2", "3"),
        kline(0, "1", "2", "1", "2"),
        Kline(MIN, 2 * MIN, None, None, None, None, D(0), 0),
    ]
    assert [c.start_ms for c in candles.from_klines(rows)] == [0, 2 * MIN]


def test_splice_replaces_the_tail_from_its_first_candle() -> None:
    old = (candle(0, "1", "1", "1", "1"), candle(MIN, "2", "2", "2", "2"))
    tail = (candle(MIN, "2", "3", "2", "3"), candle(2 * MIN, "3", "3", "3", "3"))
    assert candles.splice(old, tail) == (old[0], *tail)
    assert candles.splice(old, ()) == old


def test_overlay_moves_the_last_bucket_by_what_each_minute_gained_since_the_read() -> None:
    five = 5 * MIN
    read = (candle(0, "10", "12", "9", "11", "5"), candle(five, "11", "13", "10", "12", "7"))
    read_ms = five + 2 * MIN + 30_000  # the read answered in the bucket's third minute
    baseline = {five + 2 * MIN: D(2)}  # that minute had streamed 2 by then
    minutes = [
        kline(five + MIN, "11", "20", "1", "11", "9"),  # before the read's minute: ignored
        kline(five + 2 * MIN, "12", "14", "12", "13", "3"),  # gained 1 since the read
        kline(five + 3 * MIN, "13", "13", "8", "9", "4"),  # all new
    ]
    shown = candles.overlay(read, minutes, "5m", read_ms, baseline)
    assert shown[0] == read[0]
    assert shown[1] == candle(five, "11", "14", "8", "9", "12")  # 7 + 1 + 4


def test_overlay_opens_a_new_candle_when_a_minute_starts_the_next_bucket() -> None:
    read = (candle(0, "10", "12", "9", "11", "5"),)
    minutes = [kline(5 * MIN, "11", "12", "10", "12", "2")]
    shown = candles.overlay(read, minutes, "5m", 4 * MIN, {})
    assert shown == (read[0], candle(5 * MIN, "11", "12", "10", "12", "2"))


def test_overlay_without_streamed_minutes_is_the_read_itself() -> None:
    read = (candle(0, "10", "12", "9", "11", "5"),)
    assert candles.overlay(read, [], "1h", 10 * MIN, {}) == read


def test_a_column_draws_wick_and_body_in_half_rows() -> None:
    scale = Scale(0.0, 3.5, 8)  # four rows, half-rows 0..7 = prices 3.5 .. 0 by 0.5
    up = candle(0, "1", "3.5", "0", "2.5")  # wick 0..7, body halves 2..5
    assert candles.column(up, scale, 4) == ["│", "┃", "┃", "│"]
    thin = candle(0, "2", "3", "1", "2")  # a doji: one half of body
    assert candles.column(thin, scale, 4) == ["╷", "╽", "│", " "]
    assert candles.column(candle(0, "3.5", "3.5", "3", "3"), scale, 4)[0] == "┃"


def test_a_flat_range_is_drawn_mid_height_not_divided_by_zero() -> None:
    flat = [candle(0, "5", "5", "5", "5")]
    scale = candles.scale_of(flat, 4)
    assert scale.high > scale.low
    assert candles.column(flat[0], scale, 4).count(" ") == 3


def test_volume_bars_fill_the_rows_for_the_largest_and_show_any_volume() -> None:
    assert candles.volume_column(D(10), D(10), 2) == ["█", "█"]
    assert candles.volume_column(D(5), D(10), 2) == [" ", "█"]
    assert candles.volume_column(D("0.0001"), D(10), 2) == [" ", "▁"]
    assert candles.volume_column(D(0), D(10), 2) == [" ", " "]


def _walk(n: int) -> tuple[Candle, ...]:
    out, price = [], 100
    for i in range(n):
        step = (i * 7 % 5) - 2
        o, c = price, price + step
        out.append(candle(i * MIN, str(o), str(max(o, c) + 1), str(min(o, c) - 1), str(c), "3"))
        price = c
    return tuple(out)


def _text(view: ChartView, width: int, height: int) -> list[str]:
    return ["".join(t for t, _ in row) for row in candles.layout(view, width, height).rows]


@pytest.mark.parametrize("size", [(60, 20), (40, 12), (30, 6), (12, 4), (9, 3), (5, 2), (3, 1)])
def test_every_size_fills_exactly_its_cells(size: tuple[int, int]) -> None:
    width, height = size
    view = ChartView("BTC_USDC_PERP", "5m", _walk(80), 1, (PriceLine(D(100), "entry", "entry"),))
    rows = _text(view, width, height)
    assert len(rows) == height
    assert all(len(row) == width for row in rows)


def test_the_layout_degrades_from_candles_to_a_sparkline_to_the_caption() -> None:
    view = ChartView("BTC_USDC_PERP", "1m", _walk(40), 1)
    glyphs = set(candles.GLYPHS.values()) - {" "}
    tall = _text(view, 60, 12)
    assert tall[0].startswith("C ")
    assert any(set(row) & glyphs for row in tall[1:])  # candles
    assert any("vol" in row for row in tall)  # volume bars under them
    short = _text(view, 60, 3)  # two rows under the caption: a sparkline
    assert not any(set(row) & glyphs for row in short[1:])
    assert all(set(row.strip()) <= set(candles.VOLUME_BLOCKS) for row in short[1:])
    assert _text(view, 60, 1) == [candles.caption(view)[:60].ljust(60)]


def test_entry_and_liquidation_are_labelled_lines_or_pinned_to_the_edge() -> None:
    walk = _walk(40)
    low, high = min(c.low for c in walk), max(c.high for c in walk)
    entry = PriceLine((low + high) / 2, "entry", "entry")
    liq = PriceLine(low - 50, "liq", "liq")  # far below the candles
    view = ChartView("BTC_USDC_PERP", "1m", walk, 1, (entry, liq))
    grid = candles.layout(view, 60, 20).rows
    rows = ["".join(t for t, _ in row) for row in grid]
    line = next(i for i, row in enumerate(rows) if row.startswith("entry "))
    assert f"◆{entry.price:,.1f}" in rows[line]
    assert any(tone == "entry" for _, tone in grid[line])
    price_rows = [i for i, row in enumerate(rows) if i and "vol" not in row]
    bottom = max(i for i in price_rows if not set(rows[i]) <= set(candles.VOLUME_BLOCKS) | {" "})
    assert f"↓✖{liq.price:,.1f}" in "".join(rows[1 : bottom + 1])
    assert not any(row.startswith("liq ") for row in rows)


def test_no_candles_says_why() -> None:
    view = ChartView("BTC_USDC_PERP", "1h", (), 1, note="loading…")
    assert _text(view, 20, 3) == ["1h candles".ljust(20), "loading…".ljust(20)]


def test_the_caption_is_the_last_candle_close_first() -> None:
    view = ChartView("X", "1m", (candle(0, "100", "110", "90", "105", "2500"),), 1)
    assert candles.caption(view) == "C 105.0 +5.00%  O 100.0 H 110.0 L 90.0 V 2.5k"


def test_a_pinned_line_moves_inward_rather_than_hide_a_line_on_the_edge_row() -> None:
    walk = _walk(40)
    low = min(c.low for c in walk)
    entry = PriceLine(low + D("0.2"), "entry", "entry")  # on the bottom price row
    liq = PriceLine(low - 50, "liq", "liq")  # below the range: pinned to the same row
    text = "\n".join(_text(ChartView("X", "1m", walk, 1, (entry, liq)), 60, 14))
    assert f"◆{entry.price:,.1f}" in text and f"↓✖{liq.price:,.1f}" in text
    assert f"{walk[-1].close:,.1f}" in text  # the last close keeps its label too
