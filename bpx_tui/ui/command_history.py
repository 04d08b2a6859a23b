"""The ``:`` command line's history: up/down walk it, and it outlives the run.

Kept without Textual so the walk (and what a half-typed line does to it) is a unit
test. The file is one command per line, newest last, in the data directory beside
the journal; a history that cannot be read or written costs the trader only the
recall, never the command, so those errors are swallowed here and logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

LIMIT = 500  # lines kept on disk; older ones are dropped when the file is rewritten

log = logging.getLogger(__name__)


class CommandHistory:
    """Entered commands, oldest first, and where up/down currently stand in them.

    Walking starts below the newest entry (the line being typed). The first ``up``
    keeps what was typed so far, so ``down`` past the newest entry gives it back
    instead of an empty line.
    """

    def __init__(self, path: Path | None = None, entries: list[str] | None = None) -> None:
        self.path = path
        self.entries: list[str] = entries if entries is not None else _load(path)
        self._at = len(self.entries)
        self._draft = ""

    def add(self, line: str) -> None:
        """Remember ``line`` (not twice in a row) and start the next walk at the bottom."""
        line = line.strip()
        if line and (not self.entries or self.entries[-1] != line):
            self.entries.append(line)
            del self.entries[:-LIMIT]
            self._save()
        self._at = len(self.entries)
        self._draft = ""

    def older(self, current: str) -> str:
        """The entry above the one shown (``current`` is what the line holds now)."""
        if self._at == len(self.entries):
            self._draft = current
        if self._at > 0:
            self._at -= 1
        return self.entries[self._at] if self.entries else current

    def newer(self) -> str:
        """The entry below the one shown; past the newest, the line as typed."""
        if self._at < len(self.entries):
            self._at += 1
        return self.entries[self._at] if self._at < len(self.entries) else self._draft

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("".join(f"{line}\n" for line in self.entries), "utf-8")
        except OSError as error:
            log.warning("command history not saved to %s: %s", self.path, error)


def _load(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        log.warning("command history not read from %s: %s", path, error)
        return []
    return [line for line in (raw.strip() for raw in text.splitlines()) if line][-LIMIT:]
