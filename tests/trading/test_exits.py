"""Exits of a live position against the local exchange over real loopback sockets:
attaching a take-profit / stop-loss, replacing it, moving a trigger order a tick, and
close-all leaving no trigger behind. The exchange's own state is the witness."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.exchange.errors import InvalidOrder
from bpx_tui.exchange.models import Order, Position
from bpx_tui.sim.server import SimServer
from bpx_tui.trading.exits import position_exits
from bpx_tui.trading.order import Exit
from bpx_tui.trading.orders import OrderService
from tests.trading.helpers import BTC, D, eventually, market, order_updates, resting_bid


def exchange_orders(sim: SimServer, symbol: str = BTC) -> list[dict[str, Any]]:
    """The demo account's open orders as the exchange holds them (not our cache)."""
    return list(sim.engine.open_orders(sim.demo.account_id, symbol, None))


def history(sim: SimServer) -> dict[str, str]:
    return {o["id"]: o["status"] for o in sim.engine.order_history(sim.demo.account_id, {})}


def mark(client: BackpackClient) -> Decimal:
    return client.marks[BTC].mark_price


def at(client: BackpackClient, fraction: str) -> Decimal:
    """The mark moved by ``fraction`` (``"0.02"``: 2 % up), on the tick."""
    return client.market(BTC).round_price(mark(client) * (1 + D(fraction)), "nearest")


async def long_with_exits(client: BackpackClient, service: OrderService) -> Position:
    """A filled 0.02 long with a market take-profit 2 % up and a stop-loss 2 % down."""
    entry = market(
        client,
        BTC,
        "Bid",
        "0.02",
        take_profit=Exit(at(client, "0.02")),
        stop_loss=Exit(at(client, "-0.02")),
    )
    await service.submit(entry)
    await client.refresh_account()
    return client.positions[BTC]


async def test_attach_places_one_reduce_only_trigger_and_replaces_the_old_one(
    sim: SimServer, client: BackpackClient, service: OrderService
) -> None:
    await service.submit(market(client, BTC, "Bid", "0.03"))
    first = await service.attach_exit(BTC, "tp", lambda p: at(client, "0.01"), "MarkPrice")
    [row] = exchange_orders(sim)
    assert row["id"] == first.order.id and row["status"] == "TriggerPending"
    assert (row["side"], row["reduceOnly"], row["triggerQuantity"]) == ("Ask", True, "0.03000")
    assert D(row["triggerPrice"]) == at(client, "0.01") and row["triggerBy"] == "MarkPrice"
    assert first.replaced == [] and first.problems == []

    second = await service.attach_exit(BTC, "tp", lambda p: at(client, "0.02"))
    [row] = exchange_orders(sim)  # replaced, not stacked
    assert row["id"] == second.order.id and D(row["triggerPrice"]) == at(client, "0.02")
    assert [o.id for o in second.replaced] == [first.order.id]
    assert history(sim)[first.order.id] == "Cancelled"

    stop = await service.attach_exit(BTC, "sl", lambda p: at(client, "-0.01"))
    ids = {o["id"] for o in exchange_orders(sim)}
    assert ids == {second.order.id, stop.order.id}  # a stop-loss leaves the take-profit be
    await client.refresh_account()
    exits = position_exits(client.open_orders.values(), client.positions[BTC], mark(client))
    assert ([o.id for o in exits.tp], [o.id for o in exits.sl]) == (
        [second.order.id],
        [stop.order.id],
    )


async def test_attach_is_measured_from_the_real_entry_and_sized_to_the_real_position(
    sim: SimServer, client: BackpackClient, service: OrderService
) -> None:
    await service.submit(market(client, BTC, "Ask", "0.02"))
    seen: list[Position] = []

    def two_percent_down(position: Position) -> Decimal:
        seen.append(position)
        return client.market(BTC).round_price(position.entry_price * D("0.98"), "nearest")

    placed = await service.attach_exit(BTC, "tp", two_percent_down)
    [position] = seen
    assert position.net_quantity == D("-0.02")
    [row] = exchange_orders(sim)
    assert (row["side"], row["triggerQuantity"]) == ("Bid", "0.02000")  # a short buys back
    assert D(row["triggerPrice"]) == two_percent_down(position) == placed.order.trigger_price


async def test_attach_refuses_without_a_position_or_on_the_wrong_side_of_mark(
    sim: SimServer, client: BackpackClient, service: OrderService
) -> None:
    with pytest.raises(InvalidOrder, match="no open position"):
        await service.attach_exit(BTC, "sl", lambda p: at(client, "-0.01"))
    await service.submit(market(client, BTC, "Bid", "0.01"))
    with pytest.raises(InvalidOrder, match="take-profit on a long must be above the mark"):
        await service.attach_exit(BTC, "tp", lambda p: at(client, "-0.01"))
    with pytest.raises(InvalidOrder, match="stop-loss on a long must be below the mark"):
        await service.attach_exit(BTC, "sl", lambda p: at(client, "0.01"))
    assert exchange_orders(sim) == []  # nothing was sent


