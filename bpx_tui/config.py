"""Settings: a TOML file, optional profiles, and environment overrides.

Where things come from, later wins:

1. built-in defaults (below);
2. ``config.toml`` in :func:`bpx_tui.paths.config_path` (or ``--config PATH``);
3. ``[profiles.NAME]`` of that file when a profile is chosen (same keys as the top level);
4. the environment: ``BPX_API_KEY``, ``BPX_API_SECRET``, ``BPX_BASE_URL``, ``BPX_WS_URL``.

The API secret never lives in ``config.toml``: it comes from ``BPX_API_SECRET`` or from
``api_secret_file``, a key file that must not be readable by anyone else (mode 0600, as
ssh demands of private keys). Inside the program it is a :class:`Secret`, whose repr is
``Secret('****')``, so it cannot leak through a log line, a traceback or the screen.

Risk limits (``[risk]`` for every market, ``[markets.SYMBOL]`` to override one):

=====================  ==============  ==================================================
key                    default         meaning
=====================  ==============  ==================================================
max_order_notional     50000 (USDC)    largest single order (quantity x price)
max_position_notional  250000 (USDC)   largest position after the order fills, at mark
price_band_pct         5 (%)           a limit price must be within this distance of mark
max_slippage_pct       1 (%)           a market order's estimated average fill (walking
                                       the local book) must be within this of mark
stale_after_s          5 (s)           top-level key: a mark older than this, or a
                                       resyncing book, blocks new risk
=====================  ==============  ==================================================

Orders that only reduce a position (closes, close-all) are never blocked by these.

Every invalid value is a :class:`ConfigError` naming the key, what was expected, what
was found and how to fix it; unknown keys are errors too, because a typo in a risk limit
silently falling back to the default is worse than refusing to start.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hmac
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from bpx_tui import paths
from bpx_tui.choices import LOG_LEVELS
from bpx_tui.exchange.numbers import NumberError, round_to_step, to_decimal
from bpx_tui.exchange.signing import api_key_of, decode_secret
from bpx_tui.exchange.transport import DEFAULT_TRANSPORT, TRANSPORTS, TransportName
from bpx_tui.exchange.vocab import TRIGGER_SOURCES, TriggerBy
from bpx_tui.trading.risk import RiskLimits

KillSwitchResting = Literal["cancel", "keep"]
KILL_SWITCH_RESTING: tuple[KillSwitchResting, ...] = ("cancel", "keep")

DEFAULT_BASE_URL = "https://api.backpack.exchange"
DEFAULT_WS_URL = "wss://ws.backpack.exchange"
DEFAULT_SYMBOL = "BTC_USDC_PERP"
DEFAULT_WATCHLIST = ("BTC_USDC_PERP", "ETH_USDC_PERP", "SOL_USDC_PERP")
"""A few markets that fit any terminal; ``watchlist = []`` asks for every perp by volume
instead (an exchange may list dozens, and the local one lists 25)."""

# Remappable actions: the ids of bpx_tui/ui/keys.py (KEYS), which owns the default keys
# and scopes; this layer cannot import Textual, so the ids are listed here and a test
# keeps the two in step.
KEY_ACTIONS: tuple[str, ...] = (
    "buy", "sell", "buy_market", "sell_market",
    "preset_1", "preset_2", "preset_3", "preset_4", "preset_5",
    "cancel_order", "cancel_market_orders", "close_position", "close_all",
    "switch_market", "command_line", "group", "timeframe_shorter", "timeframe_longer", "kill",
    "show_positions", "show_orders",
    "show_activity",
    "show_holdings", "show_tape", "back_to_ladder", "log", "help", "quit",
    "cursor_up", "cursor_down", "recenter", "move_up", "move_down",
    "price_up", "price_down", "size_up", "size_down", "post_only", "reduce_only",
    "order_type", "flip_side", "tif", "size_unit", "next_field", "previous_field", "send",
    "discard", "select", "funding_board", "funding_sort", "funding_reverse", "funding_choose",
    "alerts", "alerts_remove",
    "history", "history_next_tab", "history_previous_tab", "history_next_page",
    "history_previous_page", "history_export", "history_reload",
)  # fmt: skip

_SYMBOL = re.compile(r"^[A-Z0-9]+(?:_[A-Z0-9]+)+$")
_RISK_KEYS = ("max_order_notional", "max_position_notional", "price_band_pct", "max_slippage_pct")
_MARKET_KEYS = ("size_presets", *_RISK_KEYS)
_ALERT_KEYS = ("bell",)
# Default size presets as USDC notional at the mark (keys 1-5) when none are configured.
DEFAULT_PRESET_NOTIONALS = tuple(Decimal(n) for n in (100, 250, 500, 1000, 2500))
_TOP_KEYS = (
    "api_key",
    "api_secret_file",
    "base_url",
    "ws_url",
    "ws_transport",
    "symbol",
    "watchlist",
    "refresh_hz",
    "confirm_close_all",
    "confirm_first_live_order",
    "stale_after_s",
    "log_level",
    "demo_collateral",
    "tape_big_notional",
    "exit_trigger_by",
    "kill_switch_resting",
    "keys",
    "risk",
    "markets",
    "alerts",
)


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` says what to change (one line per problem)."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class Secret:
    """A value that must never be printed: only :meth:`reveal` gives it out."""

    __slots__ = ("__value",)

    def __init__(self, value: str) -> None:
        self.__value = value

    def reveal(self) -> str:
        return self.__value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.__value.encode(), other.reveal().encode())

    def __hash__(self) -> int:
        return hash(Secret)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True, slots=True)
class MarketSettings:
    """Per-market overrides from ``[markets.SYMBOL]``; ``None`` means "use ``[risk]``"."""

    size_presets: tuple[Decimal, ...] = ()
    max_order_notional: Decimal | None = None
    max_position_notional: Decimal | None = None
    price_band_pct: Decimal | None = None
    max_slippage_pct: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    api_key: str | None = None
    api_secret: Secret | None = None
    base_url: str = DEFAULT_BASE_URL
    ws_url: str = DEFAULT_WS_URL
    # The WebSocket library under the stream: aiohttp's reader is the faster one
    # (docs/PERFORMANCE.md "WebSocket transport"); websockets is the proven fallback.
    ws_transport: TransportName = DEFAULT_TRANSPORT
    symbol: str = DEFAULT_SYMBOL
    watchlist: tuple[str, ...] = DEFAULT_WATCHLIST  # empty: every perp by 24h volume (up to 12)
    refresh_hz: int = 20
    confirm_close_all: bool = False
    confirm_first_live_order: bool = True
    stale_after_s: float = 5.0
    log_level: str = "INFO"
    demo_collateral: Decimal = Decimal(100_000)  # USDC the demo's local exchange starts with
    tape_big_notional: Decimal = Decimal(50_000)  # USDC: tape trades this big are highlighted
    # What a ticket's take-profit / stop-loss and stop entries watch: the mark by default,
    # which a thin book's last trade cannot push through a stop.
    exit_trigger_by: TriggerBy = "MarkPrice"
    # What switching the kill switch on (K) does to resting orders that would add risk if
    # they filled: cancel them (a halt that leaves a bid to fill has not stopped the
    # risk), or keep them. Reduce-only and closing orders are always kept.
    kill_switch_resting: KillSwitchResting = "cancel"
    # ``[alerts] bell``: ring the terminal bell when a ``:alert`` fires (the activity log
    # and the status line say it either way).
    alert_bell: bool = True
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # overrides
    risk: RiskLimits = field(default_factory=RiskLimits)
    markets: Mapping[str, MarketSettings] = field(default_factory=lambda: MappingProxyType({}))
    profile: str | None = None
    source: Path | None = None  # the file that was read, None when running on defaults

    @property
    def has_credentials(self) -> bool:
        return self.api_key is not None and self.api_secret is not None

    def limits_for(self, symbol: str) -> RiskLimits:
        """The risk limits of one market: ``[risk]`` with ``[markets.SYMBOL]`` on top."""
        limits = replace(self.risk, stale_after_s=self.stale_after_s)
        market = self.markets.get(symbol)
        if market is None:
            return limits
        overrides = {
            key: getattr(market, key) for key in _RISK_KEYS if getattr(market, key) is not None
        }
        return replace(limits, **overrides)

    def size_presets(
        self,
        symbol: str,
        min_quantity: Decimal | None = None,
        step: Decimal | None = None,
        mark: Decimal | None = None,
    ) -> tuple[Decimal, ...]:
        """Configured presets; else, with a mark price, sizes worth 100 to 2,500 USDC.

        A trader thinks in notional: the exchange's minimum size is about a dollar on
        BTC, a useless default. Without a mark, multiples of the minimum (1, 2, 5, 10, 20).
        """
        market = self.markets.get(symbol)
        if market is not None and market.size_presets:
            return market.size_presets
        if not min_quantity or min_quantity <= 0:
            return ()
        if mark is not None and mark > 0:
            sizes = [
                max(
                    min_quantity,
                    round_to_step(notional / mark, step, "down") if step else notional / mark,
                )
                for notional in DEFAULT_PRESET_NOTIONALS
            ]
            return tuple(dict.fromkeys(sizes))
        presets = (min_quantity * m for m in (1, 2, 5, 10, 20))
        return tuple(round_to_step(p, step) if step else p for p in presets)


# ----------------------------------------------------------------------------- validation


def _show(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Problems:
    """Collects every problem so the user fixes the file in one go, not one error per run."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[str] = []

    def invalid(self, key: str, expected: str, found: object, fix: str) -> None:
        self.items.append(f"{self.where}{key}: expected {expected}, got {_show(found)} — {fix}")

    def add(self, text: str) -> None:
        self.items.append(f"{self.where}{text}")

    def unknown(self, key: str, known: tuple[str, ...] | list[str]) -> None:
        leaf = key.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(leaf, known, n=1)
        hint = f'did you mean "{close[0]}"?' if close else "remove it"
        self.items.append(f"{self.where}{key}: unknown key — {hint}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)


def _table(value: object, key: str, problems: _Problems) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    problems.invalid(key, "a table", value, f"write it as [{key}]")
    return None


def _parse_symbol(value: object, key: str, problems: _Problems) -> str | None:
    if isinstance(value, str) and _SYMBOL.match(value.strip().upper()):
        return value.strip().upper()
    problems.invalid(
        key, "a market symbol like BTC_USDC_PERP", value, f'set {key} = "{DEFAULT_SYMBOL}"'
    )
    return None


def _parse_decimal(
    value: object, key: str, problems: _Problems, fix: str, upper: Decimal | None = None
) -> Decimal | None:
    expected = "a positive number" + (f" up to {upper}" if upper is not None else "")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.invalid(key, expected, value, fix)
        return None
    try:
        number = to_decimal(value, key)
    except NumberError:
        problems.invalid(key, expected, value, fix)
        return None
    if number <= 0 or (upper is not None and number > upper):
        problems.invalid(key, expected, value, fix)
        return None
    return number


def _parse_bool(value: object, key: str, problems: _Problems, default: bool) -> bool | None:
    if isinstance(value, bool):
        return value
    problems.invalid(
        key, "true or false", value, f"set {key} = {'true' if default else 'false'} (no quotes)"
    )
    return None


def _parse_url(
    value: object, key: str, problems: _Problems, schemes: tuple[str, ...]
) -> str | None:
    default = DEFAULT_BASE_URL if schemes[0] == "http" else DEFAULT_WS_URL
    if isinstance(value, str) and re.match(rf"^({'|'.join(schemes)})://[^\s/]+", value.strip()):
        return value.strip().rstrip("/")
    problems.invalid(
        key,
        f"a URL starting with {' or '.join(s + '://' for s in schemes)}",
        value,
        f'set {key} = "{default}"',
    )
    return None


def _parse_api_key(value: object, key: str, problems: _Problems) -> str | None:
    if isinstance(value, str):
        try:
            if len(base64.b64decode(value.strip(), validate=True)) == 32:
                return value.strip()
        except (binascii.Error, ValueError):
            pass
    problems.invalid(
        key,
        "the base64 ED25519 public key (44 characters)",
        value,
        "copy the API key from Backpack's API keys page, or remove it (it is derived from "
        "the secret)",
    )
    return None


def _parse_risk_value(value: object, key: str, name: str, problems: _Problems) -> Decimal | None:
    default = getattr(RiskLimits(), name)
    upper = Decimal(100) if name.endswith("_pct") else None
    return _parse_decimal(value, key, problems, f"set {name} = {default}", upper)


def _parse_keys(value: object, key: str, problems: _Problems) -> dict[str, str]:
    table = _table(value, key, problems)
    out: dict[str, str] = {}
    for action, binding in (table or {}).items():
        if action not in KEY_ACTIONS:
            problems.unknown(f"{key}.{action}", KEY_ACTIONS)
        elif isinstance(binding, str) and binding.strip() and " " not in binding.strip():
            out[action] = binding.strip()
        else:
            problems.invalid(
                f"{key}.{action}",
                'a key name such as "b" or "ctrl+k"',
                binding,
                f"set {action} to a key name, or remove it for the default",
            )
    return out


def _parse_risk(value: object, key: str, problems: _Problems) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for name, item in (_table(value, key, problems) or {}).items():
        if name not in _RISK_KEYS:
            problems.unknown(f"{key}.{name}", _RISK_KEYS)
            continue
        parsed = _parse_risk_value(item, f"{key}.{name}", name, problems)
        if parsed is not None:
            out[name] = parsed
    return out


def _parse_alerts(value: object, key: str, problems: _Problems) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for name, item in (_table(value, key, problems) or {}).items():
        if name not in _ALERT_KEYS:
            problems.unknown(f"{key}.{name}", _ALERT_KEYS)
            continue
        parsed = _parse_bool(item, f"{key}.{name}", problems, True)
        if parsed is not None:
            out[name] = parsed
    return out


def _parse_presets(value: object, key: str, problems: _Problems) -> tuple[Decimal, ...] | None:
    table = key.rsplit(".", 1)[0]
    fix = f"set size_presets = [0.001, 0.01, 0.1] (1 to 9 positive sizes) in [{table}]"
    if not isinstance(value, list) or not 1 <= len(value) <= 9:
        problems.invalid(key, "a list of 1 to 9 positive sizes", value, fix)
        return None
    presets: list[Decimal] = []
    for index, item in enumerate(value):
        parsed = _parse_decimal(item, f"{key}[{index}]", problems, fix)
        if parsed is None:
            return None
        presets.append(parsed)
    return tuple(presets)


def _parse_markets(value: object, key: str, problems: _Problems) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for symbol, body in (_table(value, key, problems) or {}).items():
        name = _parse_symbol(symbol, f"{key}.{symbol}", problems)
        market = _table(body, f"{key}.{symbol}", problems)
        if name is None or market is None:
            continue
        parsed: dict[str, Any] = {}
        for field_name, item in market.items():
            where = f"{key}.{symbol}.{field_name}"
            if field_name == "size_presets":
                parsed[field_name] = _parse_presets(item, where, problems)
            elif field_name in _RISK_KEYS:
                parsed[field_name] = _parse_risk_value(item, where, field_name, problems)
            else:
                problems.unknown(where, _MARKET_KEYS)
        out[name] = {k: v for k, v in parsed.items() if v is not None}
    return out


def _parse_scalar(name: str, value: object, key: str, problems: _Problems) -> Any:
    """Validate one top-level key; returns None after recording a problem."""
    if name == "api_key":
        return _parse_api_key(value, key, problems)
    if name == "api_secret_file":
        if isinstance(value, str) and value.strip():
            return value.strip()
        problems.invalid(key, "a file path", value, 'set api_secret_file = "~/.config/bpx-tui/key"')
        return None
    if name == "base_url":
        return _parse_url(value, key, problems, ("http", "https"))
    if name == "ws_url":
        return _parse_url(value, key, problems, ("ws", "wss"))
    if name == "ws_transport":
        for transport in TRANSPORTS:
            if isinstance(value, str) and value.strip().lower() == transport:
                return transport
        problems.invalid(
            key,
            f"one of {', '.join(TRANSPORTS)} (the WebSocket library)",
            value,
            f'set ws_transport = "{DEFAULT_TRANSPORT}"',
        )
        return None
    if name == "symbol":
        return _parse_symbol(value, key, problems)
    if name == "watchlist":
        if not isinstance(value, list):
            problems.invalid(
                key,
                "a list of symbols",
                value,
                'set watchlist = ["BTC_USDC_PERP", "ETH_USDC_PERP"], or remove it for every perp',
            )
            return None
        symbols = [_parse_symbol(item, f"{key}[{i}]", problems) for i, item in enumerate(value)]
        return tuple(dict.fromkeys(s for s in symbols if s is not None))
    if name == "refresh_hz":
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 60:
            return value
        problems.invalid(key, "an integer 1..60", value, "set refresh_hz = 20")
        return None
    if name in ("confirm_close_all", "confirm_first_live_order"):
        return _parse_bool(value, key, problems, name == "confirm_first_live_order")
    if name == "stale_after_s":
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 300:
            return float(value)
        problems.invalid(
            key, "a number of seconds, above 0 and up to 300", value, "set stale_after_s = 5"
        )
        return None
    if name == "demo_collateral":
        return _parse_decimal(
            value, key, problems, "set demo_collateral = 100000", upper=Decimal(10) ** 12
        )
    if name == "tape_big_notional":
        return _parse_decimal(
            value, key, problems, "set tape_big_notional = 50000", upper=Decimal(10) ** 12
        )
    if name == "exit_trigger_by":
        for source in TRIGGER_SOURCES:
            if isinstance(value, str) and value.strip().lower() == source.lower():
                return source
        problems.invalid(
            key, f"one of {', '.join(TRIGGER_SOURCES)}", value, 'set exit_trigger_by = "MarkPrice"'
        )
        return None
    if name == "kill_switch_resting":
        for choice in KILL_SWITCH_RESTING:
            if isinstance(value, str) and value.strip().lower() == choice:
                return choice
        problems.invalid(
            key,
            '"cancel" (cancel resting orders that add risk when K is switched on) or "keep"',
            value,
            'set kill_switch_resting = "cancel"',
        )
        return None
    if name == "log_level":
        if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
            return value.strip().upper()
        problems.invalid(key, f"one of {', '.join(LOG_LEVELS)}", value, 'set log_level = "INFO"')
        return None
    if name == "keys":
        return _parse_keys(value, key, problems)
    if name == "risk":
        return _parse_risk(value, key, problems)
    if name == "markets":
        return _parse_markets(value, key, problems)
    if name == "alerts":
        return _parse_alerts(value, key, problems)
    raise AssertionError(name)


def _parse_layer(table: Mapping[str, Any], prefix: str, problems: _Problems) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if name == "api_secret":
            problems.add(
                f"{key}: secrets do not go in the config file — put the secret in a key file "
                "(chmod 600) and set api_secret_file, or use the BPX_API_SECRET environment "
                "variable"
            )
        elif name not in _TOP_KEYS:
            problems.unknown(key, _TOP_KEYS)
        else:
            parsed = _parse_scalar(name, value, key, problems)
            if parsed is not None:
                out[name] = parsed
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Profile over top level; tables merge key by key (a profile may tweak one limit)."""
    merged = dict(base)
    for name, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = _merge(merged[name], value)
        else:
            merged[name] = value
    return merged


# ----------------------------------------------------------------------------- the secret


def check_key_file(path: Path, key: str = "api_secret_file") -> str:
    """Read a key file the way ssh does: refuse it when others may read or write it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(
            f"{key}: expected a key file, got {path} which does not exist — create it with: "
            f"(umask 077; printf '%s' YOUR_SECRET > {path})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{key}: expected a regular file, got {path} — point it at the key file")
    mode = stat.S_IMODE(info.st_mode)
    if os.name == "posix" and mode & 0o077:
        how = "readable" if mode & 0o044 else "writable"
        raise ConfigError(
            f"{key}: {path} is {how} by others (mode {mode:04o}); run: chmod 600 {path}"
        )
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc}") from None


