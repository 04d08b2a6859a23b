"""Price and funding alerts (``:alert``): the book of alerts and its file, without Textual.

An alert is a level on one market's last traded price or on its funding rate per
interval. It fires **once**, the first time a figure it sees meets its condition: ``>``
fires at or above the level, ``<`` at or below (the price *reached* the level). An alert
whose condition already holds when it is set fires at the first figure it sees, which
is the one the console already has (a trader who asks "tell me above 100" while it is at
101 wants to hear it now, not after a dip and a rise). A fired alert stays in the book,
marked with when and at what figure, until the trader removes it; it never fires again.

:meth:`AlertBook.evaluate` runs for every trade of a watched market, so it is a dict
lookup by ``(symbol, kind)`` that costs nothing for a market without an armed alert,
and then only that market's armed alerts are compared.

The book outlives the run in a JSON file (``save`` writes a temporary file and renames it
over the old one, so a crash leaves the old or the new file, never half of one). A file
that cannot be read is moved aside (``*.bad``), and ``load`` says so, instead of
stopping the console or being overwritten by the next save.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from bpx_tui.ui import fmt

log = logging.getLogger(__name__)

AlertKind = Literal["price", "funding"]
Direction = Literal[">", "<"]
FILE_VERSION = 1
RATE_DECIMALS = 4  # a funding rate shows as the funding board shows it: 0.0100%


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert; ``level`` is a price, or a funding rate as a fraction per interval."""

    id: int
    symbol: str
    kind: AlertKind
    direction: Direction
    level: Decimal
    created_ms: int
    fired_ms: int | None = None
    fired_value: Decimal | None = None
    """The figure that fired it (a trade's price, a funding rate)."""

    @property
    def key(self) -> str:
        """Its row key in the alerts view."""
        return str(self.id)

    @property
    def armed(self) -> bool:
        return self.fired_ms is None

    def met(self, value: Decimal) -> bool:
        return value >= self.level if self.direction == ">" else value <= self.level

    @property
    def condition(self) -> str:
        """``BTC_USDC_PERP last ≥ 100,000`` / ``SOL_USDC_PERP funding ≤ -0.0100%``."""
        sign = "≥" if self.direction == ">" else "≤"
        return f"{self.symbol} {self.figure} {sign} {self.show(self.level)}"

    @property
    def figure(self) -> str:
        return "last" if self.kind == "price" else "funding"

    def show(self, value: Decimal) -> str:
        """A price with the digits it was typed or traded with; a rate as a percent."""
        if self.kind == "funding":
            return fmt.pct(value, RATE_DECIMALS)
        return fmt.exact(value)

    @property
    def fired_text(self) -> str:
        """The activity log's and the status line's words for the firing."""
        value = "" if self.fired_value is None else self.show(self.fired_value)
        return f"alert: {self.condition} — {self.figure} {value}"


class AlertBook:
    """Every alert, in the order set; the armed ones also indexed by market and kind."""

    __slots__ = ("_alerts", "_armed", "_next_id", "version")

    def __init__(self, alerts: list[Alert] | None = None) -> None:
        self._alerts: dict[int, Alert] = {}
        self._armed: dict[tuple[str, AlertKind], dict[int, Alert]] = {}
        self._next_id = 1
        self.version = 0
        """Moves on every change, so a view redraws only when something changed."""
        for alert in alerts or ():
            self._put(alert)
            self._next_id = max(self._next_id, alert.id + 1)

    def __len__(self) -> int:
        return len(self._alerts)

    def __iter__(self) -> Iterator[Alert]:
        return iter(self._alerts.values())

    def get(self, alert_id: int) -> Alert | None:
        return self._alerts.get(alert_id)

    def add(
        self, symbol: str, kind: AlertKind, direction: Direction, level: Decimal, now_ms: int
    ) -> Alert:
        alert = Alert(self._next_id, symbol, kind, direction, level, now_ms)
        self._next_id += 1
        self._put(alert)
        return alert

    def remove(self, alert_id: int) -> Alert | None:
        alert = self._alerts.pop(alert_id, None)
        if alert is None:
            return None
        self._disarm(alert)
        self.version += 1
        return alert

    def evaluate(self, symbol: str, kind: AlertKind, value: Decimal, now_ms: int) -> list[Alert]:
        """The alerts ``value`` fires (marked fired here, so each fires once)."""
        armed = self._armed.get((symbol, kind))
        if not armed:
            return []
        fired = [
            replace(alert, fired_ms=now_ms, fired_value=value)
            for alert in armed.values()
            if alert.met(value)
        ]
        for alert in fired:
            self._put(alert)
        return fired

    def watching(self, symbol: str, kind: AlertKind) -> bool:
        """Whether an armed alert waits for this figure (the hot path's first question)."""
        return (symbol, kind) in self._armed

    def armed_markets(self, kind: AlertKind | None = None) -> set[str]:
        """The markets an armed alert (of ``kind``, or any) watches."""
        return {symbol for symbol, k in self._armed if kind is None or k == kind}

    def _put(self, alert: Alert) -> None:
        self._alerts[alert.id] = alert
        if alert.armed:
            self._armed.setdefault((alert.symbol, alert.kind), {})[alert.id] = alert
        else:
            self._disarm(alert)
        self.version += 1

    def _disarm(self, alert: Alert) -> None:
        key = (alert.symbol, alert.kind)
        armed = self._armed.get(key)
        if armed is not None:
            armed.pop(alert.id, None)
            if not armed:
                del self._armed[key]