async def test_moving_a_stop_loss_cancels_it_then_places_it_one_tick_away(
    sim: SimServer, client: BackpackClient, service: OrderService
) -> None:
    position = await long_with_exits(client, service)
    exits = position_exits(client.open_orders.values(), position, mark(client))
    [stop] = exits.sl
    [take] = exits.tp
    assert stop.trigger_price is not None
    seen = order_updates(client)
    tick = client.market(BTC).tick_size

    moved = await service.move(stop, stop.trigger_price + tick)

    rows = {o["id"]: o for o in exchange_orders(sim)}
    assert set(rows) == {take.id, moved.id}  # the old stop is gone, the take-profit stays
    row = rows[moved.id]
    assert D(row["triggerPrice"]) == stop.trigger_price + tick
    assert (row["side"], row["reduceOnly"], row["status"]) == ("Ask", True, "TriggerPending")
    assert row["triggerQuantity"] == stop.trigger_quantity == "0.02000"
    assert history(sim)[stop.id] == "Cancelled"
    await eventually(lambda: (moved.id, "TriggerPending") in seen, "the new stop", sim)
    assert seen.index((stop.id, "Cancelled")) < seen.index((moved.id, "TriggerPending"))


async def test_a_stop_sized_as_a_share_of_the_position_is_not_moved(
    sim: SimServer, client: BackpackClient, service: OrderService
) -> None:
    await service.submit(market(client, BTC, "Bid", "0.02"))
    await client.submit(
        {
            "symbol": BTC,
            "side": "Ask",
            "orderType": "Market",
            "triggerPrice": format(at(client, "-0.02"), "f"),
            "triggerQuantity": "50%",
            "reduceOnly": True,
        }
    )
    await client.refresh_account()
    [half] = [o for o in client.open_orders.values() if o.is_trigger]
    assert half.trigger_price is not None
    with pytest.raises(InvalidOrder, match="50%"):
        await service.move(half, half.trigger_price + client.market(BTC).tick_size)
    assert [o["id"] for o in exchange_orders(sim)] == [half.id]  # nothing was cancelled


@pytest.mark.parametrize("covers_triggers", [True, False], ids=["cancel-all", "by-id"])
async def test_close_all_leaves_no_trigger_behind(
    sim: SimServer,
    client: BackpackClient,
    service: OrderService,
    monkeypatch: pytest.MonkeyPatch,
    covers_triggers: bool,
) -> None:
    """Flat means no order and no trigger on the exchange, whether its cancel-all
    covers pending triggers or (as live Backpack may) only resting ones."""
    await long_with_exits(client, service)
    await service.submit(resting_bid(client))
    stop_entry = market(client, BTC, "Bid", "0.01", trigger_price=at(client, "0.03"))
    await service.submit(stop_entry)
    assert len([o for o in exchange_orders(sim) if o["triggerPrice"]]) == 3
    if not covers_triggers:
        original = sim.engine.cancel_all

        def resting_only(account_id: int, symbol: str, order_type: str | None) -> Any:
            return original(account_id, symbol, order_type or "RestingLimitOrder")

        monkeypatch.setattr(sim.engine, "cancel_all", resting_only)

    report = await service.close_all()

    assert report.flat and report.verified, report.summary()
    assert exchange_orders(sim) == [] and sim.engine.positions(sim.demo.account_id, None) == []
    assert await client.rest.open_orders() == []  # GET /api/v1/orders: nothing left
    assert sum(1 for o in report.cancelled if o.is_trigger) == 3
    assert "3 of them trigger orders" in report.lines()[0]


async def test_close_all_names_a_trigger_it_could_not_cancel(
    sim: SimServer,
    client: BackpackClient,
    service: OrderService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trigger that survives every cancel is reported with its price, not hidden."""
    stop_entry = market(client, BTC, "Bid", "0.01", trigger_price=at(client, "0.03"))
    placed = await service.submit(stop_entry)
    monkeypatch.setattr(sim.engine, "cancel_all", lambda account, symbol, kind: [])

    def refuse(*args: Any) -> Order:
        raise InvalidOrder("the exchange refused the cancel")

    monkeypatch.setattr(client, "cancel_order", refuse)

    report = await service.close_all()

    assert not report.flat and report.verified
    assert [o.id for o in report.open_orders] == [placed.id]
    assert any(
        line.startswith(f"STILL RESTING {BTC} trigger order {placed.id} @ ")
        and "not cancelled" in line
        for line in report.lines()
    )


async def test_a_stop_moved_across_the_mark_is_refused_before_anything_is_cancelled(
    sim: SimServer, client: BackpackClient, service: OrderService
) -> None:
    position = await long_with_exits(client, service)
    [stop] = position_exits(client.open_orders.values(), position, mark(client)).sl
    before = {o["id"] for o in exchange_orders(sim)}
    with pytest.raises(InvalidOrder, match="stop-loss on a long must be below the mark"):
        await service.move(stop, at(client, "0.001"))
    assert {o["id"] for o in exchange_orders(sim)} == before  # the stop still protects
