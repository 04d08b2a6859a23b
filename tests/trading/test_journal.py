"""The order journal: intents before answers, WAL, reconciliation over a real socket."""

from __future__ import annotations

import copy
import io
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpx_tui.exchange.errors import (
    OrderRejected,
    ServerError,
    TransportError,
    UnknownOrderOutcome,
)
from bpx_tui.exchange.models import Fill, Order
from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from bpx_tui.exchange.vocab import UINT32_MAX
from bpx_tui.trading.journal import Journal, fill_from_update, summarize_fills
from bpx_tui.trading.journal_cli import main as journal_main
from bpx_tui.trading.outcome import local_ms
from tests.conftest import load_fixture
from tests.fakes.rest_server import TEST_SECRET, FakeRestServer

D = Decimal
SYMBOL = "BTC_USDC_PERP"
PAYLOAD = {
    "symbol": SYMBOL,
    "side": "Bid",
    "orderType": "Limit",
    "quantity": "0.01",
    "price": "96500",
}


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j  # type: ignore[misc]


def order(
    client_id: int | None, status: str = "New", order_id: str = "111", **extra: object
) -> Order:
    return Order.from_api(
        {
            "id": order_id,
            "clientId": client_id,
            "symbol": SYMBOL,
            "side": "Bid",
            "orderType": "Limit",
            "status": status,
            "price": "96500",
            "quantity": "0.01",
            **extra,
        }
    )


# ------------------------------------------------------------------ storage basics


def test_wal_mode_and_file_location(journal: Journal, tmp_path: Path) -> None:
    assert journal.journal_mode == "wal"
    journal.record_intent(1, SYMBOL, PAYLOAD)
    assert (tmp_path / "journal.sqlite3-wal").exists()


def test_default_path_follows_the_home_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BPX_TUI_HOME", str(tmp_path))
    with Journal() as j:
        assert j.path == tmp_path / "data" / "journal.sqlite3"


def test_intent_is_committed_before_the_request(journal: Journal) -> None:
    journal.record_intent(42, SYMBOL, PAYLOAD)
    # A second connection (another process, after a crash) already sees it.
    other = sqlite3.connect(journal.path)
    row = other.execute("SELECT state, payload FROM orders WHERE client_id = 42").fetchone()
    other.close()
    assert row[0] == "sent"
    assert '"price": "96500"' in row[1]
    assert [e.client_id for e in journal.unresolved()] == [42]


def test_intent_then_response(journal: Journal) -> None:
    journal.record_intent(42, SYMBOL, PAYLOAD)
    journal.record_response(42, order(42, "New", "9001"))
    entry = journal.entry(42)
    assert entry is not None
    assert (entry.state, entry.order_id, entry.status) == ("open", "9001", "New")
    assert entry.payload == PAYLOAD
    assert journal.events(42) == [("intent", None), ("response", "New")]
    assert journal.unresolved() == []


def test_duplicate_client_id_is_refused(journal: Journal) -> None:
    journal.record_intent(42, SYMBOL, PAYLOAD)
    with pytest.raises(sqlite3.IntegrityError):
        journal.record_intent(42, SYMBOL, PAYLOAD)


def test_new_client_ids_are_unused_uint32(journal: Journal) -> None:
    ids = {journal.new_client_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(0 < i <= UINT32_MAX for i in ids)


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (OrderRejected(400, "INSUFFICIENT_MARGIN", "Insufficient margin"), "rejected"),
        (UnknownOrderOutcome(SYMBOL, 42, "timeout"), "unknown"),
        (TransportError("connection reset"), "unknown"),
        (ServerError(503, "SERVICE_UNAVAILABLE", "try again"), "unknown"),
    ],
)
def test_errors_are_final_only_when_the_exchange_answered(
    journal: Journal, error: Exception, state: str
) -> None:
    journal.record_intent(42, SYMBOL, PAYLOAD)
    journal.record_error(42, error)
    entry = journal.entry(42)
    assert entry is not None and entry.state == state
    assert entry.detail == str(error)
    assert entry.resolved is (state == "rejected")


def test_stream_updates_follow_the_order(journal: Journal) -> None:
    journal.record_intent(42, SYMBOL, PAYLOAD)
    journal.record_response(42, order(42, "New", "9001"))
    journal.record_update(order(None, "PartiallyFilled", "9001"))  # no clientId: by order id
    assert journal.entry(42).status == "PartiallyFilled"  # type: ignore[union-attr]
    journal.record_update(order(42, "Filled", "9001"))
    entry = journal.entry(42)
    assert entry is not None and (entry.state, entry.status) == ("done", "Filled")
    journal.record_update(order(None, "New", "unknown-order"))  # someone else's order: logged


