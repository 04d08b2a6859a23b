"""The layer rule: only ``bpx_tui.ui`` may import Textual (the rest run without a UI).

Each module is imported in a fresh interpreter with an import hook that makes
``import textual`` fail, so a stray import anywhere in the chain is caught.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCKER = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "textual" or name.startswith("textual.") or name == "rich" or name.startswith("rich."):
            raise ImportError(f"layer violation: {name} imported outside bpx_tui.ui")
        return None
sys.meta_path.insert(0, _Block())
import importlib
importlib.import_module(sys.argv[1])
assert "textual" not in sys.modules
print("ok")
"""

LAYERS = [
    "bpx_tui.exchange",
    "bpx_tui.exchange.client",
    "bpx_tui.api",
    "bpx_tui.exchange.book",
    "bpx_tui.exchange.rest",
    "bpx_tui.exchange.stream",
    "bpx_tui.trading",
    "bpx_tui.sim",
    "bpx_tui.sim.server",
    "bpx_tui.sim.venue.engine",
    "bpx_tui.sim.cli",
    "bpx_tui.trading.orders",
    "bpx_tui.trading.journal",
    "bpx_tui.logsetup",
    "bpx_tui.config",
]


@pytest.mark.parametrize("module", LAYERS)
def test_imports_without_textual(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, module], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
