"""Where bpx-tui keeps its files.

Per-OS locations come from platformdirs so the console behaves like a native tool on
Linux, macOS and Windows. ``BPX_TUI_HOME`` relocates all three directories at once:
tests, demos and a second "paper" install must never touch the user's real config,
journal or logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from platformdirs import user_config_path, user_data_path, user_log_path

APP_NAME = "bpx-tui"
HOME_ENV = "BPX_TUI_HOME"
CONFIG_FILE = "config.toml"
JOURNAL_FILE = "journal.sqlite3"
LOG_FILE = "bpx-tui.log"
ALERTS_FILE = "alerts.json"

_PACKAGE = Path(__file__).resolve().parent


def _home(env: Mapping[str, str] | None) -> Path | None:
    value = (os.environ if env is None else env).get(HOME_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config directory (``config.toml`` lives inside it)."""
    home = _home(env)
    return home / "config" if home else user_config_path(APP_NAME)


def config_file(env: Mapping[str, str] | None = None) -> Path:
    """The default ``config.toml`` path."""
    return config_path(env) / CONFIG_FILE


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Durable state: the order journal."""
    home = _home(env)
    return home / "data" if home else user_data_path(APP_NAME)


def journal_file(env: Mapping[str, str] | None = None) -> Path:
    return data_dir(env) / JOURNAL_FILE


def demo_journal_file(env: Mapping[str, str] | None = None) -> Path:
    """The demo's own journal: its orders must never be reconciled against Backpack."""
    return data_dir(env) / "demo" / JOURNAL_FILE


def command_history_file(env: Mapping[str, str] | None = None) -> Path:
    """The ``:`` command line's history (one command per line, newest last)."""
    return data_dir(env) / "command_history.txt"


def alerts_file(mode: str = "live", env: Mapping[str, str] | None = None) -> Path:
    """The ``:alert`` list. Each mode keeps its own, as it keeps its own journal: a demo
    exchange's prices are not Backpack's, so a level set on one means nothing on the other."""
    base = data_dir(env)
    return base / ALERTS_FILE if mode == "live" else base / mode / ALERTS_FILE


def log_dir(env: Mapping[str, str] | None = None) -> Path:
    """Rotating log files (the terminal belongs to the UI, so logs never go there)."""
    home = _home(env)
    return home / "logs" if home else user_log_path(APP_NAME)


def styles_dir() -> Path:
    """The ``.tcss`` directory as an absolute path (Textual resolves CSS_PATH against cwd).

    A wheel ships the styles inside the package (``bpx_tui/styles``); a checkout or an
    editable install keeps them at the repository root.
    """
    bundled = _PACKAGE / "styles"
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / "styles"


def css_paths() -> list[Path]:
    """Every stylesheet, sorted by name so the cascade order is stable."""
    directory = styles_dir()
    if not directory.is_dir():
        return []
    return sorted(path.resolve() for path in directory.glob("*.tcss"))
