"""Pre-trade checks: each limit refuses with its own message; reducing orders pass."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpx_tui.exchange.book import OrderBook
from bpx_tui.exchange.models import Market
from bpx_tui.trading.order import NewOrder, OrderIntent, build_order
from bpx_tui.trading.risk import (
    DuplicateSubmit,
    MarketSnapshot,
    RiskGate,
    RiskLimits,
    RiskRejected,
    check,
    is_reducing,
)
from tests.conftest import load_fixture

D = Decimal
SYMBOL = "BTC_USDC_PERP"
MARKET = next(
    Market.from_api(m) for m in load_fixture("rest_markets.json") if m["symbol"] == SYMBOL
)
LIMITS = RiskLimits()


def make_book() -> OrderBook:
    """Mark 100: asks 100.0 x1, 100.5 x1, 102.0 x5; bids 99.9 x1, 99.5 x1, 97.0 x5."""
    book = OrderBook(SYMBOL)
    assert book.on_snapshot(
        {
            "lastUpdateId": "10",
            "asks": [["100.0", "1"], ["100.5", "1"], ["102.0", "5"]],
            "bids": [["97.0", "5"], ["99.5", "1"], ["99.9", "1"]],
        }
    )
    return book


def snap(**changes: object) -> MarketSnapshot:
    base = MarketSnapshot(
        market=MARKET,
        mark_price=D(100),
        mark_age_s=0.5,
        book_synced=True,
        book=make_book(),
        position_quantity=D(0),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def built(intent: OrderIntent) -> NewOrder:
    return build_order(intent, MARKET)


def limit(side: str = "Bid", qty: str = "1", price: str = "100", **kw: object) -> NewOrder:
    return built(OrderIntent(SYMBOL, side, "Limit", quantity=D(qty), price=D(price), **kw))  # type: ignore[arg-type]


def market(side: str = "Bid", qty: str = "1", **kw: object) -> NewOrder:
    return built(OrderIntent(SYMBOL, side, "Market", quantity=D(qty), **kw))  # type: ignore[arg-type]


def quoted(side: str, amount: int) -> NewOrder:
    return built(OrderIntent(SYMBOL, side, "Market", quote_quantity=D(amount)))  # type: ignore[arg-type]


def rejected(intent: NewOrder, snapshot: MarketSnapshot, **kw: object) -> RiskRejected:
    with pytest.raises(RiskRejected) as info:
        check(intent, snapshot, kw.pop("limits", LIMITS), **kw)  # type: ignore[arg-type]
    assert str(info.value) == info.value.reason
    return info.value


# ------------------------------------------------------------------ passing orders


def test_plain_orders_pass() -> None:
    check(limit(), snap(), LIMITS)
    check(limit("Ask", "2", "101"), snap(), LIMITS)
    check(market("Bid", "1.5"), snap(), LIMITS)
    check(market("Ask", "1"), snap(), LIMITS)
    check(quoted("Bid", 150), snap(), LIMITS)


# ------------------------------------------------------------------ each limit


def test_max_order_notional() -> None:
    error = rejected(limit(qty="600"), snap())
    assert error.limit == "max_order_notional"
    assert "order notional 60,000.00 is above the limit of 50,000.00" in error.reason


def test_max_order_notional_for_quote_sized_market_order() -> None:
    intent = quoted("Bid", 600)
    limits = RiskLimits(max_order_notional=D(500))
    error = rejected(intent, snap(book=_deep_book()), limits=limits)
    assert error.limit == "max_order_notional"
    assert "600.00" in error.reason


def _deep_book() -> OrderBook:
    book = OrderBook(SYMBOL)
    book.on_snapshot({"lastUpdateId": "1", "asks": [["100.0", "1000"]], "bids": [["99.9", "1000"]]})
    return book


def test_max_position_notional_counts_the_existing_position() -> None:
    snapshot = snap(position_quantity=D(2400))  # 240,000 long at mark 100
    check(limit(qty="100"), snapshot, LIMITS)  # -> 250,000: at the limit, allowed
    error = rejected(limit(qty="200"), snapshot)
    assert error.limit == "max_position_notional"
    assert "the position would be 260,000.00 notional after this order" in error.reason
    assert "limit of 250,000.00" in error.reason


def test_flipping_through_zero_is_new_risk() -> None:
    snapshot = snap(position_quantity=D(-1))
    intent = limit("Bid", "3000", "100")  # buys back 1 and opens 2999 long
    assert not is_reducing(intent, snapshot)
    assert rejected(intent, snapshot).limit == "max_order_notional"


def test_price_band_around_mark() -> None:
    check(limit("Bid", "1", "95"), snap(), LIMITS)  # exactly 5 %
    error = rejected(limit("Bid", "1", "94"), snap())
    assert error.limit == "price_band_pct"
    assert "limit price 94 is 6.00 % from mark 100 (band 5.00 %)" in error.reason
    assert rejected(limit("Ask", "1", "105.1"), snap()).limit == "price_band_pct"


def test_market_slippage_cap_walks_the_book() -> None:
    # 1 @ 100 + 1 @ 100.5 + 5 @ 102 -> average 101.5: 1.5 % from mark.
    error = rejected(market("Bid", "7"), snap())
    assert error.limit == "max_slippage_pct"
    assert "estimated slippage 1.50 %" in error.reason
    assert "worst 102.0" in error.reason
    assert "cap of 1.00 %" in error.reason
    check(market("Bid", "7"), snap(), RiskLimits(max_slippage_pct=D(2)))


def test_thin_book_is_a_rejection() -> None:
    error = rejected(market("Ask", "8"), snap())
    assert error.limit == "max_slippage_pct"
    assert "the book is too thin: only 7 of 8 available on the bid side" in error.reason


def test_orders_without_a_live_book_are_refused() -> None:
    for intent in (market(), limit()):
        error = rejected(intent, snap(book=None))
        assert error.limit == "stale_after_s"
        assert "no live order book (is the market watched?)" in error.reason


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"book_synced": False}, "the order book is resyncing"),
        ({"mark_price": None}, "no mark price yet"),
        ({"mark_age_s": 6.0}, "the mark price is stale (6.0 s old, limit 5 s)"),
        ({"mark_age_s": None}, "the mark price is stale (unknown old"),
    ],
)
def test_stale_data_blocks_new_risk(changes: dict[str, object], text: str) -> None:
    for intent in (limit(), market()):
        error = rejected(intent, snap(**changes))
        assert error.limit == "stale_after_s"
        assert text in error.reason


def test_stale_threshold_comes_from_the_limits() -> None:
    check(limit(), snap(mark_age_s=6.0), RiskLimits(stale_after_s=10))


def test_kill_switch_blocks_new_risk() -> None:
    error = rejected(limit(), snap(), halted="operator pressed K")
    assert error.limit == "kill_switch"
    assert "trading is halted: operator pressed K" in error.reason


# ------------------------------------------------------------------ reducing orders


def test_reducing_orders_pass_notional_stale_and_kill_checks() -> None:
    long = D(5000)  # 500,000 notional: far above every limit
    worst = snap(
        position_quantity=long, book_synced=False, mark_price=None, mark_age_s=None, book=None
    )
    check(market("Ask", "5000"), worst, LIMITS, halted="kill")
    check(market("Ask", "1000"), worst, LIMITS, halted="kill")
    short = replace(worst, position_quantity=-long)
    check(market("Bid", "5000"), short, LIMITS, halted="kill")
    # reduce-only is reducing whatever the cached position says (the exchange enforces it)
    check(market("Bid", "10", reduce_only=True), snap(book=None, mark_price=None), LIMITS)


def test_reducing_market_order_skips_the_slippage_cap() -> None:
    check(market("Ask", "7"), snap(position_quantity=D(7)), LIMITS)


def test_reducing_limit_orders_still_respect_the_band() -> None:
    error = rejected(limit("Ask", "1", "80"), snap(position_quantity=D(3)))
    assert error.limit == "price_band_pct"


def test_is_reducing() -> None:
    long, short, flat = snap(position_quantity=D(2)), snap(position_quantity=D(-2)), snap()
    assert is_reducing(market("Ask", "2"), long)
    assert is_reducing(market("Ask", "1"), long)
    assert not is_reducing(market("Ask", "2.1"), long)
    assert not is_reducing(market("Bid", "1"), long)
    assert is_reducing(market("Bid", "2"), short)
    assert not is_reducing(market("Ask", "1"), short)
    assert not is_reducing(market("Ask", "1"), flat)
    assert is_reducing(market("Ask", "1", reduce_only=True), flat)
    quote = quoted("Ask", 150)  # 1.5 at mark 100
    assert is_reducing(quote, long)
    assert not is_reducing(quote, snap(position_quantity=D(1)))


@given(
    position=st.decimals(min_value=D("0.001"), max_value=D(100000), places=3),
    fraction=st.decimals(min_value=D("0.001"), max_value=D(1), places=3),
    long=st.booleans(),
)
def test_any_partial_close_passes_even_halted_and_stale(
    position: Decimal, fraction: Decimal, long: bool
) -> None:
    quantity = max(D("0.001"), (position * fraction).quantize(D("0.001")))
    quantity = min(quantity, position)
    snapshot = snap(
        position_quantity=position if long else -position, book_synced=False, mark_age_s=99.0
    )
    check(market("Ask" if long else "Bid", str(quantity)), snapshot, LIMITS, halted="x")


# ------------------------------------------------------------------ the gate


def test_gate_kill_switch_and_resume() -> None:
    gate = RiskGate()
    gate.check(limit(), snap(), LIMITS)
    gate.halt("too many losses")
    assert gate.halted and gate.halt_reason == "too many losses"
    with pytest.raises(RiskRejected) as info:
        gate.check(limit(), snap(), LIMITS)
    assert info.value.limit == "kill_switch"
    gate.check(market("Ask", "1"), snap(position_quantity=D(1)), LIMITS)  # closes still go
    gate.resume()
    assert not gate.halted
    gate.check(limit(), snap(), LIMITS)


def test_gate_blocks_a_market_with_an_unresolved_order() -> None:
    gate = RiskGate()
    gate.block(SYMBOL, "order 7 has an unknown outcome")
    assert gate.blocked(SYMBOL) == "order 7 has an unknown outcome"
    with pytest.raises(RiskRejected) as info:
        gate.check(limit(), snap(), LIMITS)
    assert info.value.limit == "unresolved_order"
    assert "order 7 has an unknown outcome" in info.value.reason
    gate.check(market("Ask", "1"), snap(position_quantity=D(1)), LIMITS)
    gate.unblock(SYMBOL)
    gate.check(limit(), snap(), LIMITS)


async def test_duplicate_submit_guard() -> None:
    gate = RiskGate()
    async with gate.submitting("b"):
        assert gate.in_flight("b")
        with pytest.raises(DuplicateSubmit, match="already being sent"):
            async with gate.submitting("b"):
                pytest.fail("a second submit ran")
        async with gate.submitting("s"):  # another key is independent
            pass
    assert not gate.in_flight("b")
    async with gate.submitting("b"):  # free again afterwards
        pass


async def test_duplicate_guard_under_concurrent_key_repeat() -> None:
    gate = RiskGate()
    release = asyncio.Event()
    sent: list[int] = []

    async def press(n: int) -> None:
        async with gate.submitting("Enter"):
            sent.append(n)
            await release.wait()

    first = asyncio.create_task(press(1))
    await asyncio.sleep(0)
    results = await asyncio.gather(*(press(n) for n in range(2, 12)), return_exceptions=True)
    assert all(isinstance(r, DuplicateSubmit) for r in results)
    release.set()
    await first
    assert sent == [1]
    assert not gate.in_flight("Enter")


async def test_guard_is_released_when_the_submit_fails() -> None:
    gate = RiskGate()
    with pytest.raises(RuntimeError):
        async with gate.submitting("b"):
            raise RuntimeError("boom")
    assert not gate.in_flight("b")


def test_a_fill_estimate_callable_can_stand_in_for_the_book() -> None:
    book = make_book()
    check(market("Bid", "1.5"), snap(book=book.estimate_fill), LIMITS)
    assert rejected(market("Bid", "7"), snap(book=book.estimate_fill)).limit == "max_slippage_pct"
