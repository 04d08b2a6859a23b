"""Generated bad values at every number field of every order and query route, over loopback.

Each example replaces one field of an otherwise valid request with a value Backpack
refuses (huge exponents, NaN/Infinity, non-ASCII digits, whitespace, huge integers,
wrong JSON types, nested objects, empty strings, negative numbers) and asserts: a 4xx
Backpack error body, an answer within a generous bound, and no change to the
account's orders, balances, positions or history. One server serves all examples of
a test, which is the point: it must still be intact after every one of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.server import SimServer
from tests.sim.hostile import SYMBOL, Answer, Hostile, account_state, passive_price, resting_bid

BOUND_S = 5.0
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ---------------------------------------------------------------------- bad values

ascii_number = st.from_regex(r"[0-9]{1,6}(\.[0-9]{1,4})?", fullmatch=True)
non_ascii_digit = st.characters(categories=["Nd"], exclude_characters="0123456789")
bad_text = st.one_of(
    st.builds(lambda m, e: f"{m}e{e}", ascii_number, st.integers(-(10**6), 10**6)),
    st.builds(lambda m, e: f"{m}E+{e}", ascii_number, st.integers(0, 10**6)),
    st.sampled_from(["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e999999"]),
    st.builds(lambda ds: "".join(ds), st.lists(non_ascii_digit, min_size=1, max_size=4)),
    st.builds(
        lambda n, pad: pad[0] + n + pad[1],
        ascii_number,
        st.sampled_from([(" ", ""), ("", " "), ("\t", ""), ("", "\n"), ("\u00a0", "")]),
    ),
    st.builds(lambda n: "9" * n, st.integers(41, 6000)),
    st.sampled_from(["", ".", "-", "+1", "1.2.3", "0x10", "1_000", "١.٥"]),
    st.builds(lambda n: "-" + n, ascii_number.filter(lambda n: float(n) != 0)),
)
bad_json = st.one_of(
    bad_text,
    st.booleans(),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.sampled_from(["a", "price"]), st.integers(0, 9), min_size=1, max_size=2),
    st.just({"nested": {"deeper": [1, {"x": "0.1"}]}}),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    st.floats(min_value=1e41, max_value=1e300),
    st.integers(10**41, 10**60),
    st.integers(-(10**6), -1),
)
"""Values no number field may accept, in a JSON body."""

bad_integer_text = st.one_of(
    bad_text,
    st.builds(lambda n: "1" * n, st.integers(21, 6000)),
    st.sampled_from(["1.0", "1.5", "1e3"]),
)

# ---------------------------------------------------------------------- fixtures


@pytest.fixture
async def resting() -> AsyncIterator[tuple[SimServer, aiohttp.ClientSession, Hostile, str]]:
    """A server whose demo account has a resting order (clientId 42) and a passive price."""
    server = SimServer(SimConfig(seed=7), rate=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            hostile = Hostile(session, server, server.demo.api_secret)
            price = await passive_price(hostile)
            placed = await hostile.send(
                "POST", "/api/v1/order", body=resting_bid(price, clientId=42)
            )
            assert placed.status == 200, placed
            yield server, session, hostile, price
    finally:
        await server.stop()


def _assert_refused(answer: Answer) -> None:
    assert answer.is_client_error(), answer
    assert answer.seconds < BOUND_S, answer


async def _unchanged(server: SimServer, send: Any) -> Answer:
    before = account_state(server, server.demo.account_id)
    answer: Answer = await asyncio.wait_for(send, BOUND_S * 2)
    assert account_state(server, server.demo.account_id) == before, answer
    return answer


# ---------------------------------------------------------------------- order bodies

ORDER_FIELDS: dict[str, dict[str, Any]] = {
    # field -> valid companions that make the field matter
    "price": {},
    "quantity": {},
    "clientId": {},
    "quoteQuantity": {"orderType": "Market", "price": None, "quantity": None},
    "triggerPrice": {"triggerQuantity": "0.001"},
    "triggerQuantity": {"triggerPrice": "90000"},
    "takeProfitTriggerPrice": {},
    "takeProfitLimitPrice": {"takeProfitTriggerPrice": "120000"},
    "stopLossTriggerPrice": {},
    "stopLossLimitPrice": {"stopLossTriggerPrice": "80000"},
}


def _bad_order(passive: str, field: str, value: Any) -> dict[str, Any]:
    body = resting_bid(passive, **ORDER_FIELDS[field])
    body[field] = value
    return {k: v for k, v in body.items() if v is not None or k == field}


@FUZZ
@given(field=st.sampled_from(sorted(ORDER_FIELDS)), value=bad_json, batch=st.booleans())
async def test_bad_order_fields_are_refused_and_change_nothing(
    resting: tuple[SimServer, aiohttp.ClientSession, Hostile, str],
    field: str,
    value: Any,
    batch: bool,
) -> None:
    server, _, hostile, price = resting
    bad = _bad_order(price, field, value)
    if batch:  # a good order first: the whole batch must still be refused
        send = hostile.send("POST", "/api/v1/orders", body=[resting_bid(price, clientId=7), bad])
    else:
        send = hostile.send("POST", "/api/v1/order", body=bad)
    _assert_refused(await _unchanged(server, send))


@FUZZ
@given(field=st.sampled_from(["clientId", "orderId"]), value=bad_json, query=st.booleans())
async def test_bad_order_references_are_refused_and_change_nothing(
    resting: tuple[SimServer, aiohttp.ClientSession, Hostile, str],
    field: str,
    value: Any,
    query: bool,
) -> None:
    server, _, hostile, _ = resting
    if query:
        text = value if isinstance(value, str) else str(value)[:100]
        send = hostile.send("GET", "/api/v1/order", query={"symbol": SYMBOL, field: text})
    else:
        send = hostile.send("DELETE", "/api/v1/order", body={"symbol": SYMBOL, field: value})
    _assert_refused(await _unchanged(server, send))


# ---------------------------------------------------------------------- query strings

QUERY_ROUTES: list[tuple[str, dict[str, str], tuple[str, ...]]] = [
    ("/wapi/v1/history/orders", {}, ("limit", "offset")),
    ("/wapi/v1/history/fills", {}, ("limit", "offset", "from", "to")),
    ("/wapi/v1/history/funding", {}, ("limit", "offset")),
    ("/api/v1/account/limits/order", {"symbol": SYMBOL, "side": "Bid"}, ("price",)),
    ("/api/v1/depth", {"symbol": SYMBOL}, ("limit",)),
    ("/api/v1/trades", {"symbol": SYMBOL}, ("limit",)),
    ("/api/v1/trades/history", {"symbol": SYMBOL}, ("limit", "offset")),
    (
        "/api/v1/klines",
        {"symbol": SYMBOL, "interval": "1m", "startTime": "1"},
        ("startTime", "endTime"),
    ),
    ("/api/v1/fundingRates", {"symbol": SYMBOL}, ("limit", "offset")),
]
QUERY_FIELDS = [(path, base, field) for path, base, fields in QUERY_ROUTES for field in fields]
DECIMAL_QUERY_FIELDS = frozenset({"price"})


@FUZZ
@given(route=st.sampled_from(QUERY_FIELDS), data=st.data())
async def test_bad_query_numbers_are_refused_and_change_nothing(
    resting: tuple[SimServer, aiohttp.ClientSession, Hostile, str],
    route: tuple[str, dict[str, str], str],
    data: st.DataObject,
) -> None:
    server, _, hostile, _ = resting
    path, base, field = route
    value = data.draw(bad_text if field in DECIMAL_QUERY_FIELDS else bad_integer_text)
    send = hostile.send("GET", path, query={**base, field: value})
    _assert_refused(await _unchanged(server, send))
