"""Position figures as live Backpack reports them: liquidation price, funding, realized PnL.

The estimated liquidation price is checked twice: against a hand computation of the
cross-margin account, and by moving the mark there and seeing equity meet maintenance.
"""

from __future__ import annotations

from decimal import Decimal

from tests.sim.engine_harness import BTC, SOL, Harness

TAKER = Decimal("0.0005")
MMF = Decimal("0.0125")  # maintenance base of BTC and SOL perps; dominates at these sizes


def _two_positions(h: Harness) -> int:
    """A cross-margin account long 0.1 BTC at 97000 and short 10 SOL at 140."""
    maker, trader = h.account("maker"), h.account("trader", usdc="2000")
    h.engine.update_account(trader, {"leverageLimit": "20"})
    h.limit(maker, "Ask", "97000.0", "0.10000")
    h.market(trader, "Bid", "0.10000")
    h.limit(maker, "Bid", "140.00", "10.00", symbol=SOL)
    h.market(trader, "Ask", "10.00", symbol=SOL)
    return trader


def test_est_liquidation_price_of_two_positions_matches_a_hand_computation() -> None:
    h = Harness()
    trader = _two_positions(h)
    equity = Decimal(2000) - (Decimal(9700) + Decimal(1400)) * TAKER  # marks = fill prices
    # BTC moves alone: equity + 0.1 (P - 97000) = 0.1 P MMF + 1400 MMF
    btc_liq = (Decimal("9700") - equity + 1400 * MMF) / (Decimal("0.1") * (1 - MMF))
    # SOL moves alone: equity - 10 (P - 140) = 10 P MMF + 9700 MMF
    sol_liq = (equity + 1400 - 9700 * MMF) / (10 * (1 + MMF))
    btc = h.position(trader, BTC)
    sol = h.position(trader, SOL)
    assert btc is not None and sol is not None
    assert abs(Decimal(btc["estLiquidationPrice"]) - btc_liq) < Decimal("0.01")
    assert abs(Decimal(sol["estLiquidationPrice"]) - sol_liq) < Decimal("0.0001")
    assert Decimal(0) < btc_liq < Decimal(97000)  # a long's is below its mark
    assert sol_liq > Decimal(140)  # a short's is above


def test_at_the_est_liquidation_price_equity_meets_maintenance() -> None:
    h = Harness()
    trader = _two_positions(h)
    account = h.engine.accounts.get(trader)
    for symbol in (BTC, SOL):
        row = h.position(trader, symbol)
        assert row is not None
        index = h.engine.prices.states[symbol].index_dec
        # Move the mark alone (no liquidation run), then compare, then put it back.
        h.engine.prices.set_index(symbol, Decimal(row["estLiquidationPrice"]), h.now)
        margin = h.engine.risk.margin(account)
        assert abs(margin.equity - margin.mmr) < Decimal("0.01")
        h.engine.prices.set_index(symbol, index, h.now)


def test_a_well_collateralised_long_has_no_liquidation_price() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader", usdc="100000")
    h.limit(maker, "Ask", "97000.0", "0.01000")
    h.market(trader, "Bid", "0.01000")
    row = h.position(trader, BTC)
    assert row is not None and row["estLiquidationPrice"] == "0"


def test_stream_liquidation_price_is_the_live_placeholder() -> None:
    h = Harness()
    trader = _two_positions(h)
    events = [d for d in h.private(trader) if "q" in d and "B" in d]  # positionUpdate
    assert {d["e"] for d in events} >= {"positionOpened"}
    assert all(d["l"] == "0" for d in events)
    snapshot = h.engine.position_snapshot(trader, None)
    assert len(snapshot) == 2 and all(d["l"] == "0" for d in snapshot)
    row = h.position(trader, BTC)
    assert row is not None and Decimal(row["estLiquidationPrice"]) > 0  # REST has it


def test_cumulative_funding_accrues_signed_as_backpack_signs_it() -> None:
    h = Harness(funding_speedup=3600.0)
    trader = _two_positions(h)
    rate = Decimal("0.0000125")  # base carry, no premium: longs pay, shorts receive
    for _ in range(2):
        h.now = h.engine.funding.next_us
        h.engine.advance()
    btc, sol = h.position(trader, BTC), h.position(trader, SOL)
    assert btc is not None and sol is not None
    assert Decimal(btc["cumulativeFundingPayment"]) == -2 * rate * 9700
    assert Decimal(sol["cumulativeFundingPayment"]) == 2 * rate * 1400
    rows = h.engine.funding_history(trader, {"symbol": BTC})
    assert [Decimal(r["quantity"]) for r in rows] == [-rate * 9700] * 2


def test_pnl_realized_reflects_partial_closes() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    h.limit(maker, "Ask", "97000.0", "0.10000")
    h.market(trader, "Bid", "0.10000")
    h.limit(maker, "Bid", "98000.0", "0.04000")
    h.market(trader, "Ask", "0.04000")
    row = h.position(trader, BTC)
    assert row is not None
    assert row["netQuantity"] == "0.06000"
    assert Decimal(row["pnlRealized"]) == Decimal("40")  # 0.04 * (98000 - 97000)
    h.limit(maker, "Bid", "96000.0", "0.02000")
    h.market(trader, "Ask", "0.02000")
    row = h.position(trader, BTC)
    assert row is not None and Decimal(row["pnlRealized"]) == Decimal("20")  # 40 - 20
