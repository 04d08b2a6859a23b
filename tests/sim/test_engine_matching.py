"""Matching rules of the local exchange: priority, order types, STP, post/reduce-only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bpx_tui.sim.errors import SimError
from tests.sim.engine_harness import BTC, Harness


@pytest.fixture
def h() -> Harness:
    return Harness()


def test_limit_order_rests_and_shows_in_depth(h: Harness) -> None:
    alice = h.account("alice")
    body = h.limit(alice, "Bid", "96500.0", "0.01000", clientId=1001, postOnly=True)
    assert body["status"] == "New"
    assert body["clientId"] == 1001
    assert body["price"] == "96500.0" and body["quantity"] == "0.01000"
    depth = h.engine.depth(BTC, None)
    assert depth["bids"] == [["96500.0", "0.01000"]]
    assert depth["asks"] == []
    [msg] = h.public("depth." + BTC)
    assert msg["b"] == [["96500.0", "0.01000"]]
    assert depth["lastUpdateId"] == str(msg["u"])
    accepted = h.private(alice, "orderAccepted")
    assert accepted[0]["c"] == 1001 and accepted[0]["o"] == "LIMIT" and accepted[0]["X"] == "New"


def test_price_time_priority(h: Harness) -> None:
    a, b, c, taker = (h.account(n) for n in ("a", "b", "c", "taker"))
    h.limit(a, "Ask", "97001.0", "0.10000")
    h.tick()
    first = h.limit(b, "Ask", "97000.5", "0.10000")
    h.tick()
    second = h.limit(c, "Ask", "97000.5", "0.10000")
    fill = h.market(taker, "Bid", "0.15000")
    assert fill["status"] == "Filled"
    # best price first, and within a price the earlier order first
    assert h.engine.get_order(c, BTC, second["id"], None)["executedQuantity"] == "0.05000"
    with pytest.raises(SimError) as err:
        h.engine.get_order(b, BTC, first["id"], None)
    assert err.value.status == 404 and err.value.code == "RESOURCE_NOT_FOUND"
    depth = h.engine.depth(BTC, None)
    assert depth["asks"] == [["97000.5", "0.05000"], ["97001.0", "0.10000"]]
    trades = h.engine.trades(BTC, None)
    assert [t["price"] for t in trades] == ["97000.5", "97000.5"]
    assert [t["id"] for t in trades] == [1, 2]
    assert Decimal(fill["executedQuoteQuantity"]) == Decimal("97000.5") * Decimal("0.15")


def test_limit_crossing_fills_at_maker_price_then_rests(h: Harness) -> None:
    maker, taker = h.account("maker"), h.account("taker")
    h.limit(maker, "Ask", "97000.0", "0.01000")
    body = h.limit(taker, "Bid", "97010.0", "0.03000")
    assert body["status"] == "PartiallyFilled"
    assert body["executedQuantity"] == "0.01000"
    assert body["executedQuoteQuantity"] == "970"
    assert h.engine.depth(BTC, None)["bids"] == [["97010.0", "0.02000"]]
    [trade] = h.public("trade." + BTC)
    assert trade["p"] == "97000.0" and trade["m"] is False and trade["b"] == body["id"]


def test_ioc_partial_fill_expires_rest(h: Harness) -> None:
    maker, taker = h.account("maker"), h.account("taker")
    h.limit(maker, "Ask", "97000.0", "0.01000")
    body = h.limit(taker, "Bid", "97000.0", "0.05000", timeInForce="IOC")
    assert body["status"] == "Expired"
    assert body["executedQuantity"] == "0.01000"
    assert h.engine.depth(BTC, None)["bids"] == []
    expired = h.private(taker, "orderExpired")
    assert expired[-1]["R"] == "IMMEDIATE_OR_CANCEL"
    [row] = h.engine.order_history(taker, {})
    assert row["expiryReason"] == "ImmediateOrCancel"


def test_fok_is_all_or_nothing(h: Harness) -> None:
    maker, taker = h.account("maker"), h.account("taker")
    h.limit(maker, "Ask", "97000.0", "0.01000")
    body = h.limit(taker, "Bid", "97000.0", "0.02000", timeInForce="FOK")
    assert body["status"] == "Expired" and body["executedQuantity"] == "0"
    assert h.public("trade." + BTC) == []
    body = h.limit(taker, "Bid", "97000.0", "0.01000", timeInForce="FOK")
    assert body["status"] == "Filled"


def test_market_order_without_liquidity_expires(h: Harness) -> None:
    maker, taker = h.account("maker"), h.account("taker")
    h.limit(maker, "Ask", "97000.0", "0.01000")
    body = h.market(taker, "Bid", "0.02000")
    assert body["orderType"] == "Market"
    assert body["status"] == "Expired" and body["executedQuantity"] == "0.01000"


def test_market_order_by_quote_quantity(h: Harness) -> None:
    maker, taker = h.account("maker"), h.account("taker")
    h.limit(maker, "Ask", "97000.0", "0.01000")
    h.limit(maker, "Ask", "98000.0", "1.00000")
    body = h.order(taker, side="Bid", orderType="Market", quoteQuantity="1950")
    assert body["status"] == "Filled"
    assert body["quantity"] is None and body["quoteQuantity"] == "1950"
    # 970 at the first level, then floor(980 / 98000 / 0.00001) steps at the second
    assert body["executedQuantity"] == "0.02000"
    assert Decimal(body["executedQuoteQuantity"]) == Decimal("1950")
    assert Decimal(body["executedQuoteQuantity"]) <= Decimal("1950")


def test_post_only_that_would_take_is_rejected(h: Harness) -> None:
    maker, taker = h.account("maker"), h.account("taker")
    h.limit(maker, "Ask", "97013.0", "0.01000")
    with pytest.raises(SimError) as err:
        h.limit(taker, "Bid", "97013.0", "0.01000", postOnly=True, clientId=999)
    assert (err.value.status, err.value.code) == (400, "INVALID_ORDER")
    assert err.value.message == "Order would immediately match and take"
    [row] = h.engine.order_history(taker, {})
    assert row["status"] == "Expired" and row["expiryReason"] == "PostOnlyTaker"
    [event] = h.private(taker, "orderExpired")
    assert event["R"] == "POST_ONLY_TAKER" and event["c"] == 999
    assert h.engine.depth(BTC, None)["asks"] == [["97013.0", "0.01000"]]


def test_post_only_that_does_not_cross_rests(h: Harness) -> None:
    maker, taker = h.account("maker"), h.account("taker")
    h.limit(maker, "Ask", "97013.0", "0.01000")
    body = h.limit(taker, "Bid", "97012.9", "0.01000", postOnly=True)
    assert body["status"] == "New" and body["postOnly"] is True


def test_client_id_lookup_and_cancel(h: Harness) -> None:
    alice = h.account("alice")
    body = h.limit(alice, "Bid", "96000.0", "0.01000", clientId=4294967295)
    assert h.engine.get_order(alice, BTC, None, 4294967295)["id"] == body["id"]
    cancelled = h.engine.cancel_order(alice, BTC, None, 4294967295)
    assert cancelled["status"] == "Cancelled" and cancelled["clientId"] == 4294967295
    assert h.private(alice, "orderCancelled")[0]["i"] == body["id"]
    with pytest.raises(SimError) as err:
        h.engine.cancel_order(alice, BTC, body["id"], None)
    assert (err.value.code, err.value.message) == ("INVALID_CLIENT_REQUEST", "Order not found")
    with pytest.raises(SimError):
        h.engine.cancel_order(alice, BTC, body["id"], 5)  # both ids


def test_cancel_all_by_type(h: Harness) -> None:
    alice = h.account("alice")
    h.limit(alice, "Bid", "96000.0", "0.01000")
    h.order(
        alice,
        side="Ask",
        orderType="Market",
        triggerPrice="90000.0",
        triggerQuantity="0.01000",
    )
    resting = h.engine.cancel_all(alice, BTC, "RestingLimitOrder")
    assert [o["orderType"] for o in resting] == ["Limit"]
    [pending] = h.engine.open_orders(alice, BTC, None)
    assert pending["status"] == "TriggerPending"
    assert len(h.engine.cancel_all(alice, BTC, None)) == 1
    assert h.engine.open_orders(alice, None, None) == []


@pytest.mark.parametrize(
    ("stp", "taker_status", "maker_left"),
    [
        ("RejectTaker", "Expired", True),
        ("RejectMaker", "Filled", False),
        ("RejectBoth", "Expired", False),
    ],
)
def test_self_trade_prevention(h: Harness, stp: str, taker_status: str, maker_left: bool) -> None:
    alice, other = h.account("alice"), h.account("other")
    own = h.limit(alice, "Ask", "97000.0", "0.01000")
    h.limit(other, "Ask", "97001.0", "0.01000")
    body = h.limit(alice, "Bid", "97001.0", "0.01000", selfTradePrevention=stp)
    assert body["status"] == taker_status
    assert body["selfTradePrevention"] == stp
    open_ids = [o["id"] for o in h.engine.open_orders(alice, BTC, None)]
    assert (own["id"] in open_ids) is maker_left
    if taker_status == "Expired":
        assert h.private(alice, "orderExpired")[-1]["R"] == "SELF_TRADE_PREVENTION"
    # never a trade between the account and itself
    for trade in h.public("trade." + BTC):
        assert own["id"] not in (trade["a"], trade["b"])


class TestReduceOnly:
    def _long(self, h: Harness, qty: str = "0.02000") -> tuple[int, int]:
        maker, trader = h.account("maker"), h.account("trader")
        h.limit(maker, "Ask", "97000.0", qty)
        h.market(trader, "Bid", qty)
        return maker, trader

    def test_without_position_expires(self, h: Harness) -> None:
        trader = h.account("trader")
        body = h.limit(trader, "Ask", "97000.0", "0.01000", reduceOnly=True)
        assert body["status"] == "Expired"
        assert body["reduceOnly"] is True
        [row] = h.engine.order_history(trader, {})
        assert row["expiryReason"] == "ReduceOnlyNotReduced"
        assert h.private(trader, "orderExpired")[0]["R"] == "REDUCE_ONLY_NOT_REDUCED"

    def test_same_side_as_position_expires(self, h: Harness) -> None:
        _, trader = self._long(h)
        body = h.limit(trader, "Bid", "96000.0", "0.01000", reduceOnly=True)
        assert body["status"] == "Expired"
        assert h.net(trader) == Decimal("0.02")

    def test_larger_than_position_is_shrunk_and_never_flips(self, h: Harness) -> None:
        maker, trader = self._long(h)
        h.limit(maker, "Bid", "96990.0", "1.00000")
        body = h.market(trader, "Ask", "0.05000", reduceOnly=True)
        assert body["status"] == "Filled"
        assert body["executedQuantity"] == "0.02000"
        assert h.net(trader) == 0

    def test_resting_reduce_only_shrinks_when_position_shrinks(self, h: Harness) -> None:
        maker, trader = self._long(h)
        resting = h.limit(trader, "Ask", "98000.0", "0.02000", reduceOnly=True)
        h.limit(maker, "Bid", "96990.0", "1.00000")
        h.market(trader, "Ask", "0.01500")  # a plain sell shrinks the long to 0.005
        order = h.engine.get_order(trader, BTC, resting["id"], None)
        assert order["quantity"] == "0.00500"
        assert h.engine.depth(BTC, None)["asks"][0] == ["98000.0", "0.00500"]
        h.market(trader, "Ask", "0.00500")
        assert h.engine.open_orders(trader, BTC, None) == []
        assert h.private(trader, "orderModified")

    def test_resting_reduce_only_maker_never_flips(self, h: Harness) -> None:
        _maker, trader = self._long(h, "0.01000")
        h.limit(trader, "Ask", "97100.0", "0.01000", reduceOnly=True)
        h.limit(trader, "Ask", "97100.0", "0.01000", reduceOnly=True)
        buyer = h.account("buyer")
        h.market(buyer, "Bid", "0.02000")
        assert h.net(trader) == 0
        assert h.engine.open_orders(trader, BTC, None) == []


def test_spot_fee_in_base_for_buys_and_quote_for_sells(h: Harness) -> None:
    seller, buyer = h.account("seller"), h.account("buyer")
    h.engine.deposit(seller, "SOL", Decimal("10"))
    h.limit(seller, "Ask", "140.00", "2.50", symbol="SOL_USDC")
    body = h.order(buyer, symbol="SOL_USDC", side="Bid", orderType="Market", quantity="2.50")
    assert body["status"] == "Filled"
    [fill] = h.engine.fill_history(buyer, {})
    assert (fill["feeSymbol"], fill["fee"], fill["isMaker"]) == ("SOL", "0.00125", False)
    capital = h.engine.capital(buyer)
    assert capital["SOL"]["available"] == "2.49875"
    assert capital["USDC"]["available"] == "99650"
    [maker_fill] = h.engine.fill_history(seller, {})
    assert (maker_fill["feeSymbol"], maker_fill["fee"]) == ("USDC", "0.07")
    assert h.engine.capital(seller)["USDC"]["available"] == "100349.93"


def test_spot_locks_show_in_capital(h: Harness) -> None:
    alice = h.account("alice")
    h.engine.deposit(alice, "SOL", Decimal("3"))
    h.limit(alice, "Bid", "130.00", "10.00", symbol="SOL_USDC")
    h.limit(alice, "Ask", "150.00", "1.00", symbol="SOL_USDC")
    capital = h.engine.capital(alice)
    assert capital["USDC"]["locked"] == "1300"
    assert capital["SOL"] == {"available": "2", "locked": "1", "staked": "0"}


def test_spot_market_buy_stops_when_funds_run_out(h: Harness) -> None:
    seller, buyer = h.account("seller"), h.account("buyer", usdc="300")
    h.engine.deposit(seller, "SOL", Decimal("10"))
    h.limit(seller, "Ask", "140.00", "5.00", symbol="SOL_USDC")
    body = h.order(buyer, symbol="SOL_USDC", side="Bid", orderType="Market", quantity="5.00")
    assert body["status"] == "Expired" and body["executedQuantity"] == "2.14"
    [row] = h.engine.order_history(buyer, {})
    assert row["expiryReason"] == "InsufficientFunds"
    assert Decimal(h.engine.capital(buyer)["USDC"]["available"]) == Decimal("300") - Decimal(
        "299.6"
    )
