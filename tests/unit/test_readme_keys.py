"""The README's keys table, the config template's ``[keys]`` list and the preset count
are the key map's own, so none of them can drift from the bindings."""

from __future__ import annotations

import re
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from bpx_tui.config import DEFAULT_PRESET_NOTIONALS, KEY_ACTIONS, TEMPLATE
from bpx_tui.ui import keys
from bpx_tui.ui.app import BpxApp

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_keys_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert keys.rewrite_readme(text) == text, "run: python3 -m bpx_tui.ui.keys"


def test_the_table_has_every_binding_of_the_app() -> None:
    table = keys.readme_table()
    for spec in keys.KEYS:
        assert f"`{spec.id}`" in table, spec.id
    named = {name for row in keys.key_rows() for name in row.ids}
    assert named == {spec.id for spec in keys.KEYS}
    # Every binding the app and its screen really have, Textual's own chords too.
    bindings = [*App.BINDINGS, *Screen.BINDINGS, *BpxApp.BINDINGS]
    bound = {b.key for b in bindings if isinstance(b, Binding)} | {App.COMMAND_PALETTE_BINDING}
    for key in bound:
        for part in key.split(","):
            if part.startswith("super+"):
                continue  # macOS's copy chord, the same action as ctrl+c
            assert f"`{keys.display_key(part)}`" in table, part


def test_config_template_names_every_remappable_action() -> None:
    listed = re.findall(r"^# Actions:(.*(?:\n#(?! \[).*)*)", TEMPLATE, re.MULTILINE)
    assert listed, "the template lists the actions under [keys]"
    names = set(listed[0].replace("#", " ").split())
    assert names == set(KEY_ACTIONS)


def test_preset_count_is_the_code_s() -> None:
    presets = [spec for spec in keys.KEYS if spec.id.startswith("preset_")]
    assert len(presets) == len(DEFAULT_PRESET_NOTIONALS)
    text = README.read_text(encoding="utf-8")
    counts = {int(n) for n in re.findall(r"`1`[–-]`(\d)`", text)}
    counts |= {int(n) for n in re.findall(r"presets 1-(\d)", text)}
    counts |= {int(n) for n in re.findall(r"keys `1`–`(\d)`", text)}
    assert counts == {len(presets)}, counts