def test_a_late_response_does_not_undo_a_fill(journal: Journal) -> None:
    journal.record_intent(42, SYMBOL, PAYLOAD)
    journal.record_update(order(42, "Filled", "9001"))  # the stream was faster
    journal.record_response(42, order(42, "New", "9001"))
    entry = journal.entry(42)
    assert entry is not None and (entry.state, entry.status) == ("done", "Filled")


def test_secrets_are_never_stored(journal: Journal) -> None:
    secret = Signer(TEST_SECRET)
    payload = {**PAYLOAD, "signature": secret.sign("x"), "apiSecret": TEST_SECRET}
    journal.record_intent(42, SYMBOL, payload)
    journal.record_response(42, order(42, "New", "9001", signature="abc", secret=TEST_SECRET))
    journal.close()
    for file in journal.path.parent.iterdir():
        assert TEST_SECRET.encode() not in file.read_bytes()
    with Journal(journal.path) as reopened:
        assert reopened.entry(42).payload == PAYLOAD  # type: ignore[union-attr]


# ------------------------------------------------------------------ fills and PnL


def test_fill_from_stream_update_is_stored_once(journal: Journal) -> None:
    data = load_fixture("ws_account_orderUpdate_fill.json")["data"]
    fill = fill_from_update(Order.from_update(data))
    assert fill is not None
    assert (fill.price, fill.quantity, fill.fee, fill.trade_id) == (
        D("97012.4"),
        D("0.02000"),
        D("0.970124"),
        48213380,
    )
    assert journal.record_fill_update(Order.from_update(data))
    assert not journal.record_fill_update(Order.from_update(data))  # replayed: ignored
    assert len(journal.fills()) == 1
    assert not journal.record_fill_update(Order.from_update({**data, "l": None}))


def test_history_fills_round_trip(journal: Journal) -> None:
    fills = [Fill.from_api(row) for row in load_fixture("rest_history_fills.json")]
    for fill in fills:
        journal.record_fill(fill)
    assert sorted(f.trade_id or 0 for f in journal.fills()) == sorted(
        f.trade_id or 0 for f in fills
    )


def _fill(
    side: str, qty: str, price: str, day: int, fee: str = "0.1", symbol: str = SYMBOL
) -> Fill:
    ts = int(datetime(2026, 11, day, 12, tzinfo=UTC).timestamp() * 1000)
    return Fill(
        None,
        f"o{day}{side}{price}",
        None,
        symbol,
        side,
        D(price),
        D(qty),
        D(fee),
        "USDC",
        False,
        ts,
    )


def test_realised_pnl_and_fees_per_day_and_market() -> None:
    fills = [
        _fill("Bid", "1", "100", 1),
        _fill("Bid", "1", "110", 1),  # average cost 105
        _fill("Ask", "2", "120", 2),  # +30 realised, flat
        _fill("Ask", "1", "50", 2, symbol="SOL_USDC_PERP"),  # opens a short
        _fill("Bid", "3", "40", 3, symbol="SOL_USDC_PERP"),  # +10, then long 2 @ 40
        _fill("Ask", "2", "45", 3, symbol="SOL_USDC_PERP"),  # +10
    ]
    rows = {(r.day, r.symbol): r for r in summarize_fills(fills)}
    day1 = rows[("2026-11-01", SYMBOL)]
    assert (day1.fills, day1.volume, day1.realized_pnl, day1.fees) == (2, D(210), D(0), D("0.2"))
    day2 = rows[("2026-11-02", SYMBOL)]
    assert (day2.realized_pnl, day2.net) == (D(30), D("29.9"))
    assert rows[("2026-11-02", "SOL_USDC_PERP")].realized_pnl == 0
    assert rows[("2026-11-03", "SOL_USDC_PERP")].realized_pnl == D(20)


def test_spot_buy_fee_in_base_is_valued_in_quote() -> None:
    fill = Fill(1, "o", None, "SOL_USDC", "Bid", D(140), D(2), D("0.002"), "SOL", False, 0)
    assert summarize_fills([fill])[0].fees == D("0.280")


