"""OrderService and close-all against the local exchange over real loopback sockets."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import (
    InvalidOrder,
    OrderRejected,
    ReplaceAborted,
    UnknownOrderOutcome,
)
from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.journal import Journal
from bpx_tui.trading.order import OrderIntent, build_order
from bpx_tui.trading.orders import OrderService
from bpx_tui.trading.risk import DuplicateSubmit, RiskGate, RiskLimits, RiskRejected
from tests.trading.helpers import BTC, SOL, D, eventually, market, order_updates, resting_bid

# ------------------------------------------------------------------ submit


async def test_intent_is_journaled_before_the_request_reaches_the_exchange(
    sim: SimServer,
    client: BackpackClient,
    service: OrderService,
    journal: Journal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str | None] = []
    original = sim.engine.execute_order

    def spy(account_id: int, payload: dict[str, Any]) -> Any:
        entry = journal.entry(payload["clientId"])
        seen.append(entry.state if entry else None)
        return original(account_id, payload)

    monkeypatch.setattr(sim.engine, "execute_order", spy)
    order = await service.submit(resting_bid(client))

    assert seen == ["sent"]  # the journal knew the order before the exchange did
    assert order.status == "New" and order.client_id is not None
    entry = journal.entry(order.client_id)
    assert entry is not None
    assert (entry.state, entry.order_id, entry.status) == ("open", order.id, "New")
    assert entry.payload["clientId"] == order.client_id
    assert D(entry.payload["price"]) == order.price
    resting = await client.rest.open_orders(BTC)
    assert [(o.id, o.client_id) for o in resting] == [(order.id, order.client_id)]
    # the account stream reaches the journal too
    await eventually(lambda: ("update", "New") in journal.events(order.client_id), "stream update")


async def test_risk_rejection_sends_nothing(
    client: BackpackClient, service: OrderService, journal: Journal
) -> None:
    big = resting_bid(client, qty="1")  # ~97,000 USDC > 50,000
    with pytest.raises(RiskRejected) as info:
        await service.submit(big)
    assert info.value.limit == "max_order_notional"
    mark = client.marks[BTC].mark_price
    far = build_order(
        OrderIntent(
            BTC, "Bid", "Limit", quantity=D("0.01"), price=(mark * D("0.9")).quantize(D("0.1"))
        ),
        client.market(BTC),
    )
    with pytest.raises(RiskRejected) as info:
        await service.submit(far)
    assert info.value.limit == "price_band_pct"
    assert journal.entries() == []
    assert await client.rest.open_orders() == []


async def test_stale_mark_blocks_new_risk(client: BackpackClient, journal: Journal) -> None:
    later = OrderService(client, RiskGate(), journal, RiskLimits(), clock=lambda: 1e12)
    with pytest.raises(RiskRejected) as info:
        await later.submit(resting_bid(client))
    assert info.value.limit == "stale_after_s"
    assert journal.entries() == []


async def test_a_repeated_key_sends_one_order(
    client: BackpackClient, service: OrderService
) -> None:
    intent = resting_bid(client)
    results = await asyncio.gather(
        *(service.submit(intent, key="b") for _ in range(5)), return_exceptions=True
    )
    placed = [r for r in results if not isinstance(r, BaseException)]
    assert len(placed) == 1
    assert all(isinstance(r, DuplicateSubmit) for r in results if r not in placed)
    assert len(await client.rest.open_orders()) == 1


async def test_unknown_outcome_is_reconciled_before_the_next_order(
    sim: SimServer, client: BackpackClient, journal: Journal
) -> None:
    # The order is accepted and filled, the answer is a 503, and the history stays rate
    # limited for as long as the request could still execute: nothing can tell. (The
    # journal is not attached to the stream here, which would otherwise settle it.)
    service = OrderService(client, RiskGate(), journal, RiskLimits())
    assert client.signer is not None
    client.signer.window = 300
    service.dispatch.grace_ms = 0
    service.dispatch.settle_waits = (0.05,)
    sim.fail_next_order("error", 503)
    sim.throttle(10_000, "/wapi/v1/history", retry_after=0.01)
    with pytest.raises(UnknownOrderOutcome) as info:
        await service.submit(market(client, BTC, "Bid", "0.01"))
    lost = info.value.client_id
    assert lost is not None
    assert journal.entry(lost).state == "unknown"  # type: ignore[union-attr]
    assert service.gate.blocked(BTC)

    # Still no answer: new risk on that market is refused, nothing is sent.
    with pytest.raises(RiskRejected) as refused:
        await service.submit(resting_bid(client))
    assert refused.value.limit == "unresolved_order"
    assert await client.rest.open_orders() == []

    # The exchange answers again: the next submit settles the lost order first.
    sim.faults.clear()
    order = await service.submit(resting_bid(client))
    entry = journal.entry(lost)
    assert entry is not None
    assert (entry.state, entry.status) == ("done", "Filled")
    assert ("reconcile", "done") in journal.events(lost)
    assert not service.gate.blocked(BTC)
    assert order.status == "New"


async def test_a_lost_answer_is_settled_by_the_lookup_not_reported_lost(
    sim: SimServer, client: BackpackClient, service: OrderService, journal: Journal
) -> None:
    """A 503 after the exchange accepted the order: the lookup finds it, the trader gets
    the order, the journal records it found, and the market is not blocked."""
    sim.fail_next_order("error", 503)
    order = await service.submit(market(client, BTC, "Bid", "0.01"))
    assert order.status == "Filled" and order.client_id is not None
    entry = journal.entry(order.client_id)
    assert entry is not None and (entry.state, entry.status) == ("done", "Filled")
    assert [kind for kind, _ in journal.events(order.client_id)][:2] == ["intent", "error"]
    assert not service.gate.blocked(BTC)


# ------------------------------------------------------------------ closing


async def test_close_position_is_sized_from_the_exchange_not_the_cache(
    client: BackpackClient, service: OrderService, journal: Journal
) -> None:
    await service.submit(market(client, BTC, "Bid", "0.02"))
    await client.refresh_account()
    stale = client.positions[BTC]
    client.positions[BTC] = type(stale).from_api({**stale.raw, "netQuantity": "5"})  # a lie

    close = await service.close_position(BTC)

    assert close is not None
    assert (close.side, close.quantity, close.reduce_only) == ("Ask", D("0.02"), True)
    assert await client.rest.positions(BTC) == []
    assert close.client_id is not None
    assert journal.entry(close.client_id).payload["reduceOnly"] is True  # type: ignore[union-attr]
    assert await service.close_position(BTC) is None  # already flat


async def test_close_all_cancels_closes_and_verifies_flat(
    client: BackpackClient, service: OrderService, journal: Journal
) -> None:
    await service.submit(resting_bid(client, BTC))
    await service.submit(resting_bid(client, BTC, "0.02"))
    await service.submit(resting_bid(client, SOL, "1"))
    await service.submit(market(client, BTC, "Bid", "0.03"))
    await service.submit(market(client, SOL, "Ask", "2"))
    service.gate.halt("operator")

    report = await service.close_all()

    assert report.flat and report.verified, report.summary()
    assert len(report.cancelled) == 3
    assert {(o.symbol, o.side, o.quantity) for o in report.closes} == {
        (BTC, "Ask", D("0.03")),
        (SOL, "Bid", D("2")),
    }
    assert all(o.reduce_only and o.status == "Filled" for o in report.closes)
    assert await client.rest.open_orders() == []
    assert await client.rest.positions() == []
    assert report.lines()[0] == "cancelled 3 order(s)"
    assert "verified flat" in report.summary()
    assert service.gate.halt_reason == "operator"  # restored, not cleared


async def test_close_all_on_a_flat_account(service: OrderService) -> None:
    report = await service.close_all()
    assert report.flat
    assert (report.cancelled, report.closes, report.checks) == ([], [], 1)
    assert not service.gate.halted


async def test_close_all_reports_what_is_still_open_and_why(
    sim: SimServer, client: BackpackClient, service: OrderService
) -> None:
    await service.submit(market(client, BTC, "Bid", "0.01"))
    # Another trader empties the bid side: a market sell has nothing to hit.
    whale_account = sim.create_account(usdc=D(100_000_000))
    async with RestClient(sim.rest_url, Signer(whale_account.api_secret)) as whale:
        depth = await whale.depth(BTC)
        size = sum(D(q) for _, q in depth["bids"])
        await whale.execute_order(
            {"symbol": BTC, "side": "Ask", "orderType": "Market", "quantity": str(size)}
        )

    report = await service.close_all()

    assert not report.flat and report.verified
    assert [p.symbol for p in report.open_positions] == [BTC]
    assert report.closes and all(o.status == "Expired" for o in report.closes)
    assert len(report.closes) == 1 + len(service.flat_waits)  # retried on every check
    assert "ended Expired" in report.problems[BTC]
    assert any(
        line.startswith(f"STILL OPEN {BTC} 0.01") and "ended Expired" in line
        for line in report.lines()
    )
    assert not service.gate.halted


async def test_fills_reach_the_journal_from_the_stream(
    client: BackpackClient, service: OrderService, journal: Journal
) -> None:
    order = await service.submit(market(client, BTC, "Bid", "0.01"))
    await eventually(lambda: bool(journal.fills()), "the fill")
    fills = journal.fills()
    assert sum(f.quantity for f in fills) == D("0.01")
    assert {f.order_id for f in fills} == {order.id}
    assert journal.fills_summary()[0].symbol == BTC


async def test_precheck_refuses_without_sending(
    client: BackpackClient, service: OrderService, journal: Journal
) -> None:
    service.precheck(resting_bid(client))
    with pytest.raises(RiskRejected):
        service.precheck(resting_bid(client, qty="10"))
    assert journal.entries() == []
    assert await client.rest.open_orders() == []


async def test_without_credentials_nothing_is_journaled_or_sent(
    sim: SimServer, journal: Journal
) -> None:
    async with BackpackClient(sim.rest_url, sim.ws_url) as anonymous:
        await anonymous.start([BTC])
        await eventually(lambda: anonymous.books[BTC].synced, "book", sim)
        service = OrderService(anonymous, RiskGate(), journal, RiskLimits())
        with pytest.raises(InvalidOrder, match="no API key configured"):
            await service.submit(resting_bid(anonymous))
    assert journal.entries() == []


# ---------------------------------------------------------------------- moving an order


async def test_a_move_cancels_first_then_places_one_order_linked_to_the_old(
    sim: SimServer, client: BackpackClient, service: OrderService, journal: Journal
) -> None:
    original = await service.submit(resting_bid(client))
    seen = order_updates(client)
    tick = client.market(BTC).tick_size
    assert original.price is not None
    moved = await service.move(original, original.price + 3 * tick)
    assert moved.id != original.id and moved.price == original.price + 3 * tick
    assert moved.quantity == original.quantity
    resting = sim.engine.open_orders(sim.demo.account_id, BTC, None)
    assert [(o["id"], o["price"]) for o in resting] == [(moved.id, str(moved.price))]
    assert moved.client_id is not None and journal.replaced(moved.client_id) == original.id
    await eventually(lambda: (moved.id, "New") in seen, "the new order's update", sim)
    # never two live orders: the old one's cancel came before the new one existed
    assert seen.index((original.id, "Cancelled")) < seen.index((moved.id, "New"))


async def test_a_refused_replacement_says_the_original_was_cancelled(
    sim: SimServer, client: BackpackClient, service: OrderService, journal: Journal
) -> None:
    post_only = build_order(replace(resting_bid(client).terms, post_only=True), client.market(BTC))
    original = await service.submit(post_only)
    best_ask = client.books[BTC].best_ask_price()
    assert best_ask is not None
    with pytest.raises(OrderRejected, match="immediately match"):
        await service.move(original, best_ask)  # a post-only bid at the ask would take
    assert sim.engine.open_orders(sim.demo.account_id, BTC, None) == []
    history = {o["id"]: o["status"] for o in sim.engine.order_history(sim.demo.account_id, {})}
    assert history[original.id] == "Cancelled"
    entry = journal.entries(limit=1)[0]
    assert entry.state == "rejected" and journal.replaced(entry.client_id) == original.id


async def test_a_move_whose_cancel_fails_places_nothing(
    sim: SimServer, client: BackpackClient, service: OrderService, journal: Journal
) -> None:
    original = await service.submit(resting_bid(client))
    await client.cancel_order(BTC, original.id)  # gone already (another screen, a script)
    assert original.price is not None
    with pytest.raises(ReplaceAborted, match="could not be cancelled"):
        await service.move(original, original.price + client.market(BTC).tick_size)
    assert sim.engine.open_orders(sim.demo.account_id, BTC, None) == []
    assert journal.entries(limit=1)[0].state == "rejected"
