"""The collector runs seldom while the console starts and as usual once it has: a console
left at the start-up thresholds would collect young objects 140 times less often all
day, and one never frozen would rescan start-up's objects on every full collection."""

from __future__ import annotations

import gc

from bpx_tui.ui import collector


def test_start_up_thresholds_are_given_back_after_the_first_paint() -> None:
    before = gc.get_threshold()
    try:
        collector.starting()
        assert gc.get_threshold()[0] == collector.STARTING_GEN0
        at_start = gc.get_freeze_count()
        assert at_start > 0  # the imports' objects
        kept = [[i] for i in range(1000)]  # made while starting, still alive
        collector.started()
        assert gc.get_threshold() == collector.STEADY
        # What survived start-up's one collection is frozen too: the 1,000 lists and
        # their holder at least.
        assert gc.get_freeze_count() >= at_start + len(kept) + 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
