"""Typed errors for everything the exchange layer can report.

Callers branch on the class (retry a rate limit, reconcile an unknown outcome, show a
rejection) and show ``str(error)``, which is always a sentence a trader can read and
never contains a secret or a signature.
"""

from __future__ import annotations


class BackpackError(Exception):
    """Base class of every error raised by :mod:`bpx_tui.exchange`."""


class TransportError(BackpackError):
    """The request did not get an answer: connection refused, reset, or timed out."""


class ApiError(BackpackError):
    """The exchange answered with an error body ``{"code": ..., "message": ...}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}" if message else code)


class AuthError(ApiError):
    """Signature, key or timestamp refused (bad key pair, clock skew, expired window)."""


class NotFoundError(ApiError):
    """``RESOURCE_NOT_FOUND``: e.g. an order that no longer rests, or no position."""


class RateLimitError(ApiError):
    """HTTP 429; ``retry_after`` is the server's Retry-After in seconds when it sent one."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class ServerError(ApiError):
    """HTTP 5xx: the exchange failed; on order placement the outcome is unknown."""


class OrderRejected(ApiError):
    """The exchange refused an order or cancel for a business reason (funds, price, size)."""


class UnknownOrderOutcome(BackpackError):
    """Placement timed out or failed with 5xx *and* a lookup by clientId could not tell.

    The order may or may not exist. Nothing may be re-sent for this ``client_id`` until
    a later reconciliation (open orders, then order history) settles it.
    """

    def __init__(self, symbol: str, client_id: int, cause: str) -> None:
        self.symbol = symbol
        self.client_id = client_id
        super().__init__(
            f"order {client_id} on {symbol}: outcome unknown after {cause}; "
            "it will be reconciled before anything is re-sent"
        )


class InvalidOrder(BackpackError):
    """Rejected locally before sending: the order could never be valid (size, tick, side)."""


_AUTH_MESSAGES = ("signature", "expired", "api key", "x-api-key", "x-timestamp", "x-window")
_REJECT_CODES = frozenset(
    {
        "INVALID_ORDER",
        "INVALID_PRICE",
        "INVALID_QUANTITY",
        "INSUFFICIENT_FUNDS",
        "INSUFFICIENT_MARGIN",
        "ORDER_LIMIT",
        "POSITION_LIMIT",
        "MAX_LEVERAGE_REACHED",
        "INVALID_MARKET",
        "INVALID_SYMBOL",
        "TRADING_PAUSED",
        "ACCOUNT_LIQUIDATING",
        "INVALID_CLIENT_REQUEST",
    }
)


def api_error(
    status: int, code: str | None, message: str | None, retry_after: float | None = None
) -> ApiError:
    """Map an HTTP status and Backpack error body to the most specific error class."""
    code = code or ("TOO_MANY_REQUESTS" if status == 429 else f"HTTP_{status}")
    message = message or ""
    lowered = message.lower()
    if status == 429 or code == "TOO_MANY_REQUESTS":
        return RateLimitError(status, code, message, retry_after)
    if status >= 500:
        return ServerError(status, code, message)
    if code == "RESOURCE_NOT_FOUND" or status == 404:
        return NotFoundError(status, code, message)
    if status in (401, 403) or code in ("INVALID_SIGNATURE", "UNAUTHORIZED", "FORBIDDEN"):
        return AuthError(status, code, message)
    if code == "INVALID_CLIENT_REQUEST" and any(m in lowered for m in _AUTH_MESSAGES):
        return AuthError(status, code, message)
    if code in _REJECT_CODES or code.startswith("INVALID_"):
        return OrderRejected(status, code, message)
    return ApiError(status, code, message)
