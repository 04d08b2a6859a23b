"""The order journal: what we asked the exchange, and what it answered (SQLite).

Every order is written down *before* its request leaves, with the ``clientId`` it can be
found by. If the process dies or the answer is lost (timeout, 5xx), the journal still
knows that an order may exist, and :meth:`Journal.reconcile` asks the exchange about
it through :mod:`bpx_tui.trading.outcome` (the one code that looks orders up by
``clientId``) and records what it learns.

One connection, WAL mode, short transactions: the journal lives in the UI's event loop
and a write costs well under a millisecond. ``synchronous=NORMAL`` survives a crash of
the process (the case that matters here), not a power cut.

Secrets never reach the journal: only order payloads and exchange answers are stored,
and payload keys that look like credentials are dropped on the way in.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from bpx_tui import paths
from bpx_tui.exchange.errors import (
    ServerError,
    TransportError,
    UnknownOrderOutcome,
)
from bpx_tui.exchange.models import Fill, Order
from bpx_tui.exchange.numbers import parse_decimal, parse_int
from bpx_tui.exchange.signing import MAX_WINDOW_MS
from bpx_tui.trading.order import NewOrder, mint_client_id
from bpx_tui.trading.outcome import OrderLookup, Pending, Reconciled, local_ms, look_up

State = Literal["sent", "unknown", "open", "done", "rejected", "absent"]
UNRESOLVED: tuple[State, ...] = ("sent", "unknown")
_OUTCOME_STATE: dict[str, State] = {"open": "open", "final": "done", "absent": "absent"}
_SECRET_WORDS = ("secret", "signature", "password", "private")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_id   INTEGER PRIMARY KEY,
    symbol      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    state       TEXT NOT NULL,
    order_id    TEXT,
    status      TEXT,
    detail      TEXT,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_state ON orders(state);
CREATE INDEX IF NOT EXISTS orders_order_id ON orders(order_id);
CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id  INTEGER,
    order_id   TEXT,
    kind       TEXT NOT NULL,
    status     TEXT,
    body       TEXT,
    at_ms      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    trade_id    INTEGER,
    order_id    TEXT NOT NULL,
    client_id   INTEGER,
    symbol      TEXT NOT NULL,
    side        TEXT NOT NULL,
    price       TEXT NOT NULL,
    quantity    TEXT NOT NULL,
    fee         TEXT NOT NULL,
    fee_symbol  TEXT NOT NULL,
    is_maker    INTEGER NOT NULL,
    ts_ms       INTEGER NOT NULL,
    UNIQUE (order_id, trade_id)
);
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _clean(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Drop anything credential-like; order payloads never need it."""
    return {
        key: value
        for key, value in payload.items()
        if not any(word in key.lower() for word in _SECRET_WORDS) and key.lower() != "apikey"
    }


def _order_body(order: Order) -> str:
    raw = order.raw or {}
    return json.dumps(_clean(raw), default=str, sort_keys=True)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    client_id: int
    symbol: str
    payload: dict[str, Any]
    created_ms: int
    state: State
    order_id: str | None
    status: str | None
    detail: str | None

    @property
    def resolved(self) -> bool:
        return self.state not in UNRESOLVED


@dataclass(frozen=True, slots=True)
class DailySummary:
    """Realised PnL and fees for one UTC day and market, in the quote currency.

    PnL is average-cost over the fills the journal has seen; a position opened before
    the journal existed has no known cost and is counted from its first journaled fill.
    """

    day: str
    symbol: str
    fills: int
    volume: Decimal
    fees: Decimal
    realized_pnl: Decimal

    @property
    def net(self) -> Decimal:
        return self.realized_pnl - self.fees


