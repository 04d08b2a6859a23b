"""The sections of ``bpx-tui bench``: one module per figure, shared data in ``common``."""
