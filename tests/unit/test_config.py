"""Settings: every bad value is a ConfigError that names the key and the fix."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from bpx_tui import paths
from bpx_tui.config import (
    KEY_ACTIONS,
    ConfigError,
    Secret,
    Settings,
    check_key_file,
    load_settings,
    write_template,
)
from bpx_tui.trading.risk import RiskLimits
from tests.conftest import load_fixture

VECTORS = load_fixture("signing_vectors.json")["key"]
SECRET = VECTORS["secretBase64"]
API_KEY = VECTORS["apiKeyBase64"]


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def key_file(tmp_path: Path, mode: int = 0o600, content: str = SECRET) -> Path:
    path = tmp_path / "key"
    path.write_text(content + "\n")
    path.chmod(mode)
    return path


def problems(tmp_path: Path, text: str, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={}, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "Traceback" not in message
    return message


# ------------------------------------------------------------------ defaults and template


def test_no_file_at_default_location_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, None, {paths.HOME_ENV: str(tmp_path)})
    assert settings == Settings()
    assert settings.symbol == "BTC_USDC_PERP"
    assert settings.refresh_hz == 20
    assert settings.confirm_close_all is False
    assert settings.confirm_first_live_order is True
    assert settings.stale_after_s == 5.0
    assert settings.watchlist == ("BTC_USDC_PERP", "ETH_USDC_PERP", "SOL_USDC_PERP")
    assert settings.kill_switch_resting == "cancel"  # a halt also stops resting risk
    assert settings.alert_bell is True
    assert not settings.has_credentials
    assert settings.risk == RiskLimits(
        max_order_notional=Decimal(50_000),
        max_position_notional=Decimal(250_000),
        price_band_pct=Decimal(5),
        max_slippage_pct=Decimal(1),
    )


def test_an_empty_watchlist_asks_for_every_perp_by_volume(tmp_path: Path) -> None:
    """The default is a few markets; ``[]`` is how a user asks for the volume-ranked list."""
    settings = load_settings(write(tmp_path, "watchlist = []"), env={})
    assert settings.watchlist == ()


def test_default_file_is_read_from_the_home_override(tmp_path: Path) -> None:
    env = {paths.HOME_ENV: str(tmp_path)}
    config_dir = paths.config_path(env)
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text("refresh_hz = 30\n")
    settings = load_settings(None, None, env)
    assert settings.refresh_hz == 30
    assert settings.source == config_dir / "config.toml"


def test_template_round_trips_through_the_loader(tmp_path: Path) -> None:
    path = write_template(tmp_path / "sub" / "config.toml")
    settings = load_settings(path, None, {})
    assert settings == Settings(source=path)
    assert "api_secret_file" in path.read_text()


def test_template_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write(tmp_path, "refresh_hz = 7\n")
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        write_template(path)
    assert path.read_text() == "refresh_hz = 7\n"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist — create one with: bpx-tui config init"):
        load_settings(tmp_path / "nope.toml", None, {})


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    message = problems(tmp_path, "refresh_hz = = 3\n")
    assert "config.toml: not valid TOML" in message
    assert "line 1" in message


# ------------------------------------------------------------------ every invalid value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'refresh_hz = "fast"',
            'refresh_hz: expected an integer 1..60, got "fast" — set refresh_hz = 20',
        ),
        ("refresh_hz = 0", "refresh_hz: expected an integer 1..60, got 0 — set refresh_hz = 20"),
        ("refresh_hz = 61", "refresh_hz: expected an integer 1..60, got 61"),
        ("refresh_hz = true", "refresh_hz: expected an integer 1..60, got true"),
        (
            'symbol = "btc usdc"',
            'symbol: expected a market symbol like BTC_USDC_PERP, got "btc usdc" — set symbol = "BTC_USDC_PERP"',
        ),
        ("symbol = 5", "symbol: expected a market symbol"),
        ('watchlist = "BTC_USDC_PERP"', "watchlist: expected a list of symbols"),
        (
            'watchlist = ["BTC_USDC_PERP", "x y"]',
            'watchlist[1]: expected a market symbol like BTC_USDC_PERP, got "x y"',
        ),
        (
            'base_url = "ftp://x"',
            'base_url: expected a URL starting with http:// or https://, got "ftp://x" — set base_url = "https://api.backpack.exchange"',
        ),
        (
            'ws_url = "https://x"',
            'ws_url: expected a URL starting with ws:// or wss://, got "https://x" — set ws_url = "wss://ws.backpack.exchange"',
        ),
        (
            'confirm_close_all = "yes"',
            'confirm_close_all: expected true or false, got "yes" — set confirm_close_all = false (no quotes)',
        ),
        (
            "confirm_first_live_order = 1",
            "confirm_first_live_order: expected true or false, got 1 — set confirm_first_live_order = true",
        ),
        (
            "stale_after_s = 0",
            "stale_after_s: expected a number of seconds, above 0 and up to 300, got 0 — set stale_after_s = 5",
        ),
        ('stale_after_s = "5"', "stale_after_s: expected a number of seconds"),
        (
            'exit_trigger_by = "Mark"',
            'exit_trigger_by: expected one of LastPrice, MarkPrice, IndexPrice, got "Mark" — set exit_trigger_by = "MarkPrice"',
        ),
        ("exit_trigger_by = 1", "exit_trigger_by: expected one of LastPrice"),
        (
            'kill_switch_resting = "cancel_all"',
            'kill_switch_resting: expected "cancel" (cancel resting orders that add risk when K '
            'is switched on) or "keep", got "cancel_all" — set kill_switch_resting = "cancel"',
        ),
        ("kill_switch_resting = true", 'kill_switch_resting: expected "cancel"'),
        (
            'ws_transport = "curl"',
            "ws_transport: expected one of aiohttp, websockets (the WebSocket library), "
            'got "curl" — set ws_transport = "aiohttp"',
        ),
        ("ws_transport = 1", "ws_transport: expected one of aiohttp, websockets"),
        (
            'log_level = "LOUD"',
            'log_level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got "LOUD" — set log_level = "INFO"',
        ),
        (
            'api_key = "not-a-key"',
            'api_key: expected the base64 ED25519 public key (44 characters), got "not-a-key"',
        ),
        (
            "api_secret_file = 3",
            'api_secret_file: expected a file path, got 3 — set api_secret_file = "~/.config/bpx-tui/key"',
        ),
        ("keys = 3", "keys: expected a table, got 3 — write it as [keys]"),
        ("[keys]\nbuy = 5", "keys.buy: expected a key name"),
        ("[keys]\nbuy = ''", "keys.buy: expected a key name"),
        ("[keys]\nbuyy = 'b'", 'keys.buyy: unknown key — did you mean "buy"?'),
        ("risk = 1", "risk: expected a table"),
        (
            "[risk]\nmax_order_notional = -5",
            "risk.max_order_notional: expected a positive number, got -5 — set max_order_notional = 50000",
        ),
        (
            "[risk]\nmax_order_notional = 'lots'",
            'risk.max_order_notional: expected a positive number, got "lots"',
        ),
        (
            "[risk]\nmax_position_notional = 0",
            "risk.max_position_notional: expected a positive number, got 0 — set max_position_notional = 250000",
        ),
        (
            "[risk]\nprice_band_pct = 150",
            "risk.price_band_pct: expected a positive number up to 100, got 150 — set price_band_pct = 5",
        ),
        (
            "[risk]\nmax_slippage_pct = true",
            "risk.max_slippage_pct: expected a positive number up to 100, got true — set max_slippage_pct = 1",
        ),
        (
            "[risk]\nmax_slipage_pct = 1",
            'risk.max_slipage_pct: unknown key — did you mean "max_slippage_pct"?',
        ),
        (
            "[markets.BTC_USDC_PERP]\nsize_presets = 0.1",
            "markets.BTC_USDC_PERP.size_presets: expected a list of 1 to 9 positive sizes, got 0.1",
        ),
        (
            "[markets.BTC_USDC_PERP]\nsize_presets = []",
            "markets.BTC_USDC_PERP.size_presets: expected a list of 1 to 9 positive sizes",
        ),
        (
            "[markets.BTC_USDC_PERP]\nsize_presets = [0.1, 'x']",
            'markets.BTC_USDC_PERP.size_presets[1]: expected a positive number, got "x"',
        ),
        (
            "[markets.BTC_USDC_PERP]\nprice_band_pct = -1",
            "markets.BTC_USDC_PERP.price_band_pct: expected a positive number up to 100, got -1",
        ),
        (
            "[markets.BTC_USDC_PERP]\nsize_preset = [1]",
            'markets.BTC_USDC_PERP.size_preset: unknown key — did you mean "size_presets"?',
        ),
        (
            "[markets.'bad symbol']\nsize_presets = [1]",
            'markets.bad symbol: expected a market symbol like BTC_USDC_PERP, got "bad symbol"',
        ),
        ("markets = 'x'", 'markets: expected a table, got "x"'),
        ("alerts = true", "alerts: expected a table, got true — write it as [alerts]"),
        (
            '[alerts]\nbell = "yes"',
            'alerts.bell: expected true or false, got "yes" — set alerts.bell = true (no quotes)',
        ),
        ("[alerts]\nbel = false", 'alerts.bel: unknown key — did you mean "bell"?'),
        ("refesh_hz = 3", 'refesh_hz: unknown key — did you mean "refresh_hz"?'),
        ("colour = 'red'", "colour: unknown key — remove it"),
        ('api_secret = "abc"', "api_secret: secrets do not go in the config file"),
        ("profiles = 3", "profiles: expected tables like [profiles.live]"),
        (
            "[profiles.live]\nrefresh_hz = 99",
            "profiles.live.refresh_hz: expected an integer 1..60, got 99 — set refresh_hz = 20",
        ),
        (
            "[profiles.live]\nrefreshhz = 9",
            'profiles.live.refreshhz: unknown key — did you mean "refresh_hz"?',
        ),
    ],
)
def test_every_invalid_value_names_key_expectation_and_fix(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = problems(tmp_path, text + "\n")
    assert expected in message
    assert message.startswith("config.toml: ")


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    message = problems(tmp_path, 'refresh_hz = "fast"\nlog_level = 3\n[risk]\nprice_band_pct = 0\n')
    assert len(message.splitlines()) == 3


def test_key_actions_match_the_ui_key_table() -> None:
    keys = pytest.importorskip("bpx_tui.ui.keys")
    assert set(KEY_ACTIONS) == {spec.id for spec in keys.KEYS}


# ------------------------------------------------------------------ values that load


def test_full_file_loads_every_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
api_key = "{API_KEY}"
api_secret_file = "key"
base_url = "http://127.0.0.1:9000/"
ws_url = "ws://127.0.0.1:9000/ws"
symbol = "sol_usdc_perp"
watchlist = ["BTC_USDC_PERP", "ETH_USDC_PERP", "BTC_USDC_PERP"]
refresh_hz = 60
confirm_close_all = true
confirm_first_live_order = false
stale_after_s = 2.5
log_level = "debug"
exit_trigger_by = "lastprice"
kill_switch_resting = "Keep"
[alerts]
bell = false
[keys]
close_all = "ctrl+x"
[risk]
max_order_notional = 1000
max_slippage_pct = 0.5
[markets.BTC_USDC_PERP]
size_presets = [0.001, "0.01", 0.1]
max_order_notional = "250.5"
""",
    )
    key_file(tmp_path)
    settings = load_settings(path, None, {})
    assert settings.api_key == API_KEY
    assert settings.api_secret is not None and settings.api_secret.reveal() == SECRET
    assert settings.has_credentials
    assert settings.base_url == "http://127.0.0.1:9000"
    assert settings.ws_url == "ws://127.0.0.1:9000/ws"
    assert settings.symbol == "SOL_USDC_PERP"
    assert settings.watchlist == ("BTC_USDC_PERP", "ETH_USDC_PERP")
    assert (settings.refresh_hz, settings.confirm_close_all) == (60, True)
    assert settings.confirm_first_live_order is False
    assert settings.stale_after_s == 2.5
    assert settings.log_level == "DEBUG"
    assert settings.exit_trigger_by == "LastPrice"
    assert settings.kill_switch_resting == "keep"
    assert settings.alert_bell is False
    assert dict(settings.keys) == {"close_all": "ctrl+x"}
    assert settings.size_presets("BTC_USDC_PERP") == (
        Decimal("0.001"),
        Decimal("0.01"),
        Decimal("0.1"),
    )
    btc = settings.limits_for("BTC_USDC_PERP")
    assert btc.max_order_notional == Decimal("250.5")
    assert btc.max_slippage_pct == Decimal("0.5")  # from [risk]
    assert btc.stale_after_s == 2.5
    eth = settings.limits_for("ETH_USDC_PERP")
    assert eth.max_order_notional == Decimal(1000)
    assert eth.max_position_notional == Decimal(250_000)


