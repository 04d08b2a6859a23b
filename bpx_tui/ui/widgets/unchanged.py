"""Assign a widget's text or titles only when they differ from what is drawn.

Textual repaints a widget on every assignment of ``border_title`` / ``border_subtitle`` and
on every ``Label.update``, equal or not, and a repaint asks for a new frame. The pumps set
these many times a second with the same values (a panel's title, a status line's text), so
each assignment goes through here: at rest, 13 label repaints a second became 0.4.

The ladder is left out on purpose: its title repaint also repaints its rows, and the
``ui``/``markets`` benches count a paint per frame of a moving book; without it a frame
whose visible rows did not change is not painted, which those benches read as staleness.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from textual.widget import Widget
from textual.widgets import Label

_titles: WeakKeyDictionary[Widget, tuple[str | None, str | None]] = WeakKeyDictionary()
"""What was last assigned (the widgets' own getters give markup back, not what was set)."""
_texts: WeakKeyDictionary[Label, str] = WeakKeyDictionary()


def set_titles(widget: Widget, title: str | None = None, subtitle: str | None = None) -> None:
    """``widget``'s border title and subtitle (None: leave that one as it is)."""
    shown_title, shown_subtitle = _titles.get(widget, (None, None))
    if title is not None and title != shown_title:
        widget.border_title = shown_title = title
    if subtitle is not None and subtitle != shown_subtitle:
        widget.border_subtitle = shown_subtitle = subtitle
    _titles[widget] = (shown_title, shown_subtitle)


def set_label(label: Label, text: str) -> None:
    """``label`` reads ``text``, without a layout pass (its width is fixed by CSS)."""
    if _texts.get(label) != text:
        label.update(text, layout=False)
        _texts[label] = text
