"""Temporary alias: the synthetic depth stream moved to ``bpx_tui.benchmarks.book_synth``.

Only ``bpx_tui/sim/blast.py`` still imports it from here, and sim is being restructured
by its owner right now. Delete this file once that import names the benchmarks module
(``tests/unit/test_import_graph.py`` fails while the alias outlives its last importer).
"""

from __future__ import annotations

from bpx_tui.benchmarks.book_synth import SynthStream

__all__ = ["SynthStream"]
