"""Which panels a terminal of a given size shows, decided from the size alone.

Every decision is a function of ``(width, height)`` and the trader's choice of bottom
panel, never of the previous size, so any sequence of resizes ends in the layout of
the last size (a layout that remembered a small terminal is how panels used to stay
collapsed). The CSS classes here select sizes in ``styles/app.tcss``; which bottom
panels are displayed is set from :func:`bottom_panels`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

BottomView = Literal["positions", "orders", "activity", "holdings", "tape"]
BOTTOM_VIEWS: tuple[BottomView, ...] = ("positions", "orders", "activity", "holdings", "tape")
Slot = tuple[BottomView, ...]

# Each dimension gets exactly one class: the largest threshold it reaches.
WIDTH_CLASSES = ((160, "-w160"), (120, "-w120"), (100, "-w100"), (0, "-w80"))
HEIGHT_CLASSES = ((40, "-h40"), (30, "-h30"), (0, "-h24"))
TALL = 40  # from here the watchlist is a table and positions always show
WIDE = 160  # from here (and tall) open orders get a place of their own


def size_classes(width: int, height: int) -> dict[str, bool]:
    """``{class: on}`` for every size class, exactly one per dimension on."""
    classes: dict[str, bool] = {}
    for value, table in ((width, WIDTH_CLASSES), (height, HEIGHT_CLASSES)):
        chosen = next(name for threshold, name in table if value >= threshold)
        classes.update({name: name == chosen for _threshold, name in table})
    return classes


def folded(height: int) -> bool:
    """Below :data:`TALL` rows the watchlist is one line and the bottom is one panel
    with tabs (positions / orders / activity / holdings / tape), each one key away."""
    return height < TALL


def slots(width: int, height: int) -> tuple[Slot, ...]:
    """The places at the bottom, each with the panels that take turns in it."""
    if folded(height):
        return (BOTTOM_VIEWS,)
    if width >= WIDE:
        return (("positions",), ("orders",), ("activity", "holdings", "tape"))
    return (("positions",), ("orders", "activity", "holdings", "tape"))


def bottom_panels(width: int, height: int, recent: Sequence[BottomView]) -> set[str]:
    """The bottom panels shown: in each place, the one the trader asked for last
    (``recent``, most recent first), else the place's first."""
    return {next((v for v in recent if v in slot), slot[0]) for slot in slots(width, height)}


def tab_strip(
    shown: BottomView,
    views: Slot,
    labels: dict[BottomView, str],
    keys: dict[BottomView, str],
    width: int | None = None,
) -> str:
    """The title of panels that take turns: each with its key, the shown one marked.

    When the full strip does not fit ``width`` cells the tabs not shown take short
    names, then lose their counts (an open order's count goes last: it is what a glance
    at a folded screen is for); every tab keeps its key, because the strip is how a
    trader learns which key brings a panel back.
    """

    def strip(other: Callable[[BottomView], str]) -> str:
        return " · ".join(f"▶ {labels[name]}" if name == shown else other(name) for name in views)

    def count(name: BottomView) -> str:
        last = labels[name].rsplit(" ", 1)[-1]
        return f" {last}" if last.isdigit() else ""

    forms = (
        strip(lambda name: f"{keys[name]}: {labels[name]}"),
        strip(lambda name: f"{keys[name]} {SHORT_NAMES[name]}{count(name)}"),
        strip(lambda name: f"{keys[name]} {SHORT_NAMES[name]}"),
    )
    if width is None:
        return forms[0]
    return next((form for form in forms if len(form) <= width), forms[-1])


SHORT_NAMES: dict[BottomView, str] = {
    "positions": "Pos",
    "orders": "Orders",
    "activity": "Log",
    "holdings": "Spot",
    "tape": "Tape",
}


def slot_width(width: int, height: int) -> int:
    """Cells a shared bottom place has for its title: half the terminal where open
    orders sit beside it, all of it otherwise (less the corners and title padding)."""
    shared = width // 2 if width >= WIDE and not folded(height) else width
    return max(0, shared - 6)
