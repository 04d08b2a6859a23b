"""The history model: realised PnL, totals and pages, against hand-computed numbers."""

from __future__ import annotations

from decimal import Decimal

from bpx_tui.exchange.history import AccountHistory, Read
from bpx_tui.exchange.models import Fill, FundingPayment, Order
from bpx_tui.ui.history_model import (
    PAGE_ROWS,
    build_view,
    fill_totals,
    funding_totals,
    order_totals,
    page_bounds,
    page_count,
    page_of,
    realised_pnl,
    totals_line,
)

D = Decimal
DAY1 = 1_763_942_400_000  # 2025-11-24 00:00 UTC
DAY2 = DAY1 + 86_400_000
PERP = "BTC_USDC_PERP"
SPOT = "SOL_USDC"


def fill(
    side: str,
    qty: str,
    price: str,
    at: int,
    *,
    symbol: str = PERP,
    fee: str = "0",
    fee_symbol: str = "USDC",
    trade_id: int = 0,
    maker: bool = False,
) -> Fill:
    return Fill(
        trade_id=trade_id or at,
        order_id=str(at),
        client_id=None,
        symbol=symbol,
        side=side,
        price=D(price),
        quantity=D(qty),
        fee=D(fee),
        fee_symbol=fee_symbol,
        is_maker=maker,
        timestamp_ms=at,
    )


def pay(amount: str, at: int, symbol: str = PERP) -> FundingPayment:
    return FundingPayment(symbol, D(amount), D("0.0001"), at)


def test_average_cost_realises_against_the_mean_entry() -> None:
    # Buy 1 @ 100 and 1 @ 110: average entry 105. Sell 1.5 @ 120: (120-105)*1.5 = 22.5.
    # Sell 1 @ 90 the next day: closes 0.5 at (90-105)*0.5 = -7.5, opens a 0.5 short @ 90.
    # Buy 0.5 @ 80: the short gains (90-80)*0.5 = 5.
    fills = [
        fill("Bid", "1", "100", DAY1 + 1),
        fill("Bid", "1", "110", DAY1 + 2),
        fill("Ask", "1.5", "120", DAY1 + 3),
        fill("Ask", "1", "90", DAY2 + 1),
        fill("Bid", "0.5", "80", DAY2 + 2),
    ]
    rows = realised_pnl(reversed(fills), [])  # given newest first, as the exchange lists
    by_day = {row.day: row for row in rows}
    assert [row.day for row in rows] == ["2025-11-25", "2025-11-24"]  # newest day first
    assert by_day["2025-11-24"].realised == D("22.5")
    assert by_day["2025-11-24"].fills == 3
    assert by_day["2025-11-24"].volume == D("100") + D("110") + D("180")
    assert by_day["2025-11-25"].realised == D("-7.5") + D("5")
    assert by_day["2025-11-25"].volume == D("90") + D("40")


def test_fifo_would_differ_so_the_method_is_pinned() -> None:
    # FIFO would realise (120-100)*1 = 20 on selling 1; average cost realises (120-105) = 15.
    fills = [
        fill("Bid", "1", "100", DAY1 + 1),
        fill("Bid", "1", "110", DAY1 + 2),
        fill("Ask", "1", "120", DAY1 + 3),
    ]
    assert realised_pnl(fills, [])[0].realised == D("15")


def test_fees_and_funding_are_columns_of_their_own_and_net_sums_them() -> None:
    fills = [
        fill("Ask", "2", "50", DAY1 + 1, fee="0.05"),
        fill("Bid", "2", "40", DAY1 + 2, fee="0.04"),
    ]
    funding = [pay("-0.30", DAY1 + 3_600_000), pay("0.10", DAY1 + 7_200_000)]
    (row,) = realised_pnl(fills, funding)
    assert row.realised == D("20")  # short 2 @ 50, covered @ 40
    assert row.fees == D("0.09")
    assert row.funding == D("-0.20")
    assert row.net == D("20") - D("0.09") - D("0.20")


def test_markets_are_kept_apart_and_funding_alone_makes_a_row() -> None:
    fills = [
        fill("Bid", "1", "100", DAY1 + 1),
        fill("Bid", "10", "2", DAY1 + 2, symbol=SPOT),
        fill("Ask", "10", "3", DAY1 + 3, symbol=SPOT),
    ]
    rows = realised_pnl(fills, [pay("1.5", DAY2 + 5, "ETH_USDC_PERP")])
    keyed = {row.key: row for row in rows}
    assert keyed[f"2025-11-24 {PERP}"].realised == 0  # still open
    assert keyed[f"2025-11-24 {SPOT}"].realised == D("10")
    only_funding = keyed["2025-11-25 ETH_USDC_PERP"]
    assert (only_funding.fills, only_funding.funding, only_funding.net) == (0, D("1.5"), D("1.5"))