def test_journal_cli_table_and_csv(journal: Journal) -> None:
    for fill in (_fill("Bid", "1", "100", 1), _fill("Ask", "1", "130", 2)):
        journal.record_fill(fill)
    out = io.StringIO()
    assert journal_main(["--journal", str(journal.path)], out) == 0
    table = out.getvalue().splitlines()
    assert table[0].split() == ["day", "market", "fills", "volume", "fees", "realized_pnl", "net"]
    assert "2026-11-02  BTC_USDC_PERP" in table[3]
    assert table[3].split()[-2:] == ["30.00", "29.90"]
    assert table[-1].startswith("total")
    out = io.StringIO()
    assert journal_main(["--csv", "--journal", str(journal.path)], out) == 0
    assert out.getvalue().splitlines()[1:] == [
        "2026-11-01,BTC_USDC_PERP,1,100.00,0.10,0.00,-0.10",
        "2026-11-02,BTC_USDC_PERP,1,130.00,0.10,30.00,29.90",
    ]


def test_journal_cli_without_a_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert journal_main(["--journal", str(tmp_path / "none.sqlite3")]) == 1
    assert "no journal here yet" in capsys.readouterr().err


def test_journal_cli_lists_unresolved(journal: Journal) -> None:
    journal.record_intent(77, SYMBOL, PAYLOAD)
    journal.record_error(77, UnknownOrderOutcome(SYMBOL, 77, "timeout"))
    out = io.StringIO()
    assert journal_main(["--unresolved", "--journal", str(journal.path)], out) == 0
    assert out.getvalue().startswith(f"77\t{SYMBOL}\tunknown\t")


# ------------------------------------------------------------------ reconciliation


@pytest.fixture
async def exchange() -> AsyncIterator[tuple[FakeRestServer, RestClient]]:
    async with FakeRestServer() as server:
        rest = RestClient(server.url, Signer(TEST_SECRET), max_retries=0, timeout=2.0)
        try:
            yield server, rest
        finally:
            await rest.close()


def _later() -> int:
    """Two minutes on: every request sent "now" has long expired, so absence is proven."""
    return local_ms() + 120_000