def test_size_presets_default_to_multiples_of_the_minimum() -> None:
    settings = Settings()
    presets = settings.size_presets("ETH_USDC_PERP", Decimal("0.01"), Decimal("0.01"))
    assert presets == tuple(Decimal(x) for x in ("0.01", "0.02", "0.05", "0.10", "0.20"))
    assert settings.size_presets("ETH_USDC_PERP") == ()


# ------------------------------------------------------------------ profiles


PROFILES = """
refresh_hz = 10
base_url = "https://api.backpack.exchange"
[risk]
max_order_notional = 5000
max_position_notional = 9000
[profiles.demo]
base_url = "http://127.0.0.1:8000"
ws_url = "ws://127.0.0.1:8000/ws"
[profiles.demo.risk]
max_order_notional = 100
[profiles.fast]
refresh_hz = 60
"""


def test_profile_overrides_top_level_and_merges_tables(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILES)
    base = load_settings(path, None, {})
    demo = load_settings(path, "demo", {})
    fast = load_settings(path, "fast", {})
    assert base.base_url == "https://api.backpack.exchange"
    assert demo.base_url == "http://127.0.0.1:8000"
    assert demo.refresh_hz == 10  # inherited
    assert demo.risk.max_order_notional == Decimal(100)
    assert demo.risk.max_position_notional == Decimal(9000)  # merged, not replaced
    assert demo.profile == "demo"
    assert fast.refresh_hz == 60
    assert fast.base_url == base.base_url


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    message = problems(tmp_path, PROFILES, profile="live")
    assert "profile 'live' not found (profiles: demo, fast)" in message
    assert "[profiles.live]" in message


