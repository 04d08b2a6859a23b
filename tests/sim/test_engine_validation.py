"""Order validation: Backpack's codes, messages and HTTP statuses (docs/PROTOCOL.md "Errors")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpx_tui.sim.errors import SimError
from tests.sim.engine_harness import BTC, Harness

LIMIT = {"symbol": BTC, "side": "Bid", "orderType": "Limit", "price": "96000.0", "quantity": "0.01"}


def _reject(h: Harness, account: int, **changes: Any) -> SimError:
    payload = {**LIMIT, **changes}
    payload = {k: v for k, v in payload.items() if v is not None}
    with pytest.raises(SimError) as err:
        h.engine.execute_order(account, payload)
    return err.value


@pytest.mark.parametrize(
    ("changes", "status", "code", "message"),
    [
        ({"price": "96000.05"}, 400, "INVALID_CLIENT_REQUEST", "Price decimal too long"),
        ({"quantity": "0.000001"}, 400, "INVALID_CLIENT_REQUEST", "Quantity decimal too long"),
        ({"quantity": "0"}, 400, "INVALID_QUANTITY", "Quantity is below the minimum allowed value"),
        (
            {"price": "130000.0"},
            400,
            "INVALID_PRICE",
            "Price is too far from the last active price",
        ),
        ({"price": "60000.0"}, 400, "INVALID_PRICE", "Price is too far from the last active price"),
        (
            {"triggerPrice": "95000.0"},
            400,
            "INVALID_CLIENT_REQUEST",
            "Must specify both `triggerPrice` and `triggerQuantity` or neither",
        ),
        (
            {"triggerQuantity": "0.01"},
            400,
            "INVALID_CLIENT_REQUEST",
            "Must specify both `triggerPrice` and `triggerQuantity` or neither",
        ),
        ({"quantity": "50"}, 400, "INSUFFICIENT_MARGIN", "Insufficient margin"),
    ],
)
def test_rejections(changes: dict[str, Any], status: int, code: str, message: str) -> None:
    h = Harness()
    account = h.account("alice")
    error = _reject(h, account, **changes)
    assert (error.status, error.code, error.message) == (status, code, message)
    assert error.body() == {"code": code, "message": message}
    assert h.engine.open_orders(account, None, None) == []


def test_unknown_symbol() -> None:
    h = Harness()
    error = _reject(h, h.account("alice"), symbol="NOPE_USDC_PERP")
    assert (error.status, error.code) == (400, "INVALID_MARKET")
    assert "Invalid market symbol" in error.message
    with pytest.raises(SimError):
        h.engine.depth("NOPE", None)


@pytest.mark.parametrize(
    "changes",
    [
        {"side": "Buy"},
        {"orderType": "StopLimit"},
        {"timeInForce": "DAY"},
        {"selfTradePrevention": "Nope"},
        {"clientId": -1},
        {"clientId": 4294967296},
        {"clientId": True},
        {"price": "abc"},
        {"postOnly": "yes"},
    ],
)
def test_malformed_fields_are_client_errors(changes: dict[str, Any]) -> None:
    h = Harness()
    error = _reject(h, h.account("alice"), **changes)
    assert error.status == 400
    assert error.code == "INVALID_CLIENT_REQUEST"


@pytest.mark.parametrize(
    "payload",
    [
        {"symbol": BTC, "side": "Bid", "orderType": "Limit", "quantity": "0.01"},
        {"symbol": BTC, "side": "Bid", "orderType": "Market"},
        {"symbol": BTC, "side": "Bid", "orderType": "Market", "quantity": "0.01", "postOnly": True},
        {
            "symbol": "SOL_USDC",
            "side": "Ask",
            "orderType": "Market",
            "quantity": "1",
            "reduceOnly": True,
        },
    ],
)
def test_inconsistent_orders_are_invalid_order(payload: dict[str, Any]) -> None:
    h = Harness()
    with pytest.raises(SimError) as err:
        h.engine.execute_order(h.account("alice"), payload)
    assert (err.value.status, err.value.code) == (400, "INVALID_ORDER")


def test_not_a_json_object() -> None:
    h = Harness()
    with pytest.raises(SimError) as err:
        h.engine.execute_order(h.account("alice"), ["nope"])  # type: ignore[arg-type]
    assert err.value.status == 400


def test_spot_insufficient_funds() -> None:
    h = Harness()
    poor = h.account("poor", usdc="100")
    with pytest.raises(SimError) as err:
        h.order(
            poor, symbol="SOL_USDC", side="Bid", orderType="Limit", price="140.00", quantity="1.00"
        )
    assert (err.value.code, err.value.message) == ("INSUFFICIENT_FUNDS", "Insufficient funds")
    with pytest.raises(SimError) as err:
        h.order(
            poor, symbol="SOL_USDC", side="Ask", orderType="Limit", price="140.00", quantity="1.00"
        )
    assert err.value.code == "INSUFFICIENT_FUNDS"


def test_margin_counts_open_orders_but_not_risk_reducing_ones() -> None:
    h = Harness()
    alice = h.account("alice", usdc="2000")
    h.engine.update_account(alice, {"leverageLimit": "50"})  # margin binds, not leverage
    # initial margin max(2%, 0.0000935 * sqrt(notional)): 0.5 BTC needs ~1000 USDC,
    # 1 BTC ~2800 USDC
    h.limit(alice, "Bid", "96000.0", "0.50000")
    with pytest.raises(SimError) as err:
        h.limit(alice, "Bid", "96000.0", "0.50000")
    assert err.value.code == "INSUFFICIENT_MARGIN"
    # an ask of the same size does not raise the worst-case exposure
    body = h.limit(alice, "Ask", "98000.0", "0.50000")
    assert body["status"] == "New"


def test_liquidating_flag_is_false_normally() -> None:
    h = Harness()
    alice = h.account("alice")
    assert h.engine.account(alice)["liquidating"] is False
    assert Decimal(h.engine.collateral(alice)["netEquity"]) == Decimal("100000")


json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        ["", "abc", "0", "-1", "1e400", "NaN", "Infinity", "0.01", "96000.0", "50%", "x%", "1e-30"]
    ),
    st.sampled_from(["Bid", "Ask", "Limit", "Market", "GTC", "IOC", "FOK", "MarkPrice", BTC]),
    st.lists(st.integers(), max_size=2),
)
junk_payload = st.dictionaries(
    st.sampled_from(
        [
            "symbol",
            "side",
            "orderType",
            "price",
            "quantity",
            "quoteQuantity",
            "timeInForce",
            "postOnly",
            "reduceOnly",
            "clientId",
            "selfTradePrevention",
            "triggerPrice",
            "triggerQuantity",
            "triggerBy",
            "takeProfitTriggerPrice",
            "stopLossLimitPrice",
        ]
    ),
    json_values,
)


@settings(max_examples=150, deadline=None)
@given(junk_payload)
def test_junk_payloads_never_crash(payload: dict[str, Any]) -> None:
    """Whatever a client sends, the engine answers with an order or a 4xx SimError."""
    h = Harness()
    maker = h.account("maker")
    h.limit(maker, "Ask", "97000.0", "0.01000")
    h.limit(maker, "Bid", "96900.0", "0.01000")
    base = {"symbol": BTC, "side": "Bid", "orderType": "Limit"}
    try:
        body = h.engine.execute_order(h.account("alice"), {**base, **payload})
    except SimError as error:
        assert 400 <= error.status < 500 and error.code and error.message
    else:
        assert body["symbol"] == BTC and body["status"]
    assert not h.engine.books[BTC].crossed()


def test_query_parameters_are_checked() -> None:
    h = Harness()
    alice = h.account("alice")
    engine = h.engine
    calls = [
        lambda: engine.depth(BTC, 0),
        lambda: engine.depth(BTC, "abc"),  # type: ignore[arg-type]
        lambda: engine.trades(BTC, -1),
        lambda: engine.klines(BTC, "2m", 0, None, None),
        lambda: engine.klines(BTC, "1m", "soon", None, None),  # type: ignore[arg-type]
        lambda: engine.klines(BTC, "1m", 0, None, "Weird"),
        lambda: engine.funding_rates(BTC, None, "x"),  # type: ignore[arg-type]
        lambda: engine.order_history(alice, {"limit": "x"}),
        lambda: engine.fill_history(alice, {"fillType": "Nope"}),
        lambda: engine.fill_history(alice, {"sortDirection": "Up"}),
        lambda: engine.get_order(alice, BTC, None, None),
        lambda: engine.cancel_all(alice, BTC, "Everything"),
        lambda: engine.max_order_quantity(alice, {"symbol": BTC, "side": "Buy"}),
        lambda: engine.max_order_quantity(alice, {"symbol": BTC, "side": "Bid", "price": "x"}),
        lambda: engine.open_orders(alice, "NOPE", None),
    ]
    for call in calls:
        with pytest.raises(SimError) as err:
            call()
        assert err.value.status == 400, err.value
    with pytest.raises(SimError) as err:
        engine.capital(999)
    assert err.value.status == 401
    assert engine.depth(BTC, "5")["lastUpdateId"] == "1000000"  # type: ignore[arg-type]
