"""A whole LIVE session at DEBUG, then every trace it left is searched for the secret.

Logs, every screen shown, every journal row and the reprs of the objects that hold the
key must contain neither the secret (base64, the 32-byte seed as hex, the 64-byte form
as base64) nor any signature the exchange received.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from bpx_tui import paths
from bpx_tui.config import load_settings
from bpx_tui.exchange.signing import decode_secret, generate_secret
from bpx_tui.logsetup import setup_for, teardown_logging
from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from bpx_tui.sim.wire import auth as sim_auth
from bpx_tui.ui.app import BpxApp
from bpx_tui.ui.run import make_app
from bpx_tui.ui.screens.confirm import ConfirmScreen
from bpx_tui.ui.widgets.orders import OrdersPanel
from bpx_tui.ui.widgets.ticket import OrderTicket
from tests.conftest import running
from tests.safety.helpers import BTC, SIZE, screen_text
from tests.ui.helpers import wait_for, wait_ready

# An X-Signature header (or signature field) followed by anything but the mask.
_UNMASKED_SIGNATURE = re.compile(
    r"(?i)x-signature[\"']?\s*[:=]\s*[\"']?(?!\*\*\*\*)[A-Za-z0-9+/]{8,}"
)


def secret_forms(secret: str) -> dict[str, str]:
    """Every spelling of the key that must never appear anywhere."""
    seed = decode_secret(secret)
    public = bytes(nacl.signing.SigningKey(seed).verify_key)
    return {
        "base64 secret": secret,
        "seed hex": seed.hex(),
        "64-byte base64": base64.b64encode(seed + public).decode(),
        "seed base64": base64.b64encode(seed).decode(),
    }


def find_leaks(texts: Mapping[str, str], needles: Mapping[str, str]) -> list[str]:
    """``where: what`` for every needle found in any text (hex case-insensitively)."""
    leaks = []
    for where, text in texts.items():
        lowered = text.lower()
        for what, needle in needles.items():
            if needle in text or (what.endswith("hex") and needle.lower() in lowered):
                leaks.append(f"{where}: {what}")
    return leaks


def log_texts(directory: Path) -> dict[str, str]:
    return {
        str(path): path.read_bytes().decode("utf-8", "replace")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def journal_texts(path: Path) -> dict[str, str]:
    """Every column of every row of every table, as text."""
    out: dict[str, str] = {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
            out[f"journal:{table}"] = "\n".join(repr(tuple(map(str, row))) for row in rows)
    return out


def test_the_scanner_finds_a_planted_secret(tmp_path: Path) -> None:
    secret = generate_secret()
    forms = secret_forms(secret)
    for what, needle in forms.items():
        planted = tmp_path / "planted" / f"{what.replace(' ', '_')}.log"
        planted.parent.mkdir(exist_ok=True)
        spelled = needle.upper() if what.endswith("hex") else needle
        planted.write_text(f"2026-01-01 DEBUG x: header value {spelled} end\n")
        leaks = find_leaks(log_texts(planted.parent), {what: needle})
        assert leaks == [f"{planted}: {what}"]
        planted.unlink()
    assert _UNMASKED_SIGNATURE.search("X-Signature: " + "A" * 86 + "==")
    assert not _UNMASKED_SIGNATURE.search("X-Signature: ****")
    assert find_leaks({"clean": "nothing here"}, forms) == []


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with running(SimServer(SimConfig(seed=7), rate=0)) as server:
        yield server


@pytest.mark.timeout(60)
async def test_a_live_session_leaks_no_secret(
    sim: SimServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = generate_secret()
    account = sim.create_account(secret)
    monkeypatch.setenv("BPX_API_SECRET", secret)
    monkeypatch.setenv("BPX_BASE_URL", sim.rest_url)
    monkeypatch.setenv("BPX_WS_URL", sim.ws_url)
    settings = replace(load_settings(), log_level="DEBUG", watchlist=(BTC,))
    assert settings.api_key == account.api_key

    signatures: list[str] = []  # every signature the exchange was shown (REST and WS)
    verify = sim_auth.verify

    def recording_verify(api_key: str, signature: str, message: Any) -> bool:
        signatures.append(signature)
        return bool(verify(api_key, signature, message))

    monkeypatch.setattr(sim_auth, "verify", recording_verify)

    logs = setup_for(settings)
    screens: dict[str, str] = {}
    try:
        app = make_app(settings, demo=False, live=True, log_ring=logs.ring)
        async with app.run_test(size=SIZE) as pilot:

            def capture(step: str) -> None:
                screens[f"screen:{step}"] = screen_text(app)

            await wait_ready(pilot)
            assert app.client is not None
            capture("start-up")

            await pilot.press("b", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            capture("first-order question")
            screens["svg:first-order question"] = app.export_screenshot()
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.client.open_orders, "the resting order")
            capture("limit order placed")

            orders = app.query_one(OrdersPanel)
            await wait_for(pilot, lambda: orders.table.row_count == 1, "the orders row")
            await pilot.press("c")
            await wait_for(pilot, lambda: not app.client.open_orders, "the cancel")
            capture("cancelled")

            await pilot.press("B", "enter")
            await wait_for(pilot, lambda: app.client.positions, "the market buy")
            capture("market buy")

            await pilot.press("X")
            flat = lambda: sim.engine.positions(account.account_id, None) == []  # noqa: E731
            await wait_for(pilot, flat, "close-all", timeout=15)
            await pilot.pause(0.3)
            capture("close-all")

            await pilot.press("L")
            capture("log panel")
            await pilot.press("K")
            await pilot.pause(0.3)
            capture("kill switch on")
            await pilot.press("K")

            # Errors: bad ticket input, a price outside the band, an exchange refusal.
            await pilot.press("b")
            ticket = app.query_one(OrderTicket)
            error = ticket.query_one("#ticket-error")
            ticket.query_one("#ticket-price").value = "97000.05"
            await pilot.press("enter")
            await wait_for(pilot, lambda: str(error.content), "the input error")
            capture("invalid input")
            ticket.query_one("#ticket-price").value = "1000"
            await pilot.press("enter")
            await wait_for(pilot, lambda: "band" in str(error.content), "the band refusal")
            capture("risk refusal")
            await pilot.press("escape")
            sim.fail_next_order("error", status=400)
            await pilot.press("b", "enter")
            await pilot.pause(0.5)
            capture("exchange refusal")
            screens["svg:end"] = app.export_screenshot()

            objects = {
                "repr(settings)": repr(settings),
                "str(settings)": str(settings),
                "repr(app)": repr(app),
                "repr(client)": repr(app.client),
                "repr(rest)": repr(app.client.rest),
                "repr(signer)": repr(app.client.signer),
                "repr(service)": repr(app.service),
                "repr(stream)": repr(app.client.stream),
            }
            assert isinstance(app, BpxApp)
    finally:
        teardown_logging()

    logged = log_texts(paths.log_dir())
    everything = {
        **logged,
        **screens,
        **journal_texts(paths.journal_file()),
        **objects,
    }
    assert find_leaks(everything, secret_forms(secret)) == []

    # The session really was traced at DEBUG and really signed things.
    log_text = "\n".join(logged.values())
    assert " DEBUG " in log_text
    assert len(signatures) >= 3
    assert find_leaks(logged, {f"signature {i}": s for i, s in enumerate(signatures)}) == []
    assert _UNMASKED_SIGNATURE.search(log_text) is None
    assert any("LIVE" in text for text in screens.values())