def _parse_secret(value: str, key: str, fix: str) -> Secret:
    try:
        decode_secret(value)
    except ValueError:
        raise ConfigError(
            f"{key}: expected a base64 ED25519 secret (32 or 64 bytes), got a value of "
            f"{len(value)} characters that is not one — {fix}"
        ) from None
    return Secret(value)


# ----------------------------------------------------------------------------- loading


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: the config file does not exist — create one with: bpx-tui config init"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc} — fix the line it names") from None


def load_settings(
    path: Path | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build :class:`Settings`; raises :class:`ConfigError` on anything unusable.

    ``path`` None means the default location, where a missing file just means defaults;
    an explicit ``--config`` path must exist.
    """
    env = os.environ if env is None else env
    source: Path | None = path
    if path is None:
        default = paths.config_file(env)
        source = default if default.exists() else None
    raw = _read_toml(source) if source is not None else {}
    problems = _Problems(f"{source.name}: " if source is not None else "")

    profiles = raw.pop("profiles", {})
    if not isinstance(profiles, dict) or any(not isinstance(v, dict) for v in profiles.values()):
        problems.invalid(
            "profiles",
            "tables like [profiles.live]",
            profiles,
            "write each profile as [profiles.NAME]",
        )
        profiles = {}
    values = _parse_layer(raw, "", problems)
    for name, table in profiles.items():
        layer = _parse_layer(table, f"profiles.{name}.", problems)
        if name == profile:
            values = _merge(values, layer)
    if profile is not None and profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none are defined"
        problems.add(
            f"profile {profile!r} not found (profiles: {known}) — add [profiles.{profile}] "
            "or choose another"
        )

    for name in ("BPX_API_KEY", "BPX_BASE_URL", "BPX_WS_URL"):
        text = env.get(name, "").strip()
        if text:
            target = name.removeprefix("BPX_").lower()
            parsed = _parse_scalar(target, text, f"{name} (environment)", problems)
            if parsed is not None:
                values[target] = parsed
    problems.raise_if_any()

    secret = _load_secret(values, env, source)
    return _build(values, secret, profile, source)


def _load_secret(
    values: dict[str, Any], env: Mapping[str, str], source: Path | None
) -> Secret | None:
    env_secret = env.get("BPX_API_SECRET", "").strip()
    secret: Secret | None = None
    if env_secret:
        secret = _parse_secret(
            env_secret,
            "BPX_API_SECRET (environment)",
            "export the secret exactly as Backpack shows it",
        )
    elif "api_secret_file" in values:
        file = Path(values["api_secret_file"]).expanduser()
        if not file.is_absolute() and source is not None:
            file = source.parent / file
        secret = _parse_secret(
            check_key_file(file),
            "api_secret_file",
            f"put only the base64 secret in {file}",
        )
    api_key = values.get("api_key")
    if secret is None:
        if api_key is not None:
            raise ConfigError(
                "api_key: expected a secret to go with it, got none — set api_secret_file "
                "or BPX_API_SECRET"
            )
        return None
    derived = api_key_of(secret.reveal())
    if api_key is not None and api_key != derived:
        raise ConfigError(
            "api_key: expected the public key that belongs to the secret, got a different key "
            "— remove api_key (it is derived from the secret) or fix the key file"
        )
    values["api_key"] = derived
    return secret


def _build(
    values: dict[str, Any], secret: Secret | None, profile: str | None, source: Path | None
) -> Settings:
    keys = values.pop("keys", {})
    risk = RiskLimits(**values.pop("risk", {}))
    markets = {symbol: MarketSettings(**body) for symbol, body in values.pop("markets", {}).items()}
    values.pop("api_secret_file", None)
    alerts = values.pop("alerts", {})
    if "bell" in alerts:
        values["alert_bell"] = alerts["bell"]
    return Settings(
        **values,
        api_secret=secret,
        keys=MappingProxyType(keys),
        risk=risk,
        markets=MappingProxyType(markets),
        profile=profile,
        source=source,
    )


# ----------------------------------------------------------------------------- template


def _keys_comment() -> str:
    """Every remappable action name, as comment lines of the template."""
    lines = ["# Actions:"]
    for name in KEY_ACTIONS:
        if len(lines[-1]) + len(name) + 1 > 88:
            lines.append("#")
        lines[-1] += f" {name}"
    return "\n".join(lines)


TEMPLATE = """\
# bpx-tui configuration. Every key is optional; the values shown are the defaults.
# Docs: README.md. Environment overrides: BPX_API_KEY, BPX_API_SECRET, BPX_BASE_URL, BPX_WS_URL.

# Credentials. The secret never goes in this file: put the base64 secret alone in a key
# file that only you can read (chmod 600), or export BPX_API_SECRET.
# api_secret_file = "~/.config/bpx-tui/key"
# api_key = "..."          # optional: derived from the secret, checked when given

base_url = "https://api.backpack.exchange"
ws_url = "wss://ws.backpack.exchange"
ws_transport = "aiohttp"   # WebSocket library: aiohttp (faster) or websockets

symbol = "BTC_USDC_PERP"   # the market shown at start
# watchlist = []          # default: BTC, ETH and SOL perps; [] = every perp by volume

refresh_hz = 20            # repaints per second, 1..60
confirm_close_all = false  # ask before close-all (X)
confirm_first_live_order = true
stale_after_s = 5          # a mark price older than this blocks new orders
log_level = "INFO"
# demo_collateral = 100000   # USDC of the demo account when bpx-tui runs its local exchange
# tape_big_notional = 50000  # USDC: trades at least this big are highlighted on the tape (t)
exit_trigger_by = "MarkPrice"  # what take-profit, stop-loss and stops watch: MarkPrice,
                               # LastPrice or IndexPrice
kill_switch_resting = "cancel" # K also cancels resting orders that add risk ("keep": not);
                               # reduce-only and closing orders always stay

[risk]                     # every market; [markets.SYMBOL] overrides one market
max_order_notional = 50000       # USDC
max_position_notional = 250000   # USDC, after the order fills
price_band_pct = 5               # limit price within 5 % of mark
max_slippage_pct = 1             # market order: estimated average fill within 1 % of mark

[alerts]                   # :alert SYMBOL > PRICE, :alert SYMBOL funding < -0.01%
bell = true                # ring the terminal bell when an alert fires

# [markets.BTC_USDC_PERP]
# size_presets = [0.001, 0.01, 0.05, 0.1, 0.5]   # keys 1-5
# max_order_notional = 20000

# [keys]                   # action = "key" (several keys: "up,k"); the README lists the defaults
# close_all = "X"
{KEYS_COMMENT}

# [profiles.demo]          # bpx-tui --profile demo
# base_url = "http://127.0.0.1:8000"
# ws_url = "ws://127.0.0.1:8000/ws"
""".replace("{KEYS_COMMENT}", _keys_comment())


def write_template(path: Path) -> Path:
    """Write the commented template for ``bpx-tui config init``; never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(
            f"{path} already exists; refusing to overwrite it — edit it, or move it away first"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(TEMPLATE)
    return path


__all__ = [
    "KEY_ACTIONS",
    "ConfigError",
    "MarketSettings",
    "Secret",
    "Settings",
    "check_key_file",
    "load_settings",
    "write_template",
]
