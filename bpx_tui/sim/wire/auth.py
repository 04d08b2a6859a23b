"""Signature checks of the local exchange, done as Backpack does (docs/PROTOCOL.md "Signing").

The server never trusts the client's signing string: it rebuilds it from the *parsed*
request (decoded query pairs for GET, JSON body values for the rest) with the same
builder the client uses, so a client that renders ``True`` or percent-encodes a value
fails here exactly as it would against the real exchange.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bpx_tui.exchange.signing import (
    DEFAULT_WINDOW_MS,
    MAX_WINDOW_MS,
    signing_string,
    verify,
)
from bpx_tui.sim.errors import SimError
from bpx_tui.sim.numbers import parse_integer

INVALID = "INVALID_CLIENT_REQUEST"


@dataclass(frozen=True)
class AuthPolicy:
    """How strict the time checks are.

    Backpack documents the expiry rule but not how far in the future a timestamp may
    be, so the tolerance is a knob; the default comfortably covers a client
    whose clock offset came from ``/api/v1/time``.
    """

    future_skew_ms: int = 5000
    max_window_ms: int = MAX_WINDOW_MS
    default_window_ms: int = DEFAULT_WINDOW_MS


def _bad(message: str) -> SimError:
    return SimError(400, INVALID, message)


def unauthorized(message: str = "Unauthorized") -> SimError:
    """Unknown key or missing credentials: Backpack's access-denied body."""
    return SimError(401, "UNAUTHORIZED", message)


def render_json_value(key: str, value: Any) -> str | None:
    """Text of one parsed JSON value in the signing string; ``None`` drops the key.

    Strings are used verbatim and ints as digits. A float (a client that sent a JSON
    number for a price) is rendered as its shortest round-trip text, which is what
    every mainstream JSON encoder wrote on the wire. Nested values cannot be signed.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    raise _bad(f"Invalid value for `{key}`")


def _render_object(obj: Mapping[str, Any]) -> dict[str, str]:
    rendered: dict[str, str] = {}
    for key, value in obj.items():
        text = render_json_value(key, value)
        if text is not None:
            rendered[key] = text
    return rendered


def message_for(
    instruction: str,
    query: Mapping[str, str],
    body: Any,
    timestamp: int,
    window: int,
) -> str:
    """The signing string the server expects for a parsed request.

    A JSON array body is a batch. When a request carries both query pairs and
    a body, the query group comes first and each group is sorted on its own, like the
    official client does.
    """
    if isinstance(body, list):
        items = []
        for item in body:
            if not isinstance(item, Mapping):
                raise _bad("Invalid request body")
            items.append(_render_object(item))
        return signing_string(instruction, items, timestamp, window)
    if body is not None and not isinstance(body, Mapping):
        raise _bad("Invalid request body")
    body_pairs = _render_object(body or {})
    if not query or not body_pairs:
        return signing_string(instruction, dict(query) or body_pairs, timestamp, window)
    text = signing_string(instruction, dict(query), timestamp, window)
    tail = f"&timestamp={timestamp}&window={window}"
    extra = "&".join(f"{key}={body_pairs[key]}" for key in sorted(body_pairs))
    return text.removesuffix(tail) + "&" + extra + tail


def _int_header(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_integer(value.strip(), name)
    except SimError:
        raise _bad(f"Invalid {name} header") from None


def check_credentials(
    api_key: str | None,
    signature: str | None,
    timestamp_text: str | None,
    window_text: str | None,
    message_of: Callable[[int, int], str],
    now_ms: int,
    policy: AuthPolicy,
) -> str:
    """Validate the four credentials and return the API key they prove.

    ``message_of(timestamp, window)`` builds the expected signing string; it is called
    only after the cheap header checks so that a malformed request never pays for it.
    Order of checks: presence, number formats, window bound, time, base64 shapes,
    signature -- the same order of messages a client sees from Backpack.
    """
    if not api_key:
        raise unauthorized("Missing X-API-Key header")
    if not signature:
        raise _bad("Missing X-Signature header")
    timestamp = _int_header(timestamp_text, "X-Timestamp")
    if timestamp is None:
        raise _bad("Missing X-Timestamp header")
    window = _int_header(window_text, "X-Window")
    if window is None:
        window = policy.default_window_ms
    if window <= 0 or window > policy.max_window_ms:
        raise _bad(f"Invalid X-Window header: must be 1..{policy.max_window_ms}")
    if now_ms > timestamp + window:
        raise _bad("Request has expired")
    if timestamp > now_ms + policy.future_skew_ms:
        raise _bad("Request timestamp is too far in the future")
    if not _is_b64(api_key, 32):
        raise unauthorized("Invalid X-API-Key header")
    if not _is_b64(signature, 64):
        raise _bad("Invalid X-Signature header")
    if not verify(api_key, signature, message_of(timestamp, window)):
        raise _bad("Invalid signature")
    return api_key


def _is_b64(text: str, length: int) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == length
    except (binascii.Error, ValueError):
        return False


def verify_request(
    instruction: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    body: Any,
    now_ms: int,
    policy: AuthPolicy | None = None,
) -> str:
    """Check a signed REST request; return the API key or raise :class:`SimError`.

    ``headers`` must be case-insensitive (aiohttp's ``CIMultiDictProxy`` is).
    """
    policy = policy or AuthPolicy()
    return check_credentials(
        headers.get("X-API-Key"),
        headers.get("X-Signature"),
        headers.get("X-Timestamp"),
        headers.get("X-Window"),
        lambda ts, win: message_for(instruction, query, body, ts, win),
        now_ms,
        policy,
    )


def verify_ws_signature(signature: Any, now_ms: int, policy: AuthPolicy | None = None) -> str:
    """Check the ``signature`` array of a private SUBSCRIBE frame; return the key."""
    policy = policy or AuthPolicy()
    if (
        not isinstance(signature, list)
        or len(signature) != 4
        or not all(isinstance(part, str | int) and not isinstance(part, bool) for part in signature)
    ):
        raise _bad("Invalid signature")
    key, sig, ts, win = (str(part) for part in signature)
    return check_credentials(
        key,
        sig,
        ts,
        win,
        lambda t, w: signing_string("subscribe", None, t, w),
        now_ms,
        policy,
    )
