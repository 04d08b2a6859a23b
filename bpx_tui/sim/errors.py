"""The local exchange's error: a Backpack error body plus its HTTP status.

The server turns a :class:`SimError` into ``{"code": ..., "message": ...}`` with
``status`` as the HTTP status (docs/PROTOCOL.md "Errors"), so clients under test see exactly
the shapes and texts the real exchange sends. Factories below keep the texts in one
place so tests and the engine cannot drift apart.
"""

from __future__ import annotations

from typing import Any

INTEGER_BOUND = 10**19
"""Integers at or beyond this are refused unread (an int64 is below it)."""
_SHOWN_CHARS = 24


class SimError(Exception):
    """A rejected request, carried as Backpack reports it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{status} {code}: {message}")

    def body(self) -> dict[str, Any]:
        """The JSON error body the server sends."""
        return {"code": self.code, "message": self.message}


def shown(value: object) -> str:
    """A client's value for an error message, cut short so a 10 kB value stays a line.

    Never ``repr`` of the whole value: that of a 5,000-digit int raises, and that of a
    deeply nested array costs as much as the array.
    """
    if isinstance(value, str):
        return repr(value) if len(value) <= _SHOWN_CHARS else repr(value[:_SHOWN_CHARS]) + "..."
    if value is None or isinstance(value, bool | float):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if abs(value) < INTEGER_BOUND else "an integer too large"
    if isinstance(value, dict):
        return "an object"
    return "an array" if isinstance(value, list) else type(value).__name__


def bad_request(message: str, code: str = "INVALID_CLIENT_REQUEST") -> SimError:
    return SimError(400, code, message)


def invalid_order(message: str = "Invalid order") -> SimError:
    return SimError(400, "INVALID_ORDER", message)


def invalid_price(message: str = "Price is too far from the last active price") -> SimError:
    return SimError(400, "INVALID_PRICE", message)


def invalid_quantity(message: str) -> SimError:
    return SimError(400, "INVALID_QUANTITY", message)


def invalid_market(symbol: object) -> SimError:
    """Backpack answers an unknown symbol with a parse error naming the field."""
    text = symbol[:_SHOWN_CHARS] if isinstance(symbol, str) else shown(symbol)
    return SimError(
        400, "INVALID_MARKET", f'failed to parse "MarketSymbol": Invalid market symbol ({text})'
    )


def insufficient_margin() -> SimError:
    return SimError(400, "INSUFFICIENT_MARGIN", "Insufficient margin")


def max_leverage_reached() -> SimError:
    """An order that would lift the account's leverage above its ``leverageLimit``.

    The code is in Backpack's documented ApiErrorCode enum; the message text is our
    choice, since no live refusal of this kind has been recorded.
    """
    return SimError(400, "MAX_LEVERAGE_REACHED", "Maximum leverage reached")


def insufficient_funds() -> SimError:
    return SimError(400, "INSUFFICIENT_FUNDS", "Insufficient funds")


def not_found(message: str) -> SimError:
    return SimError(404, "RESOURCE_NOT_FOUND", message)


def order_not_found() -> SimError:
    """Cancel of an unknown order: Backpack has been seen to report it as a client error."""
    return SimError(400, "INVALID_CLIENT_REQUEST", "Order not found")


def account_liquidating() -> SimError:
    return SimError(400, "ACCOUNT_LIQUIDATING", "Account is liquidating")
