"""The type checker sees every event consumer: a handler that reads a field its event
does not have, or subscribes to the wrong event class, fails ``mypy --strict``.

This is the point of typed events over string topics: renaming a field breaks the
consumers at check time, not on a live feed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]

CONSUMERS = """
from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.events import BookChanged, OrderUpdated, TickerUpdated

def wire(client: BackpackClient) -> None:
    def on_order(event: OrderUpdated) -> None:
        print(event.order.id)

    client.subscribe(OrderUpdated, on_order)
    client.subscribe(TickerUpdated, lambda event: print(event.ticker.last_price))
    client.subscribe(BookChanged, lambda event: print(event.symbol))
"""

BROKEN = {
    "a field the event does not have": (
        "client.subscribe(TickerUpdated, lambda event: print(event.mark))",
        '"TickerUpdated" has no attribute "mark"',
    ),
    "a handler for another event": (
        "client.subscribe(BookChanged, on_order)",
        'incompatible type "Callable[[OrderUpdated], None]"',
    ),
}


def _check(tmp_path: Path, source: str) -> tuple[str, int]:
    module = tmp_path / "consumer.py"
    module.write_text(source, encoding="utf-8")
    out, err, status = mypy_api.run(
        [
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(module),
        ]
    )
    return out + err, status


def test_well_typed_consumers_pass_and_broken_ones_fail(tmp_path: Path) -> None:
    report, status = _check(tmp_path, CONSUMERS)
    assert status == 0, report
    broken = CONSUMERS + "".join(f"    {line}\n" for line, _ in BROKEN.values())
    report, status = _check(tmp_path, broken)
    assert status == 1
    for what, (_line, message) in BROKEN.items():
        assert message in report, f"mypy did not catch {what}:\n{report}"
