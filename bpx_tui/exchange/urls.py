"""Whether an exchange address is this machine: the one rule, used wherever it matters.

It matters twice, for different reasons: the stream client skips the environment's
proxy for a loopback exchange (a proxy can never reach it), and the console treats a
loopback exchange as the local simulator, badged DEMO rather than LIVE. Both must agree,
so 127.0.0.2 or ``[::1]`` is not the demo to one and Backpack to the other.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_loopback", "is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """``localhost`` or any loopback IP (all of 127.0.0.0/8, ``::1``).

    A check of the text alone, never a DNS lookup: it runs while the console starts,
    and any other name counts as remote, which errs towards LIVE, the careful side.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(url: str) -> bool:
    """:func:`is_loopback_host` for the host of an ``http(s)``/``ws(s)`` URL."""
    return is_loopback_host(urlsplit(url).hostname or "")
