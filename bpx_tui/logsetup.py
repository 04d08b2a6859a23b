"""Logging for a full-screen app: to a rotating file, never to the terminal.

A stray ``print`` or stderr line would tear the Textual screen, so the root logger gets
exactly two handlers: a rotating file under :func:`bpx_tui.paths.log_dir` and an
in-memory ring of recent WARNING+ records that the console's log panel reads.

Both sit behind a :class:`RedactingFilter`: the configured secret, and anything shaped
like a base64 ED25519 secret or signature next to a ``secret``/``signature`` name
(``X-Signature`` headers included), is replaced by ``****`` before a record is written
anywhere, including exception text.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bpx_tui import paths

if TYPE_CHECKING:
    from bpx_tui.config import Settings

MASK = "****"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
MAX_BYTES = 5_000_000
BACKUPS = 3
RING_SIZE = 200

# name = value, name: value, "name": "value", X-Signature: value — with a long base64 value.
_NAMED_SECRET = re.compile(
    r"(?i)((?:x-)?(?:api[_-]?)?(?:secret|signature)\w*[\"']?\s*[:=]\s*[\"']?)"
    r"([A-Za-z0-9+/]{40,}={0,2})"
)

# A bare 64-byte ED25519 signature in base64 (88 characters ending "=="), e.g. inside the
# ``signature`` array of a private WebSocket SUBSCRIBE frame.
_BARE_SIGNATURE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==")


class RedactingFilter(logging.Filter):
    """Rewrites each record's text so no secret reaches a handler."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _NAMED_SECRET.sub(lambda m: m.group(1) + MASK, text)
        return _BARE_SIGNATURE.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not drop the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


@dataclass(frozen=True, slots=True)
class LogEntry:
    created: float
    level: str
    name: str
    message: str


class RingBufferHandler(logging.Handler):
    """Keeps the last ``capacity`` records for the UI; ``version`` bumps on every record
    so a widget can poll cheaply and repaint only when something new arrived."""

    def __init__(self, capacity: int = RING_SIZE, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self._entries: deque[LogEntry] = deque(maxlen=capacity)
        self.version = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_text:
                message = f"{message} | {record.exc_text.strip().splitlines()[-1]}"
            self._entries.append(LogEntry(record.created, record.levelname, record.name, message))
            self.version += 1
        except Exception:
            self.handleError(record)

    def entries(self) -> list[LogEntry]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.version += 1


@dataclass(frozen=True, slots=True)
class Logging:
    """What :func:`setup_logging` installed (the UI keeps ``ring``)."""

    file: Path
    ring: RingBufferHandler
    redactor: RedactingFilter


_installed: list[logging.Handler] = []


def setup_logging(
    level: str = "INFO",
    secrets: Iterable[str] = (),
    *,
    directory: Path | None = None,
    ring_capacity: int = RING_SIZE,
) -> Logging:
    """Route all logging to a rotating file and the ring; idempotent (re-run replaces).

    Handlers already on the root logger (pytest's capture, a previous call) that write
    to a terminal stream are removed; others are left alone.
    """
    directory = directory or paths.log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    file = directory / paths.LOG_FILE
    redactor = RedactingFilter(secrets)

    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler in _installed or _is_terminal(handler):
            root.removeHandler(handler)
            if handler in _installed:
                handler.close()
    _installed.clear()

    file_handler = logging.handlers.RotatingFileHandler(
        file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    ring = RingBufferHandler(ring_capacity)
    for handler in (file_handler, ring):
        handler.addFilter(redactor)
        root.addHandler(handler)
        _installed.append(handler)
    root.setLevel(logging.getLevelNamesMapping().get(level.upper(), logging.INFO))
    logging.captureWarnings(True)
    return Logging(file=file, ring=ring, redactor=redactor)


def setup_for(settings: Settings, *, directory: Path | None = None) -> Logging:
    """:func:`setup_logging` with the settings' level and secret."""
    secrets = [settings.api_secret.reveal()] if settings.api_secret is not None else []
    return setup_logging(settings.log_level, secrets, directory=directory)


def _is_terminal(handler: logging.Handler) -> bool:
    if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
        return False
    stream = getattr(handler, "stream", None)
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def teardown_logging() -> None:
    """Remove and close what :func:`setup_logging` installed (tests, clean shutdown)."""
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
