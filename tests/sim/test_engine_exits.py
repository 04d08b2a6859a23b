"""Take-profit / stop-loss legs and stop entries in the local exchange's engine.

What issue 17 asks of the venue: legs appear (reduce-only, ``TriggerPending``) for
what the parent filled, fire at their trigger in the direction their kind says, and a
reduce-only trigger with no position left to reduce is cancelled when it closes.
"""

from __future__ import annotations

from decimal import Decimal

from tests.sim.engine_harness import BTC, Harness


def _pending(h: Harness, account: int) -> dict[str, dict[str, object]]:
    """Open orders by id."""
    return {o["id"]: o for o in h.engine.open_orders(account, BTC, None)}


def _status(h: Harness, account: int, order_id: object) -> object:
    [row] = h.engine.order_history(account, {"orderId": order_id})
    return row["status"]


def _long_with_exits(h: Harness, tp: str, sl: str) -> tuple[int, int, dict[str, object]]:
    """A long of 0.02 at 97000 with a market take-profit and stop-loss attached."""
    maker, trader = h.account("maker"), h.account("trader")
    h.limit(maker, "Ask", "97000.0", "0.02000")
    parent = h.market(trader, "Bid", "0.02000", takeProfitTriggerPrice=tp, stopLossTriggerPrice=sl)
    return maker, trader, parent


def _legs(h: Harness, trader: int, parent: dict[str, object]) -> tuple[str, str]:
    """(take-profit id, stop-loss id) of ``parent``'s legs."""
    legs = [o for o in _pending(h, trader).values() if o["relatedOrderId"] == parent["id"]]
    by_price = sorted(legs, key=lambda o: Decimal(str(o["triggerPrice"])))
    if parent["side"] == "Bid":
        return str(by_price[-1]["id"]), str(by_price[0]["id"])
    return str(by_price[0]["id"]), str(by_price[-1]["id"])


def test_take_profit_fires_and_the_stop_loss_is_then_cancelled() -> None:
    h = Harness()
    maker, trader, parent = _long_with_exits(h, "98000.0", "96000.0")
    tp, sl = _legs(h, trader, parent)
    h.limit(maker, "Bid", "98000.0", "1.00000")
    h.engine.set_index(BTC, Decimal("97900"))  # not yet
    assert set(_pending(h, trader)) == {tp, sl}
    h.engine.set_index(BTC, Decimal("98050"))
    assert h.net(trader) == 0
    assert h.engine.open_orders(trader, BTC, None) == []
    assert (_status(h, trader, tp), _status(h, trader, sl)) == ("Filled", "Cancelled")
    [cancelled] = h.private(trader, "orderCancelled")
    assert cancelled["i"] == sl and cancelled["X"] == "Cancelled" and cancelled["r"] is True


def test_a_shorts_legs_fire_the_other_way() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    h.limit(maker, "Bid", "97000.0", "0.02000")
    parent = h.market(
        trader,
        "Ask",
        "0.02000",
        takeProfitTriggerPrice="95000.0",
        stopLossTriggerPrice="98000.0",
        stopLossTriggerBy="IndexPrice",
    )
    tp, sl = _legs(h, trader, parent)
    legs = _pending(h, trader)
    assert legs[sl]["side"] == "Bid" and legs[sl]["triggerBy"] == "IndexPrice"
    assert legs[tp]["triggerBy"] == "MarkPrice"  # Backpack's default for a leg
    h.limit(maker, "Ask", "98100.0", "1.00000")
    h.engine.set_index(BTC, Decimal("98000"))
    assert h.net(trader) == 0
    assert (_status(h, trader, sl), _status(h, trader, tp)) == ("Filled", "Cancelled")


