"""When Python's garbage collector runs: seldom while the console starts, as usual after.

Start-up allocates most of what the process keeps (imported modules and classes, the
markets, the widgets, in the demo the local exchange's books and its markets' pasts).
With the default thresholds that triggers dozens of collections, each scanning all of it
again, on the way to the first price; frozen and collected once after the first paint,
none of it is scanned again, so later collections -- which sit between a key press and
the order leaving -- stay short.
"""

from __future__ import annotations

import gc
from typing import Final

STEADY: Final = gc.get_threshold()
"""The thresholds the console runs with once started (the interpreter's own)."""
STARTING_GEN0: Final = 100_000
"""Allocations between young collections while starting (default 700)."""


def starting() -> None:
    """Before the app runs: what the imports made is permanent; collect young objects rarely."""
    gc.freeze()
    gc.set_threshold(STARTING_GEN0, STEADY[1], STEADY[2])


def started() -> None:
    """After the first price is on screen: one full collection (~70 ms), then freeze what
    survived it and go back to the usual thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*STEADY)