# ------------------------------------------------------------------ environment


def test_environment_overrides_file_and_profile(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILES)
    env = {
        "BPX_BASE_URL": "http://127.0.0.1:1234",
        "BPX_WS_URL": "ws://127.0.0.1:1234/",
        "BPX_API_SECRET": SECRET,
        "BPX_API_KEY": API_KEY,
    }
    settings = load_settings(path, "demo", env)
    assert settings.base_url == "http://127.0.0.1:1234"
    assert settings.ws_url == "ws://127.0.0.1:1234"
    assert settings.api_key == API_KEY
    assert settings.api_secret == Secret(SECRET)


def test_environment_secret_alone_derives_the_key(tmp_path: Path) -> None:
    settings = load_settings(None, None, {paths.HOME_ENV: str(tmp_path), "BPX_API_SECRET": SECRET})
    assert settings.api_key == API_KEY


def test_empty_environment_values_are_ignored(tmp_path: Path) -> None:
    env = {paths.HOME_ENV: str(tmp_path), "BPX_BASE_URL": "", "BPX_API_SECRET": "  "}
    assert load_settings(None, None, env) == Settings()


def test_bad_environment_values_name_the_variable(tmp_path: Path) -> None:
    env = {paths.HOME_ENV: str(tmp_path), "BPX_WS_URL": "http://x", "BPX_API_KEY": "zz"}
    with pytest.raises(ConfigError) as info:
        load_settings(None, None, env)
    assert "BPX_WS_URL (environment): expected a URL starting with ws:// or wss://" in str(
        info.value
    )
    assert "BPX_API_KEY (environment): expected the base64 ED25519 public key" in str(info.value)