def test_a_base_asset_fee_is_valued_at_the_fill_price() -> None:
    fills = [
        fill("Bid", "10", "2", DAY1 + 1, symbol=SPOT, fee="0.01", fee_symbol="SOL"),
        fill("Ask", "10", "3", DAY1 + 2, symbol=SPOT, fee="0.03", fee_symbol="USDC", maker=True),
        fill("Ask", "1", "3", DAY1 + 3, symbol=SPOT, fee="5", fee_symbol="PEPE"),
    ]
    totals = fill_totals(fills)
    assert totals.fees == D("0.01") * 2 + D("0.03")  # the PEPE fee is not valued
    assert totals.fees_by_asset == {"SOL": D("0.01"), "USDC": D("0.03"), "PEPE": D("5")}
    assert totals.volume == D("20") + D("30") + D("3")
    assert (totals.count, totals.maker) == (3, 1)


def test_funding_totals_split_paid_and_received() -> None:
    totals = funding_totals([pay("-1.25", 1), pay("0.5", 2), pay("-0.25", 3)])
    assert (totals.count, totals.paid, totals.received, totals.net) == (
        3,
        D("1.5"),
        D("0.5"),
        D("-1"),
    )


def _order(oid: str, status: str, executed_quote: str) -> Order:
    return Order.from_api(
        {
            "id": oid,
            "symbol": PERP,
            "side": "Bid",
            "orderType": "Limit",
            "status": status,
            "executedQuantity": "0",
            "executedQuoteQuantity": executed_quote,
        }
    )


def test_order_totals_count_every_final_state() -> None:
    orders = [
        _order("1", "Filled", "100"),
        _order("2", "Cancelled", "0"),
        _order("3", "Filled", "50.5"),
        _order("4", "Expired", "0"),
    ]
    totals = order_totals(orders)
    assert totals.count == 4
    assert dict(totals.by_status) == {"Filled": 2, "Cancelled": 1, "Expired": 1}
    assert next(iter(totals.by_status)) == "Filled"
    assert totals.executed_quote == D("150.5")


def test_the_view_totals_and_lines() -> None:
    fills = (fill("Bid", "1", "100", DAY1 + 2), fill("Ask", "1", "100", DAY1 + 1))
    history = AccountHistory(
        fills=Read(fills, capped=True),
        orders=Read(error="Request has expired"),
        funding=Read((pay("-2", DAY1 + 9),)),
        cap=10_000,
    )
    view = build_view(history)
    assert view.capped("fills") and view.capped("pnl") and not view.capped("funding")
    assert view.error("orders") == "Request has expired"
    assert view.error("pnl") is None and view.error("fills") is None
    assert view.totals.funding == D("-2") and view.totals.volume == D("200")
    assert (
        totals_line(view, "funding") == "1 payments · paid 2.0000 · received 0.0000 · net -2.0000"
    )
    assert totals_line(view, "fills").startswith("2 fills · volume 200.00 · fees 0.00")


def test_pages_cover_every_row_once() -> None:
    rows = list(range(10_000))
    assert page_count(len(rows)) == 10_000 // PAGE_ROWS
    assert page_count(0) == 1
    seen = [x for page in range(page_count(len(rows))) for x in page_of(rows, page)]
    assert seen == rows
    assert page_bounds(250, 2) == (200, 250)
    assert page_bounds(250, 99) == (200, 250)  # clamped to the last page
    assert page_bounds(250, -1) == (0, 100)


def test_a_partial_close_rounds_the_basis_as_the_exchange_does() -> None:
    # Basis 301 over 3: selling 1 @ 110 removes 100.3333333333 (to 1e-10), realising
    # 9.6666666667; closing the other 2 @ 110 removes the rest (200.6666666667) exactly.
    fills = [
        fill("Bid", "1", "100", DAY1 + 1),
        fill("Bid", "1", "100", DAY1 + 2),
        fill("Bid", "1", "101", DAY1 + 3),
        fill("Ask", "1", "110", DAY1 + 4),
    ]
    assert realised_pnl(fills, [])[0].realised == D("9.6666666667")
    closed = realised_pnl([*fills, fill("Ask", "2", "110", DAY1 + 5)], [])
    assert closed[0].realised == D("9.6666666667") + D("19.3333333333")
    assert closed[0].realised == 3 * 110 - 301
