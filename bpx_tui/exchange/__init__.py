"""The Backpack protocol layer: signing, REST, streams, order books, the one client.

Never imports Textual: scripts, the local exchange and the benchmark use it without a UI.
"""

from bpx_tui.exchange.client import BackpackClient

__all__ = ["BackpackClient"]
