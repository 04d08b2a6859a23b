"""The depth ladder: the largest panel and the one that changes most often.

A price ladder (one row per tick or bucket, see :mod:`bpx_tui.ui.ladder_model`): our
bids | bid size | price | ask size | our asks, then a depth bar. Line API
(``render_line`` + cached ``Strip``s): a book update costs one
:func:`~bpx_tui.ui.ladder_model.build_view` over the visible rows per frame and a
dictionary lookup per row; a row whose content did not change reuses its strip. The frame pump calls
:meth:`DepthLadder.show` at most ``refresh_hz`` times a second, so paints are capped no
matter how many depth messages arrive (``paints`` counts them for the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.message import Message
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
    orders_in_row,
    scroll_window,
)

VOLUME_CELLS = 9
"""Width of the session-volume column (right of our asks)."""
SCROLL_ROWS = 3
"""Rows one mouse-wheel notch moves the window."""

_EIGHTHS = " ▏▎▍▌▋▊▉"
_CACHE_LIMIT = 2048


class DepthLadder(Widget, can_focus=True):
    """One row per price, asks above, bids below; a cursor that is a price to trade at."""

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
        "depth-ladder--best",
        "depth-ladder--own",
        "depth-ladder--spread",
        "depth-ladder--resync",
        "depth-ladder--cursor",
        "depth-ladder--last",
        "depth-ladder--mark",
        "depth-ladder--volume",
    }

    DEFAULT_CSS = """
    DepthLadder { height: 1fr; min-height: 8; }
    """

    class MoveOrders(Message):
        """Move our orders on the cursor's row by ``ticks`` (shift+up/down); the app
        decides whether anything moves and tells the ladder where the cursor goes."""

        def __init__(self, symbol: str, order_ids: tuple[str, ...], ticks: int) -> None:
            super().__init__()
            self.symbol = symbol
            """The ladder's market when the key was pressed."""
            self.order_ids = order_ids
            """Our resting orders drawn on the cursor's row (may be empty)."""
            self.ticks = ticks
            """Signed: +1 is one tick higher."""

    class TicketAt(Message):
        """A click on a row's bid or ask side: open a ticket there (never sends)."""

        def __init__(self, symbol: str, side: str, price: Decimal) -> None:
            super().__init__()
            self.symbol = symbol
            """The ladder's market when it was clicked."""
            self.side = side
            """``Bid`` for a click on the bid side (left of the price), else ``Ask``."""
            self.price = price
            """The clicked row's price."""

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
        self._top: Decimal | None = None  # the window's first price, kept frame to frame
        self._last_price: Decimal | None = None
        self._markers: tuple[Marker, ...] = ()
        self._volume: Mapping[Decimal, Decimal] | None = None
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
        self._top = None
        self._book = None
        self._forget()
        self._update_titles()

    def show(
        self,
        book: OrderBook | None,
        *,
        last_price: Decimal | None = None,
        markers: tuple[Marker, ...] = (),
        volume: Mapping[Decimal, Decimal] | None = None,
    ) -> None:
        """Recompute the rows from the book; repaint only when a row changed."""
        self._book = book
        self._last_price = last_price
        self._markers = markers
        self._volume = volume
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

    @property
    def step(self) -> Decimal:
        """One row's price distance."""
        return self.group or self.tick

    def cycle_group(self) -> int:
        self.group_factor = next_group(self.group_factor)
        self._cursor = None
        self._top = None
        self._forget()
        self._update_titles()
        self._rebuild()
        return self.group_factor

    # ------------------------------------------------------------------ actions

    def action_cursor(self, delta: int) -> None:
        self._cursor, self._top = move_cursor(self.view, delta)
        self._rebuild()

    def orders_at_cursor(self) -> tuple[str, ...]:
        """Our resting orders drawn on the cursor's row (none when it is at the touch)."""
        cursor = self.view.cursor_price
        return () if cursor is None else orders_in_row(self._markers, self.step, cursor)

    def action_move_orders(self, ticks: int) -> None:
        self.post_message(self.MoveOrders(self.symbol, self.orders_at_cursor(), ticks))

    def place_cursor(self, price: Decimal) -> None:
        """Put the cursor on ``price`` (where moved orders went); a price off the window
        is clamped to its edge, as any cursor is."""
        self._cursor = price
        self._rebuild()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._top = scroll_window(self.view, SCROLL_ROWS)
        self._rebuild()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._top = scroll_window(self.view, -SCROLL_ROWS)
        self._rebuild()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1 or offset.y - 1 >= len(self.view.rows):
            return
        row = self.view.rows[offset.y - 1]
        if not row.price:
            return
        own, size, price, _volume, _bar = self._columns(self.size.width)
        side = "Bid" if offset.x < own + size + price // 2 else "Ask"
        self.post_message(self.TicketAt(self.symbol, side, Decimal(row.price)))

    def action_recenter(self) -> None:
        """Centre the window on the touch and put the cursor back there."""
        self._cursor = None
        self._top = None
        self._rebuild()

    # ------------------------------------------------------------------ painting

    def _columns(self, width: int) -> tuple[int, int, int, int, int]:
        """(own, size, price, volume, bar) widths: the price column fits the top row's
        price, sizes get nine cells when they can, the own-order columns what is left
        (up to twelve), the session volume nine cells when a bar still fits beside it,
        and the depth bar the rest."""
        top = self.view.top
        price = len(self._format_price(format(top, "f"))) + 2 if top is not None else 10
        size = 9 if width >= price + 30 else 8
        own = max(0, min(12, (width - price - 2 * size) // 2))
        rest = width - price - 2 * size - 2 * own - 1
        volume = VOLUME_CELLS if rest >= VOLUME_CELLS + 8 else 0
        bar = rest - volume
        return own, size, price, volume, bar if bar >= 4 else 0

    def _rebuild(self) -> None:
        height = self.size.height or 20
        width = self.size.width or 60
        view = build_view(
            self._book,
            height,
            step=self.step,
            grouped=self.group is not None,
            top=self._top,
            cursor=self._cursor,
            last_price=self._last_price,
            markers=self._markers,
            bar_cells=self._columns(width)[4],
            volume=self._volume,
            tick=self.tick,
            note_width=self._note_width(width),
        )
        self._cursor = view.cursor_price
        self._top = view.top
        if view.top != self.view.top or view.note != self.view.note:
            widths = self._columns(width)
            self.view = view
            if self._columns(width) != widths:
                self._forget()
            self._update_titles()
        if view.rows != self.view.rows:
            self.view = view
            self.refresh()
        else:
            self.view = view

    def _subtitle_parts(self) -> tuple[str, str]:
        """The feed state (the note says it when resyncing) and the grouping."""
        state = "" if self.resyncing else self.freshness.label
        return state, f"×{self.group_factor}"

    def _note_width(self, width: int) -> int:
        """What the bottom border leaves for the spread note beside the state and group:
        the note lives there so that every line of the panel is a price."""
        state, group = self._subtitle_parts()
        return max(4, width - len(state) - len(group) - 10)

    def _update_titles(self) -> None:
        self.border_title = f"Depth {self.symbol}" if self.symbol else "Depth"
        state, group = self._subtitle_parts()
        self.border_subtitle = " · ".join(part for part in (state, self.view.note, group) if part)
        self.set_class(self.resyncing, "-resyncing")
        self.set_class(self.dimmed, "-stale")

    def _forget(self) -> None:
        """Drop cached strips and cells (market, grouping, size or theme changed)."""
        self._strips.clear()
        self._cells.clear()

    def on_resize(self) -> None:
        self._forget()
        self._top = None  # a new height is a new window: centre it
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
                if key[2] and name in ("ask", "bid", "size", "own", "volume", "ask-bar", "bid-bar"):
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
        own, size, price, volume, _bar = self._columns(width)
        mine = "MINE" if own >= 5 else ""
        vol = "VOL" if volume else ""
        text = (
            f"{mine:>{own}}{'BID':>{size}}{'PRICE':>{price}}{'ASK':>{size}}{mine:>{own}}"
            f"{vol:>{volume}}"
        )
        return Strip([Segment(text, self._style("header"))]).crop_extend(0, width, None)

    def _format_price(self, text: str) -> str:
        decimals = max(0, -self.step.normalize().as_tuple().exponent)  # type: ignore[operator]
        try:
            return f"{Decimal(text):,.{decimals}f}"
        except ArithmeticError:
            return text

    def _format_size(self, value: str) -> str:
        try:
            return f"{Decimal(value):,.{self.quantity_decimals}f}"
        except ArithmeticError:
            return value

    @staticmethod
    def _own_text(quantity: str, count: int, width: int) -> str:
        """Our orders at a price: the total, ×count when several; shortened to fit
        rather than cut (a cut number reads as a different number)."""
        if not quantity:
            return ""
        tally = f"×{count}" if count > 1 else ""
        for text in (quantity + tally, quantity, "●" + tally, "●"):
            if len(text) < width:
                return text
        return ""

    def _cell(
        self, value: str | int, kind: str, width: int, cursor: bool, style_name: str = ""
    ) -> Segment:
        """One formatted, styled cell; cached because most cells repeat frame to frame."""
        key = (value, kind, width, cursor, style_name, self.dimmed)
        cell = self._cells.get(key)
        if cell is None:
            if len(self._cells) > _CACHE_LIMIT * 4:
                self._cells.clear()
            if kind == "price":
                text = f"{self._format_price(str(value)):>{width}}"
            elif kind.endswith("-bar"):
                full, part = divmod(min(int(value), width * 8), 8)
                text = f"{'█' * full + (_EIGHTHS[part] if part else ''):<{width}}"
            elif kind == "size":
                text = f"{self._format_size(str(value)):>{width}}" if value != "" else " " * width
            else:
                text = f"{value:>{width}}"
            style = self._style(style_name or kind, cursor)
            cell = Segment(text, style)
            self._cells[key] = cell
        return cell

    def _render_row(self, row: Row, width: int) -> Strip:
        base = self._style("base")
        if row.kind == "blank":
            return Strip.blank(width, base)
        cursor = row.cursor
        own_w, size_w, price_w, vol_w, bar_w = self._columns(width)
        side = "spread" if row.kind == "spread" else row.kind
        price = self._cell(row.price, "price", price_w - len(row.marks), cursor, side)
        if row.best:
            price = Segment(price.text, (price.style or base) + self._style("best"))
        if row.last:
            price = Segment(price.text, (price.style or base) + self._style("last"))
        segments = [
            self._cell(self._own_text(row.own_bid, row.own_bids, own_w), "own", own_w, cursor),
            self._cell(row.bid, "size", size_w, cursor, "bid" if row.best else "size"),
        ]
        if row.marks:
            segments.append(self._cell(row.marks, "mark", len(row.marks), cursor))
        segments += [
            price,
            self._cell(row.ask, "size", size_w, cursor, "ask" if row.best else "size"),
            self._cell(self._own_text(row.own_ask, row.own_asks, own_w), "own", own_w, cursor),
        ]
        if vol_w:
            segments.append(self._cell(row.volume, "size", vol_w, cursor, "volume"))
        if bar_w:
            segments.append(self._cell("", "blank", 1, cursor, "size"))
            if row.kind == "spread":
                segments.append(self._cell("", "blank", bar_w, cursor, "size"))
            else:
                segments.append(self._cell(row.depth, f"{side}-bar", bar_w, cursor))
        return Strip(segments).crop_extend(0, width, base)