def _naive(ms_ago: int) -> str:
    moment = datetime.now(UTC) - timedelta(milliseconds=ms_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


async def test_reconcile_found_resting_found_in_history_and_absent(
    journal: Journal, exchange: tuple[FakeRestServer, RestClient]
) -> None:
    server, rest = exchange
    resting = copy.deepcopy(server.state.resting[0])
    resting.update(clientId=1, id="5001", createdAt=local_ms())
    server.state.resting.append(resting)
    done = copy.deepcopy(server.state.history[0])
    done.update(clientId=2, id="5002", status="Filled", createdAt=_naive(100))
    server.state.history.insert(0, done)
    for cid in (1, 2, 3):
        journal.record_intent(cid, SYMBOL, PAYLOAD)
        journal.record_error(cid, UnknownOrderOutcome(SYMBOL, cid, "timeout"))

    results = {r.client_id: r for r in await journal.reconcile(rest, now_ms=_later)}

    assert results[1].outcome == "open" and results[1].order is not None
    assert results[2].outcome == "final" and results[2].order.status == "Filled"  # type: ignore[union-attr]
    assert results[3].outcome == "absent" and results[3].order is None
    states = {cid: journal.entry(cid) for cid in (1, 2, 3)}
    assert (states[1].state, states[1].order_id) == ("open", "5001")  # type: ignore[union-attr]
    assert (states[2].state, states[2].status) == ("done", "Filled")  # type: ignore[union-attr]
    assert states[3].state == "absent"  # type: ignore[union-attr]
    assert journal.unresolved() == []
    assert ("reconcile", "absent") in journal.events(3)
    # it asked by clientId (GET /order sees resting orders only), then searched the history
    asked = [c.query.get("clientId") for c in server.calls("GET", "/api/v1/order")]
    assert asked == ["1", "2", "3"]
    assert len(server.calls("GET", "/wapi/v1/history/orders")) == 2


async def test_reconcile_ignores_an_old_order_that_reused_the_client_id(
    journal: Journal, exchange: tuple[FakeRestServer, RestClient]
) -> None:
    server, rest = exchange
    old = copy.deepcopy(server.state.history[0])
    old.update(clientId=9, id="4000", status="Filled", createdAt=_naive(3_600_000))
    server.state.history.insert(0, old)
    journal.record_intent(9, SYMBOL, PAYLOAD)
    [result] = await journal.reconcile(rest, now_ms=_later)
    assert result.outcome == "absent"


async def test_reconcile_keeps_the_intent_when_the_exchange_cannot_answer(
    journal: Journal, exchange: tuple[FakeRestServer, RestClient]
) -> None:
    server, rest = exchange
    server.fail("GET", "/api/v1/order", status=503, times=1)
    journal.record_intent(5, SYMBOL, PAYLOAD)
    [result] = await journal.reconcile(rest, now_ms=_later)
    assert result.outcome == "unknown"
    assert "open-order lookup failed" in result.detail
    assert [e.client_id for e in journal.unresolved()] == [5]
    server.fail("GET", "/wapi/v1/history/orders", status=503, times=1)
    [result] = await journal.reconcile(rest, now_ms=_later)
    assert result.outcome == "unknown" and "history lookup failed" in result.detail
    [result] = await journal.reconcile(rest, now_ms=_later)  # the exchange is back
    assert result.outcome == "absent"


async def test_an_intent_whose_request_may_still_execute_is_unknown_not_absent(
    journal: Journal, exchange: tuple[FakeRestServer, RestClient]
) -> None:
    """Not found one moment after it was sent proves nothing: it may still land."""
    _, rest = exchange
    journal.record_intent(21, SYMBOL, PAYLOAD)
    [result] = await journal.reconcile(rest, window_ms=5_000)
    assert result.outcome == "unknown" and "could still execute" in result.detail
    assert [e.client_id for e in journal.unresolved()] == [21]
    [result] = await journal.reconcile(rest, window_ms=5_000, now_ms=_later)
    assert result.outcome == "absent"


async def test_reconcile_skips_requests_still_in_flight(
    journal: Journal, exchange: tuple[FakeRestServer, RestClient]
) -> None:
    _, rest = exchange
    journal.record_intent(1, SYMBOL, PAYLOAD)
    journal.record_intent(2, "SOL_USDC_PERP", PAYLOAD)
    assert await journal.reconcile(rest, skip={1}, symbol=SYMBOL) == []
    assert {e.client_id for e in journal.unresolved()} == {1, 2}


@given(
    trades=st.lists(
        st.tuples(
            st.sampled_from(["Bid", "Ask"]),
            st.integers(min_value=1, max_value=50),
            st.integers(min_value=90, max_value=110),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_flat_round_trips_realise_exactly_the_cash_flow(trades: list[tuple[str, int, int]]) -> None:
    """Whatever the path, once flat again the realised PnL is sells minus buys."""
    fills = [
        Fill(None, f"o{i}", None, SYMBOL, side, D(price), D(qty), D(0), "USDC", False, i)
        for i, (side, qty, price) in enumerate(trades)
    ]
    net = sum(f.quantity if f.side == "Bid" else -f.quantity for f in fills)
    closing_side = "Ask" if net > 0 else "Bid"
    if net:
        fills.append(
            Fill(
                None, "close", None, SYMBOL, closing_side, D(100), abs(net), D(0), "USDC", False, 99
            )
        )
    cash = sum((f.quantity * f.price * (1 if f.side == "Ask" else -1) for f in fills), D(0))
    realised = sum((row.realized_pnl for row in summarize_fills(fills)), D(0))
    assert abs(realised - cash) < D("1e-15")


async def test_reconcile_pages_back_through_a_busy_history(
    journal: Journal, exchange: tuple[FakeRestServer, RestClient]
) -> None:
    server, rest = exchange
    template = server.state.history[0]
    newer = [
        {
            **copy.deepcopy(template),
            "id": str(8000 + n),
            "clientId": 100 + n,
            "createdAt": _naive(10),
        }
        for n in range(260)
    ]
    target = {**copy.deepcopy(template), "id": "7999", "clientId": 11, "createdAt": _naive(20)}
    server.state.history[:0] = [*newer[:230], target, *newer[230:]]
    journal.record_intent(11, SYMBOL, PAYLOAD)
    journal.record_intent(12, SYMBOL, PAYLOAD)
    results = {r.client_id: r for r in await journal.reconcile(rest, now_ms=_later)}
    assert results[11].outcome == "final" and results[11].order.id == "7999"  # type: ignore[union-attr]
    assert results[12].outcome == "absent"
    pages = [c.query.get("offset") for c in server.calls("GET", "/wapi/v1/history/orders")]
    assert pages == ["0", "200", "0", "200"]
