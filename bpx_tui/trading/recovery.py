"""Start-up reconciliation: settle what the last run left unanswered before trading.

A run that died (crash, SIGKILL, power loss) between writing an intent and reading the
exchange's answer leaves the journal saying "sent" or "unknown". Before the console
accepts a key, every such intent is looked up by ``clientId``; nothing is ever re-sent.
A market whose intent still cannot be settled (the lookup itself failed) stays blocked
for new risk, so a second order cannot stack on top of one that may exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.outcome import Reconciled

# How each outcome reads to the trader.
OUTCOME_WORDS = {
    "open": "found open",
    "final": "found done",
    "absent": "never reached the exchange",
    "unknown": "still unknown",
}


@dataclass(frozen=True, slots=True)
class JournalCheck:
    """What the start-up reconciliation found; ``blocked`` maps market -> reason."""

    results: tuple[Reconciled, ...] = ()
    blocked: dict[str, str] = field(default_factory=dict)

    @property
    def settled(self) -> tuple[Reconciled, ...]:
        return tuple(r for r in self.results if r.outcome != "unknown")

    @property
    def unknown(self) -> tuple[Reconciled, ...]:
        return tuple(r for r in self.results if r.outcome == "unknown")

    def summary(self) -> str:
        """One line for the status bar and the log, e.g.
        ``journal: 1 order reconciled (found open)``."""
        return summarize(self.results, self.blocked)


def summarize(results: Sequence[Reconciled], blocked: dict[str, str] | None = None) -> str:
    if not results:
        return "journal: nothing to reconcile"
    counts = Counter(r.outcome for r in results)
    settled = sum(n for outcome, n in counts.items() if outcome != "unknown")
    parts: list[str] = []
    if settled:
        detail = ", ".join(
            OUTCOME_WORDS[o] if len(counts) == 1 and n == 1 else f"{n} {OUTCOME_WORDS[o]}"
            for o, n in counts.items()
            if o != "unknown"
        )
        parts.append(f"{settled} order{'s' if settled != 1 else ''} reconciled ({detail})")
    if counts["unknown"]:
        markets = ", ".join(
            sorted(blocked or {r.symbol for r in results if r.outcome == "unknown"})
        )
        parts.append(
            f"{counts['unknown']} order{'s' if counts['unknown'] != 1 else ''} still unknown: "
            f"new orders on {markets} are blocked until it is settled"
        )
    return "journal: " + "; ".join(parts)


async def reconcile_on_start(service: OrderService) -> JournalCheck:
    """Look up every unresolved intent of every market; block markets left unknown.

    Markets that settle are unblocked by :meth:`OrderService.reconcile`; a later
    submit on a blocked market retries the lookup before refusing (``_settle``).
    """
    results = await service.reconcile()
    blocked: dict[str, str] = {}
    for result in results:
        if result.outcome == "unknown" and result.symbol not in blocked:
            reason = (
                f"order {result.client_id} from an earlier run has an unknown outcome "
                f"({result.detail})"
            )
            service.gate.block(result.symbol, reason)
            blocked[result.symbol] = reason
    return JournalCheck(tuple(results), blocked)
