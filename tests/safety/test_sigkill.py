"""SIGKILL while an order's answer is in flight, then restart: journal and exchange agree.

Real processes all the way: ``bpx-tui sim`` as the exchange (its first order hangs
after being accepted), a child Python process with the real client + journal + order
service, and SIGKILL -- no ``finally``, no atexit, no flush. The "restart" opens the
same journal file and runs the console's start-up reconciliation.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bpx_tui import paths
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import NotFoundError
from bpx_tui.exchange.signing import generate_secret
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.recovery import reconcile_on_start
from bpx_tui.trading.risk import RiskGate, RiskLimits

ROOT = Path(__file__).resolve().parents[2]
SYMBOL = "BTC_USDC_PERP"
STEP_S = 30.0  # bound on each wait below


async def _stop(process: asyncio.subprocess.Process | None) -> None:
    if process is None or process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 5)
    except TimeoutError:
        process.kill()
        await asyncio.wait_for(process.wait(), 5)


def _journal_rows(path: Path) -> list[tuple[int, str]]:
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return [
                (int(r[0]), str(r[1])) for r in db.execute("SELECT client_id, state FROM orders")
            ]
    except sqlite3.OperationalError:  # created but no schema yet
        return []


@pytest.mark.timeout(90)
async def test_sigkill_mid_order_then_restart_reconciles_without_resending(
    tmp_path: Path,
) -> None:
    secret = generate_secret()
    home = tmp_path / "home"
    env = {**os.environ, "BPX_TUI_HOME": str(home), "PYTHONPATH": str(ROOT)}
    sim: asyncio.subprocess.Process | None = None
    child: asyncio.subprocess.Process | None = None
    sim_err = (tmp_path / "sim.err").open("w")
    child_err = tmp_path / "child.err"
    try:
        sim = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bpx_tui", "sim", "--port", "0", "--rate", "20",
            "--fail-next-order", "hang", "--secret", secret,
            stdout=subprocess.PIPE, stderr=sim_err, cwd=ROOT, env=env,
        )  # fmt: skip
        assert sim.stdout is not None
        info = json.loads(await asyncio.wait_for(sim.stdout.readline(), STEP_S))
        child_env = {
            **env,
            "BPX_BASE_URL": info["rest"],
            "BPX_WS_URL": info["ws"],
            "BPX_API_SECRET": secret,
        }
        with child_err.open("w") as err:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.safety.sigkill_child",
                cwd=ROOT, env=child_env, stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        journal_path = paths.journal_file(child_env)
        client = BackpackClient(info["rest"], info["ws"], api_secret=secret)
        try:
            # 1. The intent is on disk and the exchange has the order; its answer hangs.
            deadline = time.monotonic() + STEP_S
            rows: list[tuple[int, str]] = []
            exchange_order = None
            while exchange_order is None:
                assert child.returncode is None, child_err.read_text()
                assert time.monotonic() < deadline, f"no journaled, accepted order: {rows}"
                rows = _journal_rows(journal_path)
                if rows:
                    assert rows == [(rows[0][0], "sent")]
                    try:
                        exchange_order = await client.rest.get_order(SYMBOL, client_id=rows[0][0])
                    except NotFoundError:
                        pass
                await asyncio.sleep(0.05)
            cid = rows[0][0]
            os.kill(child.pid, signal.SIGKILL)
            assert await asyncio.wait_for(child.wait(), 10) == -signal.SIGKILL

            # 2. Restart: the same journal, the console's start-up reconciliation.
            with Journal(journal_path) as journal:
                assert [(e.client_id, e.state) for e in journal.unresolved()] == [(cid, "sent")]
                service = OrderService(client, RiskGate(), journal, RiskLimits())
                check = await reconcile_on_start(service)
                assert check.summary() == "journal: 1 order reconciled (found open)"
                assert not check.blocked and service.gate.blocked(SYMBOL) is None
                entries = journal.entries()
                assert [(e.client_id, e.state, e.order_id) for e in entries] == [
                    (cid, "open", exchange_order.id)
                ]
                assert journal.events(cid) == [("intent", None), ("reconcile", "open")]
                assert journal.unresolved() == []

            # 3. The exchange agrees: exactly one order with that clientId, never re-sent.
            resting = await client.rest.open_orders(SYMBOL)
            history = await client.rest.order_history(symbol=SYMBOL, limit=1000)
            ids = {o.id for o in [*resting, *history] if o.client_id == cid}
            assert ids == {exchange_order.id}
            assert [o.id for o in resting] == [exchange_order.id]
        finally:
            await client.close()
    finally:
        await _stop(child)
        await _stop(sim)
        sim_err.close()
