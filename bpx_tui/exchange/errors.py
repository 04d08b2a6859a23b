"""Typed errors for everything the exchange layer can report.

Callers branch on the class (retry a rate limit, reconcile an unknown outcome, show a
rejection) and show ``str(error)``, which is always a sentence a trader can read and
never contains a secret or a signature.
"""

from __future__ import annotations


class BackpackError(Exception):
    """Base class of every error raised by :mod:`bpx_tui.exchange`."""


class TransportError(BackpackError):
    """The request did not get an answer: connection refused, reset, or timed out.

    ``request_sent`` is False only when the connection was never made, so not one byte
    of the request reached the exchange; a timeout or a reset proves nothing either way.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        self.request_sent = request_sent
        super().__init__(message)


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
    """A placement was sent and its answer was lost (timeout, reset, 5xx, garbled 2xx).

    The order may or may not exist. The exchange layer does not guess: the trading
    layer's outcome owner looks it up by ``client_id``, and nothing may be re-sent for
    it until that settles. ``deadline_ms`` (local clock) is when the request's signature
    window closes: an order not found after it (and a grace for the exchange to finish
    executing) can never appear.
    """

    def __init__(
        self, symbol: str, client_id: int | None, cause: str, deadline_ms: int | None = None
    ) -> None:
        self.symbol = symbol
        self.client_id = client_id
        self.cause = cause
        self.deadline_ms = deadline_ms
        which = "an order without a clientId" if client_id is None else f"order {client_id}"
        super().__init__(
            f"{which} on {symbol}: outcome unknown after {cause}; "
            "it is looked up by clientId before anything is re-sent"
        )


class OrderNotPlaced(BackpackError):
    """A placement whose answer was lost is proven absent: it was never placed.

    Raised only after the order was looked up by clientId once its request could no
    longer execute, so sending it again cannot make a second order.
    """


class ReplaceAborted(BackpackError):
    """A cancel-then-place stopped before the place: nothing new was sent.

    Either the cancel failed (the original stands, or its fate is unknown) or the
    cancel's answer showed the original filled more while it was being moved, so a
    replacement of the old size would trade more than the trader asked for.
    """


class InvalidOrder(BackpackError, ValueError):
    """Rejected locally before sending: the order could never be valid (size, tick, side).

    Also a ``ValueError``: it is a bad argument, and callers that validate input catch those.
    """


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