def test_legs_follow_the_parents_partial_fills() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    parent = h.limit(
        trader,
        "Bid",
        "96000.0",
        "0.03000",
        takeProfitTriggerPrice="99000.0",
        stopLossTriggerPrice="94000.0",
        stopLossLimitPrice="93900.0",
    )
    assert list(_pending(h, trader)) == [parent["id"]]  # nothing filled, no legs
    h.market(maker, "Ask", "0.01000")
    legs = [o for o in _pending(h, trader).values() if o["relatedOrderId"] == parent["id"]]
    assert sorted(o["triggerQuantity"] for o in legs) == ["0.01000", "0.01000"]
    assert {o["orderType"] for o in legs} == {"Market", "Limit"}  # the SL has a limit
    h.market(maker, "Ask", "0.02000")
    legs = [o for o in _pending(h, trader).values() if o["relatedOrderId"] == parent["id"]]
    assert sorted(o["triggerQuantity"] for o in legs) == ["0.03000", "0.03000"]
    modified = h.private(trader, "orderModified")
    assert {m["i"] for m in modified} == {o["id"] for o in legs}
    assert {m["Y"] for m in modified} == {"0.03000"}


def test_a_leg_armed_past_its_trigger_fires_at_once() -> None:
    """The mark fell through the stop-loss before the entry filled: the stop fires on
    arming instead of waiting for the price to come back up to it."""
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    h.engine.set_index(BTC, Decimal("95900"))
    h.limit(maker, "Ask", "97000.0", "0.02000")
    h.limit(maker, "Bid", "95800.0", "1.00000")
    parent = h.market(trader, "Bid", "0.02000", stopLossTriggerPrice="96000.0")
    assert h.net(trader) == 0
    [leg] = [o for o in h.private(trader, "orderFill") if o["i"] != parent["id"]]
    assert leg["L"] == "95800.0" and leg["S"] == "Ask"


def test_a_reduce_only_stop_goes_when_the_position_is_closed_by_hand() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    h.limit(maker, "Ask", "97000.0", "0.02000")
    h.market(trader, "Bid", "0.02000")
    stop = h.order(
        trader,
        side="Ask",
        orderType="Market",
        triggerPrice="95000.0",
        triggerQuantity="0.02000",
        reduceOnly=True,
    )
    h.limit(maker, "Bid", "97000.0", "0.01000")
    h.market(trader, "Ask", "0.01000")  # half closed: the stop stays
    assert list(_pending(h, trader)) == [stop["id"]]
    h.limit(maker, "Bid", "97000.0", "0.01000")
    h.market(trader, "Ask", "0.01000")
    assert h.engine.open_orders(trader, BTC, None) == []
    assert _status(h, trader, stop["id"]) == "Cancelled"


def test_a_stop_entry_waits_then_opens_a_position() -> None:
    h = Harness()
    maker, trader = h.account("maker"), h.account("trader")
    stop = h.order(
        trader,
        side="Ask",
        orderType="Market",
        triggerPrice="90000.0",
        triggerQuantity="0.01000",
    )
    assert stop["status"] == "TriggerPending" and stop["reduceOnly"] is None
    h.limit(maker, "Bid", "89900.0", "1.00000")
    h.engine.set_index(BTC, Decimal("90500"))
    assert _pending(h, trader)[stop["id"]]["status"] == "TriggerPending"
    h.engine.set_index(BTC, Decimal("89990"))
    assert h.net(trader) == Decimal("-0.01")
    assert _status(h, trader, stop["id"]) == "Filled"


def test_a_stop_limit_entry_rests_at_its_limit_once_triggered() -> None:
    h = Harness()
    trader = h.account("trader")
    stop = h.order(
        trader,
        side="Bid",
        orderType="Limit",
        price="98100.0",
        triggerPrice="98000.0",
        triggerQuantity="0.01000",
    )
    assert stop["status"] == "TriggerPending" and stop["price"] == "98100.0"
    h.engine.set_index(BTC, Decimal("98000"))
    [resting] = h.engine.open_orders(trader, BTC, None)
    assert (resting["status"], resting["price"], resting["quantity"]) == (
        "New",
        "98100.0",
        "0.01000",
    )
