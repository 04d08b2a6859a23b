"""Safety tests never touch the user's config, journal or logs."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPX_TUI_HOME", str(tmp_path / "home"))
    for name in ("BPX_API_KEY", "BPX_API_SECRET", "BPX_BASE_URL", "BPX_WS_URL"):
        monkeypatch.delenv(name, raising=False)
