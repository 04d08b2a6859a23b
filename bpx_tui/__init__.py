"""bpx-tui: a keyboard-first terminal trading console for Backpack Exchange.

Only the version lives here so that importing any layer stays cheap and never
drags in Textual (the exchange, trading and sim layers must import without it).
"""

__version__ = "0.1.0"
