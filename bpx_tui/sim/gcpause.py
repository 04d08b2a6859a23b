"""Build many long-lived objects without the garbage collector scanning them meanwhile.

Seeding 32 books (~12k resting quotes) or making a market's past (~5k candles and
trades) allocates objects that all survive. Each allocation burst triggers collections
that find nothing to free but walk every live object of the process -- in a console or
test process holding a few servers, that doubled the cost of a start. Pausing the
collector for such a burst (and only then) is what the CPython docs suggest for it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside the block; the previous setting after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
