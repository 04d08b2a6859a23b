"""Property tests: random order flow from several accounts keeps the exchange sound.

Invariants checked after every action:

* **No crossed book**: on every symbol the best bid is below the best ask.
* **Zero-sum positions**: per perp, the sum of every account's ``netQuantity``
  (users, market maker and taker) is zero.
* **Conservation**: with exact decimals,
  ``sum(USDC balance) + sum(unrealized PnL at mark) + house USDC == sum(USDC deposited)``
  over all accounts, where unrealized PnL is ``mark * netQuantity - netCost`` and the
  house holds every fee charged in USDC plus the rounding of funding payments. Realized
  PnL is already inside the balances, so it needs no term of its own. For each spot base
  asset: ``sum(balance) + house == sum(deposited)`` (spot buy fees are charged in base).
* **Reduce-only never flips**: every ``orderFill`` of a reduce-only order moves its
  account's position towards zero by exactly the fill quantity (read from the stream:
  the fill's ``l`` and the following ``positionUpdate``'s ``q``).
* **Depth stream**: per symbol ``U == previous u + 1``, and the REST snapshot taken at
  the start with every emitted depth message applied equals the engine's book.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpx_tui.sim.errors import SimError
from tests.sim.engine_harness import BTC, SOL, SOL_SPOT, Harness

SYMBOLS = (BTC, SOL, SOL_SPOT)
TICK = {BTC: Decimal("0.1"), SOL: Decimal("0.01"), SOL_SPOT: Decimal("0.01")}
STEP = {BTC: Decimal("0.00001"), SOL: Decimal("0.01"), SOL_SPOT: Decimal("0.01")}
MAX_STEPS = {BTC: 20000, SOL: 10000, SOL_SPOT: 500}

side = st.sampled_from(["Bid", "Ask"])
account = st.integers(0, 2)
symbol = st.sampled_from(SYMBOLS)

limit_action = st.tuples(
    st.just("limit"),
    account,
    symbol,
    side,
    st.integers(-40, 40),  # ticks from the mark
    st.integers(1, 20000),
    st.sampled_from(["GTC", "GTC", "IOC", "FOK"]),
    st.booleans(),  # postOnly
    st.booleans(),  # reduceOnly
    st.sampled_from(["RejectTaker", "RejectMaker", "RejectBoth"]),
    st.booleans(),  # attach a stop-loss leg
)
market_action = st.tuples(
    st.just("market"), account, symbol, side, st.integers(1, 20000), st.booleans(), st.booleans()
)
cancel_action = st.tuples(st.just("cancel"), account, st.integers(0, 5))
index_action = st.tuples(st.just("index"), st.sampled_from(["BTC", "SOL"]), st.integers(-80, 80))
trigger_action = st.tuples(
    st.just("trigger"),
    account,
    st.sampled_from([BTC, SOL]),
    side,
    st.integers(-30, 30),
    st.booleans(),
)
other_action = st.sampled_from([("step",), ("funding",)])
actions = st.lists(
    st.one_of(
        limit_action, market_action, cancel_action, index_action, trigger_action, other_action
    ),
    max_size=30,
)


class World:
    def __init__(self) -> None:
        self.h = Harness(book_levels=8, funding_speedup=3600.0, taker_probability=0.5)
        engine = self.h.engine
        self.users = [self.h.account(f"user{i}", usdc="400") for i in range(3)]
        for user in self.users:
            engine.deposit(user, "SOL", Decimal("20"))
        self.books: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
        self.last_u: dict[str, int] = {}
        for sym in engine.symbols:
            snap = engine.depth(sym, 1000)
            self.books[sym] = (
                {Decimal(p): Decimal(q) for p, q in snap["bids"]},
                {Decimal(p): Decimal(q) for p, q in snap["asks"]},
            )
            self.last_u[sym] = int(snap["lastUpdateId"])
        self.seen = 0
        self.position_q: dict[tuple[int, str], Decimal] = {}
        self.pending_reduce: dict[tuple[int, str], Decimal] = {}

    def price(self, sym: str, offset: int) -> str:
        mark = self.h.engine.prices.mark(sym)
        tick = TICK[sym]
        return str((mark / tick).to_integral_value() * tick + offset * tick)

    def qty(self, sym: str, steps: int) -> str:
        return str(min(steps, MAX_STEPS[sym]) * STEP[sym])

    def run(self, action: tuple[Any, ...]) -> None:
        h, engine = self.h, self.h.engine
        kind = action[0]
        h.tick(200_000)
        try:
            if kind == "limit":
                _, who, sym, sd, off, steps, tif, post, reduce, stp, stop_loss = action
                payload = {
                    "symbol": sym,
                    "side": sd,
                    "orderType": "Limit",
                    "price": self.price(sym, off),
                    "quantity": self.qty(sym, steps),
                    "timeInForce": tif,
                    "selfTradePrevention": stp,
                }
                if post and tif == "GTC":
                    payload["postOnly"] = True
                if reduce and sym != SOL_SPOT:
                    payload["reduceOnly"] = True
                if stop_loss:
                    payload["stopLossTriggerPrice"] = self.price(
                        sym, off + (-25 if sd == "Bid" else 25)
                    )
                engine.execute_order(self.users[who], payload)
            elif kind == "market":
                _, who, sym, sd, steps, reduce, by_quote = action
                payload = {"symbol": sym, "side": sd, "orderType": "Market"}
                if by_quote:
                    notional = Decimal(self.qty(sym, steps)) * engine.prices.mark(sym)
                    payload["quoteQuantity"] = str(notional.quantize(Decimal("0.01")))
                else:
                    payload["quantity"] = self.qty(sym, steps)
                if reduce and sym != SOL_SPOT:
                    payload["reduceOnly"] = True
                engine.execute_order(self.users[who], payload)
            elif kind == "cancel":
                _, who, index = action
                orders = engine.open_orders(self.users[who], None, None)
                if orders:
                    order = orders[index % len(orders)]
                    engine.cancel_order(self.users[who], order["symbol"], order["id"], None)
            elif kind == "index":
                _, base, per_mille = action
                current = engine.prices.states[f"{base}_USDC_PERP"].index_dec
                engine.set_index(base, current * (1000 + per_mille) / 1000)
            elif kind == "trigger":
                _, who, sym, sd, off, pct = action
                engine.execute_order(
                    self.users[who],
                    {
                        "symbol": sym,
                        "side": sd,
                        "orderType": "Market",
                        "triggerPrice": self.price(sym, off * 5),
                        "triggerQuantity": "50%" if pct else self.qty(sym, 300),
                        "triggerBy": "LastPrice" if pct else "MarkPrice",
                        "reduceOnly": pct,
                    },
                )
            elif kind == "step":
                engine.step_market(3)
            elif kind == "funding":
                h.now = engine.funding.next_us
                engine.advance()
        except SimError as error:
            assert 400 <= error.status < 500
        self.check()

    def check(self) -> None:
        engine = self.h.engine
        for book in engine.books.values():
            assert not book.crossed(), book.symbol
        for sym in (BTC, SOL):
            total = sum(
                (
                    a.positions[sym].net
                    for a in engine.accounts.by_id.values()
                    if sym in a.positions
                ),
                0,
            )
            assert total == 0, f"{sym} net positions sum to {total}"
        self.check_conservation()
        self.check_stream()

    def check_conservation(self) -> None:
        engine = self.h.engine
        deposits: dict[str, Decimal] = {}
        balances: dict[str, Decimal] = {}
        unrealized = Decimal(0)
        for acct in engine.accounts.by_id.values():
            for asset, amount in acct.deposits.items():
                deposits[asset] = deposits.get(asset, Decimal(0)) + amount
            for asset, amount in acct.balances.items():
                balances[asset] = balances.get(asset, Decimal(0)) + amount
            for sym, position in acct.positions.items():
                unrealized += position.unrealized(engine.prices.mark(sym), engine.specs[sym])
        house = engine.accounts.house
        assert balances["USDC"] + unrealized + house.get("USDC", Decimal(0)) == deposits["USDC"]
        assert balances["SOL"] + house.get("SOL", Decimal(0)) == deposits["SOL"]

    def check_stream(self) -> None:
        events = self.h.events
        for stream, data, account_id in events[self.seen :]:
            if stream.startswith("depth."):
                sym = data["s"]
                assert data["U"] == self.last_u[sym] + 1
                self.last_u[sym] = data["u"]
                bids, asks = self.books[sym]
                for side_book, levels in ((bids, data["b"]), (asks, data["a"])):
                    for price, qty in levels:
                        if Decimal(qty) == 0:
                            side_book.pop(Decimal(price), None)
                        else:
                            side_book[Decimal(price)] = Decimal(qty)
            elif account_id is not None and data.get("e") == "orderFill" and data.get("r"):
                self.pending_reduce[(account_id, data["s"])] = Decimal(data["l"])
            elif account_id is not None and stream == "account.positionUpdate":
                key = (account_id, data["s"])
                before = self.position_q.get(key, Decimal(0))
                after = Decimal(data["q"])
                reduced = self.pending_reduce.pop(key, None)
                if reduced is not None:
                    assert abs(after) == abs(before) - reduced, "reduce-only grew a position"
                    assert after == 0 or (after > 0) == (before > 0), "reduce-only flipped"
                self.position_q[key] = after
        self.seen = len(events)

    def check_replay(self) -> None:
        engine = self.h.engine
        for sym in engine.symbols:
            snap = engine.depth(sym, 1000)
            assert int(snap["lastUpdateId"]) == self.last_u[sym]
            expected = (
                {Decimal(p): Decimal(q) for p, q in snap["bids"]},
                {Decimal(p): Decimal(q) for p, q in snap["asks"]},
            )
            assert self.books[sym] == expected, sym


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(actions)
def test_random_order_flow_keeps_invariants(sequence: list[tuple[Any, ...]]) -> None:
    world = World()
    world.check()
    for action in sequence:
        world.run(action)
    world.check_replay()
    for user in world.users:
        capital = world.h.engine.capital(user)
        for row in capital.values():
            assert Decimal(row["locked"]) >= 0
        for order in world.h.engine.open_orders(user, None, None):
            if order["quantity"] is not None:
                assert Decimal(order["executedQuantity"]) < Decimal(order["quantity"])
