"""``L``: recent warnings and errors (the logging ring buffer plus the console's own).

Rewritten only when something new arrived (the ring's ``version``), and only while shown.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual.widgets import Log

LINES_KEPT = 400


def format_line(created: float, level: str, source: str, message: str) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(created))
    return f"{stamp} {level:<7} {source}: {message}"


class LogPanel(Log):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=LINES_KEPT, id=id, auto_scroll=True)
        self._version: object = None

    def on_mount(self) -> None:
        self.border_title = "Log (L to hide)"

    def show(self, version: object, lines: Iterable[str]) -> None:
        if version == self._version:
            return
        self._version = version
        self.clear()
        self.write_lines(list(lines) or ["nothing logged yet"])
