"""Whether a market's numbers on screen are live, and how old they are if not.

A frozen price drawn like a live one is the most dangerous thing a console can show: a
trader acts on it. Every panel that draws prices takes a :class:`Freshness` and dims
what is not live, with its age, so a dead feed looks dead everywhere, not only in the
status bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpx_tui.exchange.stream import ConnectionState

_WORDS = {
    ConnectionState.CONNECTING: "CONNECTING",
    ConnectionState.RECONNECTING: "RECONNECTING",
    ConnectionState.DOWN: "DISCONNECTED",
}


@dataclass(frozen=True, slots=True)
class Freshness:
    """``state`` is ``LIVE``, ``STALE``, ``RESYNCING`` or the connection's word."""

    state: str = "LIVE"
    age_s: int | None = None  # whole seconds since the data last moved (None: unknown)

    @property
    def live(self) -> bool:
        return self.state == "LIVE"

    @property
    def age(self) -> str:
        """``stale 6 s`` (empty when live or when the age is unknown)."""
        return "" if self.live or self.age_s is None else f"stale {self.age_s} s"

    @property
    def label(self) -> str:
        """``RECONNECTING · stale 6 s``, ``STALE 12 s``; empty when live."""
        if self.live:
            return ""
        if self.state == "STALE":
            return f"STALE {self.age_s} s" if self.age_s is not None else "STALE"
        return " · ".join(part for part in (self.state, self.age) if part)


LIVE = Freshness()


def assess(
    connection: ConnectionState,
    age_s: float | None,
    stale_after_s: float,
    *,
    synced: bool = True,
) -> Freshness:
    """One market's freshness from the stream state and the age of its data.

    ``age_s`` is how long ago the market's data last moved (its mark for a perp, the
    stream's last message otherwise); ``synced`` False is a book being rebuilt.
    """
    age = None if age_s is None else max(0, int(age_s))
    word = _WORDS.get(connection)
    if word is not None:
        return Freshness(word, age)
    if not synced:
        return Freshness("RESYNCING", age)
    if age_s is not None and age_s > stale_after_s:
        return Freshness("STALE", age)
    return LIVE