def test_bad_environment_secret_never_shows_the_value(tmp_path: Path) -> None:
    env = {paths.HOME_ENV: str(tmp_path), "BPX_API_SECRET": "hunter2-is-not-base64"}
    with pytest.raises(ConfigError) as info:
        load_settings(None, None, env)
    assert "BPX_API_SECRET (environment): expected a base64 ED25519 secret" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_key_that_does_not_match_the_secret_is_refused(tmp_path: Path) -> None:
    other = "A" * 43 + "="
    env = {paths.HOME_ENV: str(tmp_path), "BPX_API_SECRET": SECRET, "BPX_API_KEY": other}
    with pytest.raises(ConfigError, match="api_key: expected the public key that belongs"):
        load_settings(None, None, env)


def test_key_without_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="api_key: expected a secret to go with it"):
        load_settings(write(tmp_path, f'api_key = "{API_KEY}"\n'), None, {})


# ------------------------------------------------------------------ the key file


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_key_file_readable_by_others_is_refused_with_the_chmod(tmp_path: Path) -> None:
    key = key_file(tmp_path, 0o644)
    path = write(tmp_path, 'api_secret_file = "key"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, None, {})
    assert str(info.value) == (
        f"api_secret_file: {key} is readable by others (mode 0644); run: chmod 600 {key}"
    )
    key.chmod(0o600)
    assert load_settings(path, None, {}).api_key == API_KEY


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o620])
def test_key_file_with_any_group_or_world_bit_is_refused(tmp_path: Path, mode: int) -> None:
    key = key_file(tmp_path, mode)
    with pytest.raises(ConfigError, match=re.escape(f"(mode {mode:04o}); run: chmod 600")):
        check_key_file(key)


def test_key_file_0400_is_accepted(tmp_path: Path) -> None:
    assert check_key_file(key_file(tmp_path, 0o400)) == SECRET


