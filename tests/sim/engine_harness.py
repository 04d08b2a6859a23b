"""A driven engine for the engine tests: fixed clock, captured events, short-hands."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bpx_tui.sim.config import SimConfig
from bpx_tui.sim.synthetic.market import engine_with_market

BTC = "BTC_USDC_PERP"
SOL = "SOL_USDC_PERP"
SOL_SPOT = "SOL_USDC"
START_US = 1_763_900_000_000_000

Event = tuple[str, dict[str, Any], int | None]


class Harness:
    def __init__(self, **config: Any) -> None:
        config.setdefault("book_levels", 0)
        config.setdefault("backfill", False)  # these tests count every trade and rate
        self.now = START_US
        self.events: list[Event] = []
        self.engine = engine_with_market(SimConfig(**config), self._emit, lambda: self.now)

    def _emit(self, stream: str, data: dict[str, Any], account_id: int | None) -> None:
        self.events.append((stream, data, account_id))

    def tick(self, us: int = 1000) -> None:
        self.now += us

    def account(self, name: str, usdc: str | None = None) -> int:
        return self.engine.create_account(name, Decimal(usdc) if usdc is not None else None)

    def order(self, account_id: int, **payload: Any) -> dict[str, Any]:
        payload.setdefault("symbol", BTC)
        return self.engine.execute_order(account_id, payload)

    def limit(
        self, account_id: int, side: str, price: str, qty: str, **extra: Any
    ) -> dict[str, Any]:
        return self.order(
            account_id, side=side, orderType="Limit", price=price, quantity=qty, **extra
        )

    def market(self, account_id: int, side: str, qty: str, **extra: Any) -> dict[str, Any]:
        return self.order(account_id, side=side, orderType="Market", quantity=qty, **extra)

    def private(self, account_id: int, event: str | None = None) -> list[dict[str, Any]]:
        return [
            d
            for _, d, a in self.events
            if a == account_id and (event is None or d.get("e") == event)
        ]

    def public(self, stream: str) -> list[dict[str, Any]]:
        return [d for s, d, a in self.events if a is None and s == stream]

    def position(self, account_id: int, symbol: str = BTC) -> dict[str, Any] | None:
        rows = [p for p in self.engine.positions(account_id, None) if p["symbol"] == symbol]
        return rows[0] if rows else None

    def net(self, account_id: int, symbol: str = BTC) -> Decimal:
        row = self.position(account_id, symbol)
        return Decimal(row["netQuantity"]) if row else Decimal(0)
