"""The words of Backpack's order protocol, and the one place each is parsed.

Backpack spells sides ``Bid``/``Ask`` and order types ``Limit``/``Market``; people, the
original ``BackpackAPI`` guide and other exchanges say BUY/SELL and LIMIT/MARKET. Every
caller that takes such a word from outside (a script, a config file, a command line)
parses it here, so a spelling accepted in one place is accepted everywhere and a typo
gets the same sentence wherever it is made.
"""

from __future__ import annotations

from typing import Literal

from bpx_tui.exchange.errors import InvalidOrder

Side = Literal["Bid", "Ask"]
OrderType = Literal["Limit", "Market"]
TimeInForce = Literal["GTC", "IOC", "FOK"]
TriggerBy = Literal["LastPrice", "MarkPrice", "IndexPrice"]

TIMES_IN_FORCE: tuple[TimeInForce, ...] = ("GTC", "IOC", "FOK")
TRIGGER_SOURCES: tuple[TriggerBy, ...] = ("LastPrice", "MarkPrice", "IndexPrice")
# clientId is a JSON number the exchange reads as an unsigned 32-bit integer.
UINT32_MAX = 0xFFFFFFFF

_SIDES: dict[str, Side] = {
    "BID": "Bid",
    "BUY": "Bid",
    "LONG": "Bid",
    "ASK": "Ask",
    "SELL": "Ask",
    "SHORT": "Ask",
}
_ORDER_TYPES: dict[str, OrderType] = {"LIMIT": "Limit", "MARKET": "Market"}
_TRIGGER_SOURCES = {source.upper(): source for source in TRIGGER_SOURCES}


def _word(value: object) -> str:
    return value.strip().upper() if isinstance(value, str) else ""


def parse_side(side: object) -> Side:
    try:
        return _SIDES[_word(side)]
    except KeyError:
        raise InvalidOrder(f"side must be Bid/Ask (or BUY/SELL), got {side!r}") from None


def parse_order_type(order_type: object) -> OrderType:
    try:
        return _ORDER_TYPES[_word(order_type)]
    except KeyError:
        raise InvalidOrder(f"order type must be Limit or Market, got {order_type!r}") from None


def parse_time_in_force(value: object) -> TimeInForce:
    for tif in TIMES_IN_FORCE:
        if tif == _word(value):
            return tif
    raise InvalidOrder(f"time in force must be GTC, IOC or FOK, got {value!r}")


def parse_trigger_by(value: object) -> TriggerBy:
    try:
        return _TRIGGER_SOURCES[_word(value)]
    except KeyError:
        raise InvalidOrder(
            f"trigger source must be LastPrice, MarkPrice or IndexPrice, got {value!r}"
        ) from None


def check_client_id(value: object) -> int:
    """The clientId rule, stated once: an integer 0..4294967295 (not a bool, not text)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT32_MAX:
        raise InvalidOrder(f"clientId must be an integer 0..{UINT32_MAX}, got {value!r}")
    return value
