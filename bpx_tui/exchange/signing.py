"""ED25519 request signing exactly as Backpack verifies it (docs/PROTOCOL.md "Signing").

The signing string is rebuilt by the server from the parsed request, so the text we
sign must be byte-for-byte what we send: booleans lowercase, keys sorted, ``None``
omitted, no percent-encoding, and ``window`` always present. The local exchange uses
the same builder to verify, which is why it lives here and not in the client.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import nacl.exceptions
import nacl.signing

from bpx_tui.exchange.numbers import wire

DEFAULT_WINDOW_MS = 5000
MAX_WINDOW_MS = 60000

# (method, path) -> instruction. Only private endpoints appear here: anything else is sent
# unsigned.
INSTRUCTIONS: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/account"): "accountQuery",
    ("PATCH", "/api/v1/account"): "accountUpdate",
    ("GET", "/api/v1/account/limits/borrow"): "maxBorrowQuantity",
    ("GET", "/api/v1/account/limits/order"): "maxOrderQuantity",
    ("GET", "/api/v1/account/limits/withdrawal"): "maxWithdrawalQuantity",
    ("GET", "/api/v1/borrowLend/positions"): "borrowLendPositionQuery",
    ("GET", "/api/v1/capital"): "balanceQuery",
    ("GET", "/api/v1/capital/collateral"): "collateralQuery",
    ("GET", "/wapi/v1/capital/deposits"): "depositQueryAll",
    ("GET", "/wapi/v1/capital/deposit/address"): "depositAddressQuery",
    ("GET", "/wapi/v1/capital/withdrawals"): "withdrawalQueryAll",
    ("GET", "/api/v1/order"): "orderQuery",
    ("POST", "/api/v1/order"): "orderExecute",
    ("DELETE", "/api/v1/order"): "orderCancel",
    ("GET", "/api/v1/orders"): "orderQueryAll",
    ("POST", "/api/v1/orders"): "orderExecute",
    ("DELETE", "/api/v1/orders"): "orderCancelAll",
    ("GET", "/api/v1/position"): "positionQuery",
    ("GET", "/wapi/v1/history/fills"): "fillHistoryQueryAll",
    ("GET", "/wapi/v1/history/funding"): "fundingHistoryQueryAll",
    ("GET", "/wapi/v1/history/orders"): "orderHistoryQueryAll",
    ("GET", "/wapi/v1/history/position"): "positionHistoryQueryAll",
    ("GET", "/wapi/v1/history/settlement"): "settlementHistoryQueryAll",
}


def instruction_for(method: str, path: str) -> str | None:
    """The instruction a private endpoint is signed with, or ``None`` when it is public."""
    return INSTRUCTIONS.get((method.upper(), normalise_path(path)))


def normalise_path(path: str) -> str:
    """Collapse ``//`` and drop a trailing slash: the Rust client once got 404s from ``//``."""
    while "//" in path:
        path = path.replace("//", "/")
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def render_value(value: Any) -> str:
    """Text of one value in the signing string: the same characters as on the wire."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return wire(value)
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        raise TypeError("floats are never sent to Backpack; convert to Decimal first")
    raise TypeError(f"cannot sign a value of type {type(value).__name__}")


def _pairs(params: Mapping[str, Any]) -> list[str]:
    return [
        f"{key}={render_value(params[key])}" for key in sorted(params) if params[key] is not None
    ]


def signing_string(
    instruction: str,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    timestamp: int,
    window: int = DEFAULT_WINDOW_MS,
) -> str:
    """Build the exact text Backpack signs.

    A sequence of mappings is a batch (``POST /api/v1/orders``): each order is its own
    ``instruction=...`` segment, in array order, with one timestamp/window at the end.
    """
    segments: list[str] = []
    if params is None or isinstance(params, Mapping):
        segments.append("&".join([f"instruction={instruction}", *_pairs(params or {})]))
    else:
        for item in params:
            segments.append("&".join([f"instruction={instruction}", *_pairs(item)]))
    return "&".join([*segments, f"timestamp={timestamp}", f"window={window}"])


def decode_secret(secret_b64: str) -> bytes:
    """Return the 32-byte seed from a base64 secret of 32 (seed) or 64 (seed + public) bytes."""
    try:
        raw = base64.b64decode(secret_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("API secret is not valid base64") from None
    if len(raw) == 64:
        return raw[:32]
    if len(raw) != 32:
        raise ValueError(f"API secret must decode to 32 or 64 bytes, got {len(raw)}")
    return raw


class Signer:
    """Holds the signing key and produces Backpack's four auth headers.

    ``clock`` returns the exchange's time in ms; the client sets it to local time plus
    the offset measured from ``/api/v1/time`` so that a skewed local clock does not
    turn into "Request has expired".
    """

    __slots__ = ("__key", "api_key", "clock", "window")

    def __init__(
        self,
        secret_b64: str,
        window: int = DEFAULT_WINDOW_MS,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if not 0 < window <= MAX_WINDOW_MS:
            raise ValueError(f"window must be 1..{MAX_WINDOW_MS} ms, got {window}")
        self.__key = nacl.signing.SigningKey(decode_secret(secret_b64))
        self.api_key: str = base64.b64encode(bytes(self.__key.verify_key)).decode()
        self.window = window
        self.clock: Callable[[], int] = clock or (lambda: int(time.time() * 1000))

    def __repr__(self) -> str:
        # The secret must never reach a log or a traceback through repr().
        return f"Signer(api_key={self.api_key!r}, window={self.window})"

    def sign(self, message: str) -> str:
        """Base64 ED25519 signature of the UTF-8 message."""
        return base64.b64encode(self.__key.sign(message.encode()).signature).decode()

    def headers(
        self,
        instruction: str,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
        timestamp: int | None = None,
    ) -> dict[str, str]:
        """The four signed headers for one request."""
        ts = self.clock() if timestamp is None else timestamp
        message = signing_string(instruction, params, ts, self.window)
        return {
            "X-API-Key": self.api_key,
            "X-Signature": self.sign(message),
            "X-Timestamp": str(ts),
            "X-Window": str(self.window),
        }

    def ws_signature(self, timestamp: int | None = None) -> list[str]:
        """The ``signature`` array of a private SUBSCRIBE frame; all four are strings."""
        ts = self.clock() if timestamp is None else timestamp
        message = signing_string("subscribe", None, ts, self.window)
        return [self.api_key, self.sign(message), str(ts), str(self.window)]


def verify(api_key_b64: str, signature_b64: str, message: str) -> bool:
    """Check a signature the way the exchange does; used by the local exchange."""
    try:
        key = base64.b64decode(api_key_b64, validate=True)
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(key) != 32 or len(signature) != 64:
        return False
    try:
        nacl.signing.VerifyKey(key).verify(message.encode(), signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def generate_secret() -> str:
    """A fresh random base64 secret (demo accounts of the local exchange)."""
    return base64.b64encode(bytes(nacl.signing.SigningKey.generate())).decode()


def api_key_of(secret_b64: str) -> str:
    """The base64 public key that belongs to a secret."""
    key = nacl.signing.SigningKey(decode_secret(secret_b64))
    return base64.b64encode(bytes(key.verify_key)).decode()
