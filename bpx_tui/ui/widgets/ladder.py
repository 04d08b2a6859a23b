"""The depth ladder: the largest panel and the one that changes most often.

Line API (``render_line`` + cached ``Strip``s): a book update costs one
:func:`~bpx_tui.ui.ladder_model.build_view` per frame and a dictionary lookup per row;
a row whose content did not change reuses its strip. The frame pump calls
:meth:`DepthLadder.show` at most ``refresh_hz`` times a second, so paints are capped no
matter how many depth messages arrive (``paints`` counts them for the tests).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.strip import Strip
from textual.widget import Widget

from bpx_tui.exchange.book import OrderBook
from bpx_tui.ui import keys
from bpx_tui.ui.freshness import LIVE, Freshness
from bpx_tui.ui.ladder_model import (
    LadderView,
    Marker,
    Row,
    build_view,
    move_cursor,
    next_group,
)

_EIGHTHS = " ▏▎▍▌▋▊▉"
_CACHE_LIMIT = 2048


class DepthLadder(Widget, can_focus=True):
    """Asks above, bids below, a spread row between; a cursor to trade at a price."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = list(
        keys.bindings("ladder")
    )

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "depth-ladder--header",
        "depth-ladder--ask",
        "depth-ladder--bid",
        "depth-ladder--ask-bar",
        "depth-ladder--bid-bar",
        "depth-ladder--size",
        "depth-ladder--total",
        "depth-ladder--spread",
        "depth-ladder--resync",
        "depth-ladder--cursor",
        "depth-ladder--last",
        "depth-ladder--mark",
    }

    DEFAULT_CSS = """
    DepthLadder { height: 1fr; min-height: 8; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.paints = 0
        self.symbol = ""
        self.group_factor = 1
        self.tick = Decimal("0.01")
        self.quantity_decimals = 2
        self.view = LadderView()
        self._book: OrderBook | None = None
        self._cursor: Decimal | None = None
        self._last_price: Decimal | None = None
        self._markers: tuple[Marker, ...] = ()
        self.freshness = LIVE
        self._strips: dict[tuple[Row, int, bool], Strip] = {}
        self._styles: dict[tuple[str, bool, bool], Style] = {}
        self._cells: dict[tuple[object, ...], Segment] = {}

    # ------------------------------------------------------------------ inputs

    def set_market(self, symbol: str, tick: Decimal, quantity_decimals: int) -> None:
        """A new active market: forget the cursor and the strips of the old one."""
        self.symbol = symbol
        self.tick = tick
        self.quantity_decimals = quantity_decimals
        self._cursor = None
        self._book = None
        self._forget()
        self._update_titles()

    def show(
        self,
        book: OrderBook | None,
        *,
        last_price: Decimal | None = None,
        markers: tuple[Marker, ...] = (),
    ) -> None:
        """Recompute the rows from the book; repaint only when a row changed."""
        self._book = book
        self._last_price = last_price
        self._markers = markers
        self._rebuild()

    @property
    def resyncing(self) -> bool:
        return self._book is not None and not self._book.synced

    @property
    def dimmed(self) -> bool:
        """Not live (feed down, stale or resyncing): every size and price is dimmed."""
        return self.resyncing or not self.freshness.live

    def set_freshness(self, freshness: Freshness) -> None:
        """The feed's state for this market; repaints only when it changes."""
        if freshness == self.freshness:
            return
        dim_changed = freshness.live != self.freshness.live
        self.freshness = freshness
        self._update_titles()
        if dim_changed:
            self._forget()
            self.refresh()

    @property
    def group(self) -> Decimal | None:
        return None if self.group_factor == 1 else self.tick * self.group_factor

    @property
    def cursor_price(self) -> Decimal | None:
        return self.view.cursor_price

    def cycle_group(self) -> int:
        self.group_factor = next_group(self.group_factor)
        self._cursor = None
        self._forget()
        self._update_titles()
        self._rebuild()
        return self.group_factor

    # ------------------------------------------------------------------ actions

    def action_cursor(self, delta: int) -> None:
        self._cursor = move_cursor(self.view, delta)
        self._rebuild()

    def action_recenter(self) -> None:
        self._cursor = None
        self._rebuild()

    # ------------------------------------------------------------------ painting

    def _bar_cells(self, width: int) -> int:
        return max(0, width - self._fixed_width(width))

    def _fixed_width(self, width: int) -> int:
        price, size, total, marks = self._column_widths(width)
        return price + size + total + marks + 1

    def _column_widths(self, width: int) -> tuple[int, int, int, int]:
        price, size = 12, 11
        total = 11 if width >= 46 else 0
        marks = 14 if width >= 56 else 9
        return price, size, total, marks

    def _rebuild(self) -> None:
        height = self.size.height or 20
        width = self.size.width or 60
        marks = self._column_widths(width)[3]
        view = build_view(
            self._book,
            height,
            group=self.group,
            cursor=self._cursor,
            last_price=self._last_price,
            markers=self._markers,
            bar_cells=self._bar_cells(width),
            # The spread row's note shares the line with the marks column and the
            # last-trade arrow ("▸ "), which is kept free so the note does not change
            # wording as the last price comes and goes.
            note_width=width - marks - 2,
        )
        self._cursor = view.cursor_price
        if view.rows != self.view.rows:
            self.view = view
            self._update_titles()
            self.refresh()
        else:
            self.view = view

    def _update_titles(self) -> None:
        group = f"×{self.group_factor}"
        self.border_title = f"Depth {self.symbol}" if self.symbol else "Depth"
        state = "RESYNCING" if self.resyncing else self.freshness.label
        self.border_subtitle = f"{state} {group}".strip()
        self.set_class(self.resyncing, "-resyncing")
        self.set_class(self.dimmed, "-stale")

    def _forget(self) -> None:
        """Drop cached strips and cells (market, grouping, size or theme changed)."""
        self._strips.clear()
        self._cells.clear()

    def on_resize(self) -> None:
        self._forget()
        self._rebuild()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._forget()

    def _style(self, name: str, cursor: bool = False) -> Style:
        """A cell style, composed once per theme (``rich_style`` is costly per call)."""
        key = (name, cursor, self.dimmed)
        style = self._styles.get(key)
        if style is None:
            if name == "base":
                style = self.rich_style
            else:
                style = self._style("base") + self.get_component_rich_style(f"depth-ladder--{name}")
                if key[2] and name in ("ask", "bid", "size", "total", "ask-bar", "bid-bar"):
                    style += Style(dim=True)
                if cursor:
                    style += self.get_component_rich_style("depth-ladder--cursor")
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            self.paints += 1
            return self._header(width)
        index = y - 1
        if index >= len(self.view.rows):
            return Strip.blank(width, self._style("base"))
        row = self.view.rows[index]
        key = (row, width, self.dimmed)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) > _CACHE_LIMIT:
                self._strips.clear()
            strip = self._render_row(row, width)
            self._strips[key] = strip
        return strip

    def _header(self, width: int) -> Strip:
        price, size, total, marks = self._column_widths(width)
        text = f"{'PRICE':>{price}}{'SIZE':>{size}}{'TOTAL' if total else '':>{total}} "
        text = text + " " * self._bar_cells(width) + f"{'ORDERS':<{marks}}"
        return Strip([Segment(text, self._style("header"))]).crop_extend(0, width, None)

    def _format_price(self, text: str) -> str:
        step = self.group or self.tick
        decimals = max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]
        try:
            return f"{Decimal(text):,.{decimals}f}"
        except ArithmeticError:
            return text

    def _format_size(self, value: str | float) -> str:
        try:
            number = Decimal(value) if isinstance(value, str) else value
            return f"{number:,.{self.quantity_decimals}f}"
        except ArithmeticError:
            return str(value)

    def _cell(
        self, value: str | float | int, kind: str, width: int, cursor: bool, last: bool = False
    ) -> Segment:
        """One formatted, styled cell; cached because most cells repeat frame to frame
        (a new cumulative size shifts every row below it, but prices and sizes stay)."""
        key = (value, kind, width, cursor, last, self.dimmed)
        cell = self._cells.get(key)
        if cell is None:
            if len(self._cells) > _CACHE_LIMIT * 4:
                self._cells.clear()
            if kind in ("ask", "bid"):
                text = f"{self._format_price(str(value)):>{width}}"
            elif kind.endswith("-bar"):
                full, part = divmod(min(int(value), width * 8), 8)
                text = f"{'█' * full + (_EIGHTHS[part] if part else ''):<{width}}"
            else:
                text = f"{self._format_size(value):>{width}}" if value != "" else " " * width
            style = self._style(kind, cursor)
            if last:
                style += self._style("last")
            cell = Segment(text, style)
            self._cells[key] = cell
        return cell

    def _render_row(self, row: Row, width: int) -> Strip:
        base = self._style("base")
        cursor = row.cursor
        if row.kind == "blank":
            return Strip.blank(width, base)
        price_w, size_w, total_w, marks_w = self._column_widths(width)
        marks = Segment(f"{row.marks[:marks_w]:<{marks_w}}", self._style("mark", cursor))
        if row.kind == "spread":
            note = ("▸ " if row.last else "") + row.note
            style = self._style("resync" if self.resyncing else "spread", cursor)
            segments = [Segment(f"{note:^{width - marks_w}}", style), marks]
            return Strip(segments).crop_extend(0, width, base)
        side = row.kind
        segments = [
            self._cell(row.price, side, price_w, cursor, row.last),
            self._cell(row.size, "size", size_w, cursor),
        ]
        if total_w:
            segments.append(self._cell(row.cumulative, "total", total_w, cursor))
        segments.append(self._cell("", "size", 1, cursor))
        bar_w = self._bar_cells(width)
        if bar_w:
            segments.append(self._cell(row.depth, f"{side}-bar", bar_w, cursor))
        segments.append(marks)
        return Strip(segments, width)