def fill_from_update(order: Order) -> Fill | None:
    """The fill carried by an ``orderFill`` update (``l``/``L``/``n``/``N``/``t``/``m``)."""
    raw = order.raw or {}
    quantity = parse_decimal(raw.get("l"))
    price = parse_decimal(raw.get("L"))
    if quantity is None or price is None or quantity <= 0 or not order.id:
        return None
    engine_us = parse_int(raw.get("T")) or parse_int(raw.get("E"))
    return Fill(
        trade_id=parse_int(raw.get("t")),
        order_id=order.id,
        client_id=None if order.client_id is None else str(order.client_id),
        symbol=order.symbol,
        side=order.side,
        price=price,
        quantity=quantity,
        fee=parse_decimal(raw.get("n"), Decimal(0)) or Decimal(0),
        fee_symbol=str(raw.get("N") or ""),
        is_maker=bool(raw.get("m")),
        timestamp_ms=engine_us // 1000 if engine_us else None,
    )


class Journal:
    """One SQLite file of order intents, exchange answers and fills."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.journal_file()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=2000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @property
    def journal_mode(self) -> str:
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    # ------------------------------------------------------------------ writes

    def new_client_id(self) -> int:
        """A clientId the journal has never used (ids are how lost orders are found)."""
        return mint_client_id(lambda candidate: self.entry(candidate) is not None)

    def stamp(self, order: NewOrder) -> NewOrder:
        """The order with its clientId (a fresh one unless it has one), written down
        before anything is sent. A clientId the journal already holds raises."""
        stamped = (
            order if order.client_id is not None else order.with_client_id(self.new_client_id())
        )
        assert stamped.client_id is not None
        self.record_intent(
            stamped.client_id, stamped.symbol, stamped.payload(), replaces=order.terms.replaces
        )
        return stamped

    def record_intent(
        self,
        client_id: int,
        symbol: str,
        payload: Mapping[str, Any],
        *,
        at_ms: int | None = None,
        replaces: str | None = None,
    ) -> None:
        """Write the order down before it is sent; a duplicate clientId is a bug, so it raises.

        ``at_ms`` is when it was sent, when that was not now (an intent carried over).
        ``replaces`` links a cancel-then-place to the order it moves (a ``replaces``
        event whose ``order_id`` is the old order's): one intent, both ids.
        """
        now = _now_ms() if at_ms is None else at_ms
        body = json.dumps(_clean(payload), default=str, sort_keys=True)
        with self._tx() as db:
            db.execute(
                "INSERT INTO orders (client_id, symbol, payload, created_ms, state, updated_ms)"
                " VALUES (?, ?, ?, ?, 'sent', ?)",
                (client_id, symbol, body, now, now),
            )
            db.execute(
                "INSERT INTO events (client_id, kind, body, at_ms) VALUES (?, 'intent', ?, ?)",
                (client_id, body, now),
            )
            if replaces is not None:
                db.execute(
                    "INSERT INTO events (client_id, order_id, kind, at_ms)"
                    " VALUES (?, ?, 'replaces', ?)",
                    (client_id, replaces, now),
                )

    def record_response(self, client_id: int, order: Order) -> None:
        self._record_order(client_id, order, "response")

    def record_error(self, client_id: int, error: BaseException) -> None:
        """A refusal is final; a lost answer (timeout, 5xx, unknown outcome) is not."""
        unknown = isinstance(error, UnknownOrderOutcome | TransportError | ServerError)
        state: State = "unknown" if unknown else "rejected"
        detail = str(error)
        now = _now_ms()
        with self._tx() as db:
            db.execute(
                "UPDATE orders SET state = ?, detail = ?, updated_ms = ? WHERE client_id = ?",
                (state, detail, now, client_id),
            )
            db.execute(
                "INSERT INTO events (client_id, kind, status, body, at_ms)"
                " VALUES (?, 'error', ?, ?, ?)",
                (client_id, state, detail, now),
            )

    def record_update(self, order: Order) -> None:
        """An ``account.orderUpdate``, or the client's copy of a REST answer or cancel."""
        if not order.id:
            return
        client_id = order.client_id
        if client_id is None or self.entry(client_id) is None:
            row = self._db.execute(
                "SELECT client_id FROM orders WHERE order_id = ?", (order.id,)
            ).fetchone()
            client_id = None if row is None else int(row[0])
        self._record_order(client_id, order, "update")

    def _record_order(self, client_id: int | None, order: Order, kind: str) -> None:
        now = _now_ms()
        state: State = "open" if order.is_open else "done"
        with self._tx() as db:
            if client_id is not None:
                # A late "New" must not undo a "Filled" that the stream delivered first.
                db.execute(
                    "UPDATE orders SET state = CASE WHEN state = 'done' AND ? = 'open'"
                    " THEN state ELSE ? END,"
                    " status = CASE WHEN state = 'done' AND ? = 'open' THEN status ELSE ? END,"
                    " order_id = COALESCE(?, order_id), updated_ms = ? WHERE client_id = ?",
                    (state, state, state, order.status, order.id or None, now, client_id),
                )
            db.execute(
                "INSERT INTO events (client_id, order_id, kind, status, body, at_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (client_id, order.id, kind, order.status, _order_body(order), now),
            )

    def _mark(self, client_id: int, state: State, detail: str, order: Order | None) -> None:
        now = _now_ms()
        with self._tx() as db:
            db.execute(
                "UPDATE orders SET state = ?, detail = ?, order_id = COALESCE(?, order_id),"
                " status = COALESCE(?, status), updated_ms = ? WHERE client_id = ?",
                (
                    state,
                    detail,
                    order.id if order else None,
                    order.status if order else None,
                    now,
                    client_id,
                ),
            )
            db.execute(
                "INSERT INTO events (client_id, order_id, kind, status, body, at_ms)"
                " VALUES (?, ?, 'reconcile', ?, ?, ?)",
                (client_id, order.id if order else None, state, detail, now),
            )

    def record_fill(self, fill: Fill) -> bool:
        """Store one fill; the same (order, trade) twice is ignored. True when stored."""
        ts = fill.timestamp_ms if fill.timestamp_ms is not None else _now_ms()
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO fills (trade_id, order_id, client_id, symbol, side, price,"
                " quantity, fee, fee_symbol, is_maker, ts_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    fill.trade_id,
                    fill.order_id,
                    parse_int(fill.client_id),
                    fill.symbol,
                    fill.side,
                    str(fill.price),
                    str(fill.quantity),
                    str(fill.fee),
                    fill.fee_symbol,
                    int(fill.is_maker),
                    ts,
                ),
            )
            return cursor.rowcount == 1

    def record_fill_update(self, order: Order) -> bool:
        """An :class:`OrderFilled` event's order, which carries the fill in ``raw``."""
        fill = fill_from_update(order)
        return fill is not None and self.record_fill(fill)

    # ------------------------------------------------------------------ reads

    def _entry(self, row: sqlite3.Row) -> JournalEntry:
        return JournalEntry(
            client_id=int(row["client_id"]),
            symbol=str(row["symbol"]),
            payload=json.loads(row["payload"]),
            created_ms=int(row["created_ms"]),
            state=row["state"],
            order_id=row["order_id"],
            status=row["status"],
            detail=row["detail"],
        )

    def entry(self, client_id: int) -> JournalEntry | None:
        row = self._db.execute("SELECT * FROM orders WHERE client_id = ?", (client_id,)).fetchone()
        return None if row is None else self._entry(row)

    def entries(self, limit: int = 100) -> list[JournalEntry]:
        rows = self._db.execute(
            "SELECT * FROM orders ORDER BY created_ms DESC, rowid DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._entry(row) for row in rows]

    def unresolved(self, symbol: str | None = None) -> list[JournalEntry]:
        """Intents the exchange has not answered for: they may or may not exist."""
        query = "SELECT * FROM orders WHERE state IN ('sent', 'unknown')"
        args: tuple[Any, ...] = ()
        if symbol is not None:
            query += " AND symbol = ?"
            args = (symbol,)
        rows = self._db.execute(query + " ORDER BY created_ms", args).fetchall()
        return [self._entry(row) for row in rows]

    def events(self, client_id: int) -> list[tuple[str, str | None]]:
        """(kind, status) of one order's events, oldest first."""
        rows = self._db.execute(
            "SELECT kind, status FROM events WHERE client_id = ? ORDER BY id", (client_id,)
        ).fetchall()
        return [(str(row[0]), row[1]) for row in rows]

    def replaced(self, client_id: int) -> str | None:
        """The id of the order this intent was sent to replace (None: a plain order)."""
        row = self._db.execute(
            "SELECT order_id FROM events WHERE client_id = ? AND kind = 'replaces'", (client_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def fills(self) -> list[Fill]:
        rows = self._db.execute("SELECT * FROM fills ORDER BY ts_ms, id").fetchall()
        return [
            Fill(
                trade_id=row["trade_id"],
                order_id=row["order_id"],
                client_id=None if row["client_id"] is None else str(row["client_id"]),
                symbol=row["symbol"],
                side=row["side"],
                price=Decimal(row["price"]),
                quantity=Decimal(row["quantity"]),
                fee=Decimal(row["fee"]),
                fee_symbol=row["fee_symbol"],
                is_maker=bool(row["is_maker"]),
                timestamp_ms=row["ts_ms"],
            )
            for row in rows
        ]

    def fills_summary(self) -> list[DailySummary]:
        return summarize_fills(self.fills())

    # ------------------------------------------------------------------ reconciliation

    async def reconcile(
        self,
        rest: OrderLookup,
        *,
        symbol: str | None = None,
        skip: Collection[int] = (),
        window_ms: int = MAX_WINDOW_MS,
        now_ms: Callable[[], int] = local_ms,
    ) -> list[Reconciled]:
        """Look up every unresolved intent and record what the exchange says.

        ``skip`` holds clientIds whose request is still in flight in this process: their
        answer is coming. ``window_ms`` is the signature window the intents were sent
        with (the longest the exchange allows, when it is not known): an intent is only
        proven absent once that long has passed since it was written down.
        """
        results: list[Reconciled] = []
        for entry in self.unresolved(symbol):
            if entry.client_id in skip:
                continue
            pending = Pending(
                entry.symbol, entry.client_id, entry.created_ms, entry.created_ms + window_ms
            )
            result = await look_up(rest, pending, now_ms=now_ms)
            self.record_outcome(result)
            results.append(result)
        return results

    def record_outcome(self, result: Reconciled) -> None:
        """Record what a lookup learnt; an unknown outcome changes nothing."""
        if result.outcome != "unknown":
            state = _OUTCOME_STATE[result.outcome]
            self._mark(result.client_id, state, result.detail, result.order)


def _day(ts_ms: int | None) -> str:
    return datetime.fromtimestamp((ts_ms or 0) / 1000, UTC).strftime("%Y-%m-%d")


def _fee_in_quote(fill: Fill) -> Decimal:
    """Spot buys pay the fee in the base asset (the fill's ``N``); value it at the fill price."""
    base = fill.symbol.split("_", 1)[0]
    return fill.fee * fill.price if fill.fee_symbol == base else fill.fee


def summarize_fills(fills: Sequence[Fill]) -> list[DailySummary]:
    """Average-cost realised PnL and fees per (UTC day, market), oldest first."""
    position: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (signed qty, avg cost)
    rows: dict[tuple[str, str], list[Decimal]] = {}  # -> [fills, volume, fees, pnl]
    zero = Decimal(0)
    for fill in sorted(fills, key=lambda f: f.timestamp_ms or 0):
        qty, cost = position.get(fill.symbol, (zero, zero))
        signed = fill.quantity if fill.side == "Bid" else -fill.quantity
        pnl = zero
        if qty == 0 or (qty > 0) == (signed > 0):
            total = abs(qty) + abs(signed)
            cost = (abs(qty) * cost + abs(signed) * fill.price) / total if total else zero
        else:
            closing = min(abs(signed), abs(qty))
            pnl = closing * (fill.price - cost) * (1 if qty > 0 else -1)
            if abs(signed) > abs(qty):
                cost = fill.price
        qty += signed
        position[fill.symbol] = (qty, cost if qty != 0 else zero)
        row = rows.setdefault((_day(fill.timestamp_ms), fill.symbol), [zero, zero, zero, zero])
        row[0] += 1
        row[1] += fill.quantity * fill.price
        row[2] += _fee_in_quote(fill)
        row[3] += pnl
    return [
        DailySummary(day, symbol, int(v[0]), v[1], v[2], v[3])
        for (day, symbol), v in sorted(rows.items())
    ]
