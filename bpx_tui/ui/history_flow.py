"""The history screen's two jobs for the app: read the exchange, write the CSV files.

Kept out of ``ui/app.py`` (which only routes the screen's intents here), and out of the
screen (which draws what it is handed and holds no client).
"""

from __future__ import annotations

import logging
from pathlib import Path

from bpx_tui.exchange.history import DEFAULT_CAP, read_account_history
from bpx_tui.exchange.rest import RestClient
from bpx_tui.ui import history_export
from bpx_tui.ui.history_model import HistoryView, build_view
from bpx_tui.ui.screens.history import HistoryScreen

log = logging.getLogger("bpx_tui.ui.history")


async def load(rest: RestClient, screen: HistoryScreen, *, cap: int = DEFAULT_CAP) -> None:
    """Read all three histories and hand the screen its view.

    A kind the exchange refuses is said on its own tab (``Read.error``); anything else
    that goes wrong is said in place of the rows, never raised into the app.
    """
    try:
        view = build_view(await read_account_history(rest, cap=cap))
    except Exception as exc:  # a bug or an unforeseen answer: a sentence, not a traceback
        log.exception("history read failed")
        screen.failed(f"{type(exc).__name__}: {exc}")
        return
    screen.show(view)


def export(screen: HistoryScreen, view: HistoryView, data_dir: Path, now_ms: int) -> str:
    """Write the CSV files; the sentence said on the screen's status line (and returned)."""
    try:
        directory = history_export.export(view, data_dir, now_ms)
    except OSError as exc:
        message = f"CSV export failed: {exc}"
    else:
        message = f"CSV written to {directory}"
    screen.say(message)
    return message
