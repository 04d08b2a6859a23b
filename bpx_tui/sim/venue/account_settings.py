"""``PATCH /api/v1/account``: the settings an account may change for itself.

Only ``leverageLimit`` changes what the venue does (:mod:`.pretrade` refuses orders
above it); the auto-borrow/lend switches are accepted and validated so a client that
sends them gets Backpack's answer, but the local exchange has no lending to switch.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bpx_tui.sim.errors import bad_request
from bpx_tui.sim.numbers import parse_decimal
from bpx_tui.sim.venue.accounts import Account

SWITCHES = frozenset({"autoBorrowSettlements", "autoLend", "autoRepayBorrows"})
MIN_LEVERAGE = Decimal(1)
MAX_LEVERAGE = Decimal(50)
"""1/imf base of the most generous market (0.02): a higher limit could never bind."""


def update_settings(account: Account, body: object) -> None:
    """Validate the whole body first, then apply it: a refused PATCH changes nothing."""
    if not isinstance(body, Mapping) or not body:
        raise bad_request("Invalid request body: expected an object of account settings")
    fields: Mapping[str, Any] = body
    for name, value in fields.items():
        if name in SWITCHES:
            if not isinstance(value, bool):
                raise bad_request(f'failed to parse "{name}": expected a boolean')
        elif name != "leverageLimit":
            raise bad_request(f"unknown field `{name}`")
    if "leverageLimit" in fields:
        limit = parse_decimal(fields["leverageLimit"], "leverageLimit")
        if not MIN_LEVERAGE <= limit <= MAX_LEVERAGE or limit != limit.to_integral_value():
            raise bad_request(
                f"Invalid `leverageLimit`: must be a whole number from {MIN_LEVERAGE} to "
                f"{MAX_LEVERAGE}"
            )
        account.leverage_limit = limit.quantize(Decimal(1))
