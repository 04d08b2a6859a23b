"""Logging goes to a file and the ring buffer, with every secret masked."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from bpx_tui.config import Secret, Settings
from bpx_tui.exchange.signing import Signer
from bpx_tui.logsetup import (
    RedactingFilter,
    RingBufferHandler,
    setup_for,
    setup_logging,
    teardown_logging,
)
from tests.conftest import load_fixture

SECRET = load_fixture("signing_vectors.json")["key"]["secretBase64"]
API_KEY = load_fixture("signing_vectors.json")["key"]["apiKeyBase64"]
SIGNATURE = Signer(SECRET).sign("instruction=orderExecute&timestamp=1&window=5000")


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield tmp_path
    teardown_logging()
    root.setLevel(level)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)


@pytest.mark.parametrize(
    "text",
    [
        f"headers={{'X-Signature': '{SIGNATURE}', 'X-API-Key': 'abc'}}",
        f"X-Signature: {SIGNATURE}",
        f'{{"api_secret": "{SECRET}"}}',
        f"secret={SECRET}",
        f"signature = {SIGNATURE}",
    ],
)
def test_named_secrets_and_signatures_are_masked_without_configuration(text: str) -> None:
    redacted = RedactingFilter().redact(text)
    assert SECRET not in redacted and SIGNATURE not in redacted
    assert "****" in redacted


def test_configured_secret_is_masked_anywhere() -> None:
    redactor = RedactingFilter([SECRET])
    assert redactor.redact(f"oops {SECRET} leaked") == "oops **** leaked"
    assert redactor.redact("an order id 4227701917") == "an order id 4227701917"


def test_file_and_ring_get_redacted_records_and_never_the_terminal(
    installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = setup_logging("INFO", [SECRET], directory=installed)
    log = logging.getLogger("bpx_tui.test")
    log.info("placing order with secret %s", SECRET)
    log.warning("rejected: X-Signature: %s", SIGNATURE)
    try:
        raise ValueError(f"bad key {SECRET}")
    except ValueError:
        log.exception("failure")
    log.debug("not at INFO")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = setup.file.read_text()
    assert setup.file.parent == installed
    assert SECRET not in text and SIGNATURE not in text
    assert "placing order with secret ****" in text
    assert "ValueError: bad key ****" in text
    assert "not at INFO" not in text
    entries = setup.ring.entries()
    assert [e.level for e in entries] == ["WARNING", "ERROR"]  # WARNING+ only
    assert entries[0].message == "rejected: X-Signature: ****"
    assert entries[1].message.endswith("ValueError: bad key ****")
    assert setup.ring.version == 2
    captured = capsys.readouterr()
    assert "placing order" not in captured.out + captured.err


def test_setup_is_idempotent_and_removes_terminal_handlers(installed: Path) -> None:
    root = logging.getLogger()
    terminal = logging.StreamHandler(sys.__stderr__)
    root.addHandler(terminal)
    setup_logging("WARNING", directory=installed)
    second = setup_logging("DEBUG", directory=installed)
    rotating = [h for h in root.handlers if isinstance(h, RotatingFileHandler)]
    rings = [h for h in root.handlers if isinstance(h, RingBufferHandler)]
    assert rings == [second.ring]
    assert [h.baseFilename for h in rotating] == [str(second.file)]
    if sys.__stderr__ is not None and sys.__stderr__.isatty():
        assert terminal not in root.handlers
    root.removeHandler(terminal)
    assert root.level == logging.DEBUG


def test_ring_buffer_is_bounded(installed: Path) -> None:
    setup = setup_logging("INFO", directory=installed, ring_capacity=3)
    for n in range(10):
        logging.getLogger("bpx_tui.test").error("e%d", n)
    assert [e.message for e in setup.ring.entries()] == ["e7", "e8", "e9"]


def test_bare_signature_in_a_subscribe_frame_is_masked() -> None:
    frame = f'{{"method": "SUBSCRIBE", "signature": ["{API_KEY}", "{SIGNATURE}", "1", "5000"]}}'
    redacted = RedactingFilter().redact(frame)
    assert SIGNATURE not in redacted
    assert API_KEY in redacted  # the public key is not a secret


def test_setup_for_settings_masks_the_configured_secret(installed: Path) -> None:
    settings = Settings(api_key=API_KEY, api_secret=Secret(SECRET), log_level="WARNING")
    setup = setup_for(settings, directory=installed)
    assert setup.redactor.secrets == [SECRET]
    assert logging.getLogger().level == logging.WARNING