def test_missing_key_file_says_how_to_create_it(tmp_path: Path) -> None:
    path = write(tmp_path, 'api_secret_file = "missing-key"\n')
    with pytest.raises(ConfigError, match="does not exist — create it with: \\(umask 077"):
        load_settings(path, None, {})


def test_key_file_with_junk_is_refused_without_echoing_it(tmp_path: Path) -> None:
    key_file(tmp_path, content="not a secret at all")
    path = write(tmp_path, 'api_secret_file = "key"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, None, {})
    assert "api_secret_file: expected a base64 ED25519 secret" in str(info.value)
    assert "not a secret" not in str(info.value)


def test_key_file_path_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    key_file(tmp_path)
    path = write(tmp_path, 'api_secret_file = "~/key"\n', "c.toml")
    assert load_settings(path, None, {}).has_credentials


# ------------------------------------------------------------------ the Secret wrapper


def test_secret_never_prints() -> None:
    secret = Secret(SECRET)
    assert repr(secret) == "Secret('****')"
    assert str(secret) == "Secret('****')"
    assert f"{secret}" == "Secret('****')"
    assert SECRET not in repr(Settings(api_key=API_KEY, api_secret=secret))
    assert secret.reveal() == SECRET
    assert secret == Secret(SECRET) and secret != Secret("other")


def test_secret_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(SECRET))


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.refresh_hz = 5  # type: ignore[misc]


# ------------------------------------------------------------------ paths


def test_home_env_relocates_every_directory(tmp_path: Path) -> None:
    env = {paths.HOME_ENV: str(tmp_path)}
    for directory in (paths.config_path(env), paths.data_dir(env), paths.log_dir(env)):
        assert directory.is_absolute()
        assert tmp_path in directory.parents
    assert paths.config_file(env).name == "config.toml"
    assert paths.journal_file(env).parent == paths.data_dir(env)
    # Alerts, like the journal, are kept per mode: a demo price means nothing live.
    assert paths.alerts_file("live", env) == paths.data_dir(env) / "alerts.json"
    assert paths.alerts_file("demo", env) == paths.data_dir(env) / "demo" / "alerts.json"


def test_platform_directories_without_override() -> None:
    env: dict[str, str] = {}
    assert "bpx-tui" in str(paths.config_path(env))
    assert "bpx-tui" in str(paths.data_dir(env))
    assert "bpx-tui" in str(paths.log_dir(env))


def test_styles_are_absolute_paths() -> None:
    assert paths.styles_dir().is_absolute()
    assert all(p.is_absolute() and p.suffix == ".tcss" for p in paths.css_paths())


def test_default_presets_are_notional_sized_at_the_mark() -> None:
    """Without configured presets a ticket offers 100-2,500 USDC of the market, on the step."""
    from bpx_tui.config import DEFAULT_PRESET_NOTIONALS

    settings = Settings()
    mark = Decimal("97000")
    presets = settings.size_presets("BTC_USDC_PERP", Decimal("0.00001"), Decimal("0.00001"), mark)
    assert presets == (
        Decimal("0.00103"),
        Decimal("0.00257"),
        Decimal("0.00515"),
        Decimal("0.01030"),
        Decimal("0.02577"),
    )
    for size, notional in zip(presets, DEFAULT_PRESET_NOTIONALS, strict=True):
        assert size * mark <= notional < (size + Decimal("0.00001")) * mark
    # A market whose minimum is worth more than the smallest notional never goes below it.
    assert settings.size_presets("X", Decimal("1"), Decimal("1"), Decimal("500"))[0] == Decimal("1")


def test_demo_collateral_is_a_positive_usdc_amount(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("demo_collateral = 1000\n", encoding="utf-8")
    assert load_settings(path, env={}).demo_collateral == Decimal(1000)
    path.write_text("demo_collateral = -5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="demo_collateral"):
        load_settings(path, env={})


def test_demo_collateral_funds_the_demo_account() -> None:
    from bpx_tui.ui.run import make_app

    app = make_app(Settings(demo_collateral=Decimal(1234)), demo=True)
    assert app.sim is not None
    capital = app.sim.engine.capital(app.sim.demo.account_id)
    assert Decimal(capital["USDC"]["available"]) == Decimal(1234)


@pytest.mark.parametrize("written", ["websockets", " WebSockets ", "aiohttp"])
def test_ws_transport_is_read_and_defaults_to_aiohttp(tmp_path: Path, written: str) -> None:
    path = write(tmp_path, f'ws_transport = "{written}"\n')
    assert load_settings(path, env={}).ws_transport == written.strip().lower()
    assert Settings().ws_transport == "aiohttp"  # the faster reader on the pipeline bench