# ----------------------------------------------------------------------------- the file


class AlertFileError(ValueError):
    """The alerts file is not one this version wrote."""


def _to_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "symbol": alert.symbol,
        "kind": alert.kind,
        "direction": alert.direction,
        "level": str(alert.level),
        "created_ms": alert.created_ms,
        "fired_ms": alert.fired_ms,
        "fired_value": None if alert.fired_value is None else str(alert.fired_value),
    }


def _decimal(value: object, what: str) -> Decimal:
    if not isinstance(value, str):
        raise AlertFileError(f"{what} is not a number in quotes")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise AlertFileError(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise AlertFileError(f"{what} {value!r} is not a number")
    return number


def _int(value: object, what: str, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise AlertFileError(f"{what} is not a whole number")
    return value


def _from_json(item: object, index: int) -> Alert:
    where = f"alert {index + 1}"
    if not isinstance(item, dict):
        raise AlertFileError(f"{where} is not an object")
    symbol, kind, direction = item.get("symbol"), item.get("kind"), item.get("direction")
    if not isinstance(symbol, str) or not symbol:
        raise AlertFileError(f"{where}: no symbol")
    if kind not in ("price", "funding"):
        raise AlertFileError(f"{where}: kind {kind!r} is not price or funding")
    if direction not in (">", "<"):
        raise AlertFileError(f"{where}: direction {direction!r} is not > or <")
    fired_value = item.get("fired_value")
    alert_id = _int(item.get("id"), f"{where}: id")
    created = _int(item.get("created_ms"), f"{where}: created_ms")
    assert alert_id is not None and created is not None
    return Alert(
        id=alert_id,
        symbol=symbol,
        kind="price" if kind == "price" else "funding",
        direction=">" if direction == ">" else "<",
        level=_decimal(item.get("level"), f"{where}: level"),
        created_ms=created,
        fired_ms=_int(item.get("fired_ms"), f"{where}: fired_ms", optional=True),
        fired_value=None if fired_value is None else _decimal(fired_value, f"{where}: fired_value"),
    )


def parse_file(text: str) -> list[Alert]:
    """The alerts a file holds, or :class:`AlertFileError` saying what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AlertFileError(f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != FILE_VERSION:
        raise AlertFileError(f"not a version {FILE_VERSION} alerts file")
    items = data.get("alerts")
    if not isinstance(items, list):
        raise AlertFileError("no list of alerts")
    alerts = [_from_json(item, index) for index, item in enumerate(items)]
    if len({a.id for a in alerts}) != len(alerts):
        raise AlertFileError("two alerts share an id")
    return alerts


def load(path: Path) -> tuple[AlertBook, str | None]:
    """The book kept in ``path`` (empty when there is none), and what went wrong if the
    file could not be used. An unusable file is renamed to ``<name>.bad`` so the next
    save cannot destroy what it held; the message names both paths."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return AlertBook(), None
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"{exc}"
    else:
        try:
            return AlertBook(parse_file(text)), None
        except AlertFileError as exc:
            problem = str(exc)
    aside = path.with_name(path.name + ".bad")
    try:
        path.replace(aside)
    except OSError as exc:
        log.warning("alerts file %s not moved aside: %s", path, exc)
        return AlertBook(), f"alerts: {path} is unreadable, starting with none ({problem})"
    return (
        AlertBook(),
        f"alerts: {path} is unreadable; moved to {aside.name}, starting with none ({problem})",
    )


def save(book: AlertBook, path: Path) -> str | None:
    """Write the book atomically; the error's words when it could not be written."""
    data = {"version": FILE_VERSION, "alerts": [_to_json(alert) for alert in book]}
    text = json.dumps(data, indent=1) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        temporary = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
    except OSError as exc:
        log.warning("alerts not saved to %s: %s", path, exc)
        return f"alerts not saved to {path}: {exc.strerror or exc}"
    return None
