"""Build many long-lived objects without the garbage collector scanning them meanwhile.

Seeding 32 books (~12k resting quotes) allocates objects that all survive. The burst
triggers collections that find nothing to free but walk every live object of the
process -- in a test process holding a few servers that doubled the cost of a start.
Pausing the collector for such a burst is what the CPython docs suggest for it.

Only at construction, before any client is served. A past made on a client's first
read (``/api/v1/tickers`` makes all 32) is left to the collector's normal course:
paused there, its objects were still to be promoted by the console's later collections,
and the demo's key -> exchange latency in ``bpx-tui bench`` looked worse for it.
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
