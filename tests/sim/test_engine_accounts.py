"""Positions, fees, triggers, funding and liquidation of the local exchange."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bpx_tui.sim.errors import SimError
from tests.sim.engine_harness import BTC, Harness


def _open_long(h: Harness, qty: str = "0.02000", price: str = "97012.4") -> tuple[int, int]:
    maker, trader = h.account("maker"), h.account("trader")
    h.limit(maker, "Ask", price, qty)
    h.market(trader, "Bid", qty)
    return maker, trader


def test_position_figures_match_backpack_arithmetic() -> None:
    h = Harness()
    maker, trader = _open_long(h)
    h.engine.set_index(BTC, Decimal("97011.93"))
    [row] = h.engine.positions(trader, BTC)
    assert row["netQuantity"] == "0.02000"
    assert row["entryPrice"] == "97012.4"
    assert row["netCost"] == "1940.248"
    # fee 0.970124 (5 bps taker) folded into the break-even, as in rest_position.json
    assert row["breakEvenPrice"] == "97060.9062"
    assert row["pnlUnrealized"] == "-0.0094"
    assert row["markPrice"] == "97011.93"
    assert row["imf"] == "0.02" and row["mmf"] == "0.0125"
    liq = Decimal(row["estLiquidationPrice"])
    assert liq == 0  # 100k collateral: this long cannot be liquidated
    [short] = h.engine.positions(maker, BTC)
    assert short["netQuantity"] == "-0.02000"
    assert short["netCost"] == "-1940.248"
    [fill] = h.engine.fill_history(trader, {})
    assert (fill["fee"], fill["feeSymbol"], fill["isMaker"]) == ("0.970124", "USDC", False)
    [maker_fill] = h.engine.fill_history(maker, {})
    assert (maker_fill["fee"], maker_fill["isMaker"]) == ("0.3880496", True)


def test_realized_pnl_on_close_goes_to_collateral() -> None:
    h = Harness()
    maker, trader = _open_long(h, "0.10000", "97000.0")
    h.limit(maker, "Bid", "98000.0", "0.04000")
    h.market(trader, "Ask", "0.04000")
    [row] = h.engine.positions(trader, BTC)
    assert row["netQuantity"] == "0.06000"
    assert row["pnlRealized"] == "40"
    assert row["entryPrice"] == "97000"
    h.limit(maker, "Bid", "96000.0", "0.06000")
    h.market(trader, "Ask", "0.06000")
    with pytest.raises(SimError) as err:
        h.engine.positions(trader, BTC)
    assert (err.value.status, err.value.code, err.value.message) == (
        404,
        "RESOURCE_NOT_FOUND",
        "Position not found",
    )
    assert h.engine.positions(trader, None) == []
    fees = Decimal("9700") * Decimal("0.0005") + Decimal("3920") * Decimal("0.0005")
    fees += Decimal("5760") * Decimal("0.0005")
    expected = Decimal(100000) + Decimal(40) - Decimal(60) - fees
    assert Decimal(h.engine.capital(trader)["USDC"]["available"]) == expected
    events = [e["e"] for e in h.private(trader) if e.get("e", "").startswith("position")]
    assert events == ["positionOpened", "positionAdjusted", "positionClosed"]


def test_flip_through_zero_keeps_one_position() -> None:
    h = Harness()
    maker, trader = _open_long(h, "0.01000", "97000.0")
    h.limit(maker, "Bid", "97000.0", "0.03000")
    h.market(trader, "Ask", "0.03000")
    [row] = h.engine.positions(trader, BTC)
    assert row["netQuantity"] == "-0.02000"
    assert row["entryPrice"] == "97000"


class TestTriggers:
    def test_stop_by_mark_price_closes_the_position(self) -> None:
        h = Harness()
        maker, trader = _open_long(h)
        h.limit(maker, "Bid", "93900.0", "1.00000")
        body = h.order(
            trader,
            side="Ask",
            orderType="Market",
            triggerPrice="94000.0",
            triggerQuantity="0.02000",
            triggerBy="MarkPrice",
            reduceOnly=True,
        )
        assert body["status"] == "TriggerPending"
        assert body["triggerPrice"] == "94000.0" and body["triggerQuantity"] == "0.02000"
        assert body["quantity"] is None and body["triggeredAt"] is None
        [placed] = h.private(trader, "triggerPlaced")
        assert placed["X"] == "TriggerPending" and placed["P"] == "94000.0"
        assert placed["Y"] == "0.02000" and placed["B"] == "MarkPrice" and placed["r"] is True
        h.engine.set_index(BTC, Decimal("94500"))
        assert h.engine.get_order(trader, BTC, body["id"], None)["status"] == "TriggerPending"
        h.tick(1_000_000)
        h.engine.set_index(BTC, Decimal("93950"))
        assert h.engine.positions(trader, None) == []
        [row] = h.engine.order_history(trader, {"orderId": body["id"]})
        assert row["status"] == "Filled" and row["executedQuantity"] == "0.02000"
        with pytest.raises(SimError):
            h.engine.get_order(trader, BTC, body["id"], None)
        fills = h.private(trader, "orderFill")
        assert fills[-1]["i"] == body["id"] and fills[-1]["L"] == "93900.0"

    def test_take_profit_by_last_price_with_percentage(self) -> None:
        h = Harness()
        _maker, trader = _open_long(h, "0.02000", "97000.0")
        h.order(
            trader,
            side="Ask",
            orderType="Limit",
            price="97200.0",
            triggerPrice="97200.0",
            triggerQuantity="50%",
            triggerBy="LastPrice",
            reduceOnly=True,
        )
        other, buyer = h.account("other"), h.account("buyer")
        h.limit(other, "Ask", "97200.0", "0.00100")
        h.market(buyer, "Bid", "0.00100")  # last price 97200 fires the trigger
        [resting] = h.engine.open_orders(trader, BTC, None)
        assert resting["status"] == "New" and resting["quantity"] == "0.01000"
        assert resting["price"] == "97200.0" and resting["triggeredAt"] is not None
        h.market(buyer, "Bid", "0.01000")
        assert h.net(trader) == Decimal("0.01")

    def test_percentage_without_position_fails(self) -> None:
        h = Harness()
        trader = h.account("trader")
        body = h.order(
            trader,
            side="Ask",
            orderType="Market",
            triggerPrice="96000.0",
            triggerQuantity="50%",
            triggerBy="IndexPrice",
        )
        h.engine.set_index(BTC, Decimal("95000"))
        [failed] = h.private(trader, "triggerFailed")
        assert failed["i"] == body["id"] and failed["X"] == "TriggerFailed"
        assert h.engine.open_orders(trader, None, None) == []


def test_funding_payment_with_speedup() -> None:
    h = Harness(funding_speedup=3600.0)
    maker, trader = _open_long(h, "0.10000", "97000.0")
    house_before = h.engine.accounts.house["USDC"]
    usdc_long = Decimal(h.engine.capital(trader)["USDC"]["available"])
    usdc_short = Decimal(h.engine.capital(maker)["USDC"]["available"])
    [mark] = h.engine.mark_prices(BTC)
    rate = Decimal(mark["fundingRate"])
    assert rate == Decimal("0.0000125")
    assert mark["nextFundingTimestamp"] == h.engine.funding.next_us // 1000
    h.now = h.engine.funding.next_us  # one (compressed) hour later
    h.engine.advance()
    payment = rate * Decimal("97000") * Decimal("0.1")  # 0.12125
    [row] = h.engine.funding_history(trader, {})
    assert Decimal(row["quantity"]) == -payment  # the long paid
    assert row["fundingRate"] == "0.0000125" and row["symbol"] == BTC
    assert row["intervalEndTimestamp"] == "2025-11-23T12:13:21"
    [short_row] = h.engine.funding_history(maker, {})
    assert Decimal(short_row["quantity"]) == payment
    assert Decimal(h.engine.capital(trader)["USDC"]["available"]) == usdc_long - payment
    assert Decimal(h.engine.capital(maker)["USDC"]["available"]) == usdc_short + payment
    [position] = h.engine.positions(trader, BTC)
    assert Decimal(position["cumulativeFundingPayment"]) == -payment
    assert h.engine.accounts.house["USDC"] == house_before
    adjusted = h.private(trader, "positionAdjusted")
    assert adjusted and adjusted[-1]["s"] == BTC
    [rate_row] = h.engine.funding_rates(BTC, None, None)
    assert rate_row == {
        "symbol": BTC,
        "intervalEndTimestamp": "2025-11-23T12:13:21",
        "fundingRate": "0.0000125",
    }
    # the next interval is scheduled one compressed hour on
    assert h.engine.funding.next_us - h.now == 1_000_000


def test_liquidation_closes_positions_on_the_book() -> None:
    h = Harness()
    maker = h.account("maker")
    trader = h.account("trader", usdc="1100")
    h.engine.update_account(trader, {"leverageLimit": "50"})  # ~44x below
    h.limit(maker, "Ask", "97000.0", "0.50000")
    h.market(trader, "Bid", "0.50000")
    h.limit(maker, "Bid", "95400.0", "1.00000")
    h.limit(trader, "Bid", "90000.0", "0.00100")  # open orders are cancelled first
    [position] = h.engine.positions(trader, BTC)
    liq_price = Decimal(position["estLiquidationPrice"])
    assert Decimal("95500") < liq_price < Decimal("97000")
    h.engine.set_index(BTC, liq_price + 50)
    assert h.engine.positions(trader, None) != []
    h.engine.set_index(BTC, Decimal("95500"))
    assert h.engine.positions(trader, None) == []
    assert h.engine.open_orders(trader, None, None) == []
    [event] = h.public("liquidation")
    assert event["e"] == "liquidation" and event["s"] == BTC
    assert event["S"] == "Ask" and event["q"] == "0.50000" and event["p"] == "95400.0"
    fills = h.engine.fill_history(trader, {"fillType": "BookLiquidation"})
    assert [f["systemOrderType"] for f in fills] == ["LiquidatePositionOnBook"]
    assert len(h.engine.fill_history(trader, {"fillType": "User"})) == 1
    orders = h.engine.order_history(trader, {})
    assert orders[0]["systemOrderType"] == "LiquidatePositionOnBook"
    assert h.engine.account(trader)["liquidating"] is False


def test_collateral_and_capital_reflect_positions() -> None:
    h = Harness()
    _, trader = _open_long(h, "0.10000", "97000.0")
    h.limit(trader, "Bid", "96000.0", "0.10000")
    collateral = h.engine.collateral(trader)
    fee = Decimal("4.85")
    assert Decimal(collateral["netEquity"]) == Decimal(100000) - fee
    assert Decimal(collateral["netExposureFutures"]) == Decimal("9700")
    assert Decimal(collateral["imf"]) == Decimal("0.02")
    assert collateral["marginFraction"] is not None
    assert Decimal(collateral["netEquityLocked"]) > 0
    capital = h.engine.capital(trader)
    total = Decimal(capital["USDC"]["available"]) + Decimal(capital["USDC"]["locked"])
    assert total == Decimal(100000) - fee


def test_max_order_quantity() -> None:
    h = Harness()
    _, trader = _open_long(h, "0.10000", "97000.0")
    reduce = h.engine.max_order_quantity(
        trader, {"symbol": BTC, "side": "Ask", "reduceOnly": "true"}
    )
    assert reduce["maxOrderQuantity"] == "0.10000" and reduce["reduceOnly"] is True
    more = h.engine.max_order_quantity(trader, {"symbol": BTC, "side": "Bid", "price": "97000"})
    assert Decimal(more["maxOrderQuantity"]) > 1


def test_attached_take_profit_and_stop_loss_are_armed_after_the_fill() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    h.limit(maker, "Ask", "97000.0", "0.02000")
    parent = h.order(
        trader,
        side="Bid",
        orderType="Market",
        quantity="0.02000",
        takeProfitTriggerPrice="99000.0",
        takeProfitLimitPrice="99000.0",
        stopLossTriggerPrice="95000.0",
    )
    assert parent["takeProfitTriggerPrice"] == "99000.0"
    assert parent["takeProfitLimitPrice"] == "99000.0"
    assert parent["stopLossTriggerPrice"] == "95000.0"
    assert parent["stopLossTriggerBy"] == "MarkPrice" and parent["stopLossLimitPrice"] is None
    legs = {o["orderType"]: o for o in h.engine.open_orders(trader, BTC, None)}
    assert set(legs) == {"Limit", "Market"}
    for leg in legs.values():
        assert leg["status"] == "TriggerPending" and leg["side"] == "Ask"
        assert leg["relatedOrderId"] == parent["id"] and leg["reduceOnly"] is True
        assert leg["triggerQuantity"] == "0.02000"
    assert legs["Limit"]["price"] == "99000.0" and legs["Limit"]["triggerPrice"] == "99000.0"
    assert legs["Market"]["triggerPrice"] == "95000.0"
    [placed, *_] = h.private(trader, "triggerPlaced")
    assert placed["I"] == parent["id"]
    # the stop fires on the mark; the take-profit, with nothing left to reduce, goes
    h.limit(maker, "Bid", "94900.0", "1.00000")
    h.engine.set_index(BTC, Decimal("94950"))
    assert h.engine.positions(trader, None) == []
    assert h.engine.open_orders(trader, BTC, None) == []
    [gone] = h.engine.order_history(trader, {"orderId": legs["Limit"]["id"]})
    assert gone["status"] == "Cancelled"


def test_attached_legs_wait_for_a_resting_parent() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    parent = h.limit(trader, "Bid", "96000.0", "0.01000", stopLossTriggerPrice="94000.0")
    assert [o["id"] for o in h.engine.open_orders(trader, BTC, None)] == [parent["id"]]
    h.market(maker, "Ask", "0.01000")
    [leg] = h.engine.open_orders(trader, BTC, None)
    assert leg["relatedOrderId"] == parent["id"] and leg["triggerPrice"] == "94000.0"
