"""The synthetic index path: a seeded random walk of each base asset, plus perp premiums.

Moves scale with the square root of *engine time* elapsed since the last move, so the
market looks the same whether the server steps it 10 or 10,000 times a second, and a
fixed clock (tests) keeps prices still and runs deterministic. The venue derives mark
and funding rate from what this leaves in its :class:`PriceBoard`; each perp's funding
carry follows its :class:`FundingCarry` schedule as engine time passes.
"""

from __future__ import annotations

import math
import random

from bpx_tui.sim.synthetic.funding_carry import FundingCarry
from bpx_tui.sim.venue.prices import PriceBoard

PREMIUM_CAP = 0.003
PREMIUM_REVERSION_S = 60.0
PREMIUM_VOL = 0.00005  # stationary premium spread ~0.03 %


class PriceWalk:
    """Moves a venue's index prices; one walk per base asset keeps spot and perp together."""

    def __init__(self, board: PriceBoard, rng: random.Random, carry: FundingCarry) -> None:
        self.board = board
        self.rng = rng
        self.carry = carry

    def step(self, symbol: str, now_us: int) -> bool:
        """Move the base asset's index (and each perp's premium); True when anything moved."""
        board = self.board
        lead = board.states[symbol]
        dt = (now_us - lead.updated_us) / 1_000_000
        if dt <= 0:
            return False
        rng = self.rng
        shock = math.exp(lead.spec.vol_per_sqrt_s * math.sqrt(dt) * rng.gauss(0.0, 1.0))
        index = lead.index * shock
        decay = math.exp(-dt / PREMIUM_REVERSION_S)
        for state in board.by_base[lead.spec.base]:
            state.index = index
            state.updated_us = now_us
            if state.spec.is_perp:
                premium = state.premium * decay + PREMIUM_VOL * math.sqrt(dt) * rng.gauss(0, 1)
                state.premium = min(max(premium, -PREMIUM_CAP), PREMIUM_CAP)
                state.set_carry(self.carry.at(state.spec.symbol, now_us))
            state.refresh()
        return True
