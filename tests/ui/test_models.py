"""The console's pure parts: ticket checks, number formatting, key table (the ladder's
rows: tests/ui/test_ladder_model.py)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from bpx_tui.config import KEY_ACTIONS
from bpx_tui.exchange.book import OrderBook
from bpx_tui.exchange.models import Market, Order
from bpx_tui.ui import fmt
from bpx_tui.ui.keys import KEYS, keymap
from bpx_tui.ui.screens.switcher import matches
from bpx_tui.ui.ticket_model import (
    Exposure,
    Fees,
    Ticket,
    TicketError,
    answer_line,
    describe_result,
    fees_from_account,
)
from bpx_tui.ui.widgets.ticket import MARKETABLE, preview_text
from tests.conftest import load_fixture


@pytest.fixture
def btc() -> Market:
    return next(
        Market.from_api(m)
        for m in load_fixture("rest_markets.json")
        if m["symbol"] == "BTC_USDC_PERP"
    )


def make_book() -> OrderBook:
    """Asks 100.5..104.5, bids 99.5..95.5 (tick 0.1 market, levels a dollar apart)."""
    book = OrderBook("BTC_USDC_PERP")
    book.on_delta({"U": 1, "u": 1, "a": [], "b": []})
    book.on_snapshot(
        {
            "lastUpdateId": "1",
            "asks": [[f"{100.5 + i}", "1"] for i in range(5)],
            "bids": [[f"{95.5 + i}", "2"] for i in range(5)],
        }
    )
    assert book.synced
    return book


# ------------------------------------------------------------------ ticket


def test_ticket_limit_intent_and_preview(btc: Market) -> None:
    ticket = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="100.0", size="0.5", post_only=True)
    intent = ticket.order(btc).terms
    assert (intent.price, intent.quantity, intent.time_in_force) == (
        Decimal("100.0"),
        Decimal("0.5"),
        "GTC",
    )
    preview = ticket.preview(btc, make_book(), None, Fees())
    assert preview.error is None and preview.notional == Decimal("50.00")
    assert preview.fee == Decimal("50.00") * Fees().maker


def test_ticket_quote_size_converts_to_base_rounding_down(btc: Market) -> None:
    ticket = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="30000", size="100", size_in_quote=True)
    assert ticket.order(btc).terms.quantity == Decimal("0.00333")


def test_ticket_market_preview_walks_the_book(btc: Market) -> None:
    ticket = Ticket("BTC_USDC_PERP", "Bid", "Market", size="1.5")
    preview = ticket.preview(btc, make_book(), Decimal("100.5"), Fees())
    assert preview.average_price == (
        Decimal("100.5") + Decimal("0.5") * Decimal("101.5")
    ) / Decimal("1.5")
    assert preview.slippage is not None and preview.slippage > 0
    thin = Ticket("BTC_USDC_PERP", "Bid", "Market", size="50").preview(
        btc, make_book(), Decimal("100.5"), Fees()
    )
    assert thin.error is not None and "only 5" in thin.error


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": "100.05"}, "tick"),
        ({"price": ""}, "enter a price"),
        ({"size": "abc"}, "not a number"),
        ({"size": "0"}, "must be positive"),
        ({"size": "0.000001"}, "step"),
        ({"order_type": "Market", "post_only": True}, "post-only"),
        ({"post_only": True, "tif": "IOC"}, "post-only"),
    ],
)
def test_ticket_refuses_bad_input_with_a_reason(
    btc: Market, changes: dict[str, object], message: str
) -> None:
    base = {
        "symbol": "BTC_USDC_PERP",
        "side": "Bid",
        "order_type": "Limit",
        "price": "100",
        "size": "1",
    }
    ticket = Ticket(**{**base, **changes})  # type: ignore[arg-type]
    with pytest.raises(TicketError, match=message):
        ticket.order(btc)
    assert ticket.preview(btc, make_book(), None, Fees()).error is not None


def test_ticket_nudges(btc: Market) -> None:
    ticket = Ticket("BTC_USDC_PERP", price="100.0", size="0.002")
    assert ticket.nudged_price(1, btc, None).price == "100.1"
    assert Ticket("BTC_USDC_PERP").nudged_price(-2, btc, Decimal("99")).price == "98.8"
    presets = (Decimal("0.001"), Decimal("0.005"), Decimal("0.01"))
    assert ticket.nudged_size(1, presets).size == "0.005"
    assert ticket.nudged_size(-1, presets).size == "0.001"
    assert ticket.toggled("market").is_market and ticket.next_tif().tif == "IOC"


def test_fees_from_account_reads_fractions_or_basis_points() -> None:
    assert fees_from_account({"futuresMakerFee": "2", "futuresTakerFee": "5"}, True) == Fees(
        Decimal("0.0002"), Decimal("0.0005"), True
    )
    fees = fees_from_account({"spotMakerFee": "0.001", "spotTakerFee": "0.002"}, False)
    assert (fees.maker, fees.taker, fees.known) == (Decimal("0.001"), Decimal("0.002"), True)
    assert not fees_from_account({}, True).known


# ------------------------------------------------------------------ formatting and keys


def test_formatting() -> None:
    assert fmt.num(Decimal("97000.5"), 1) == "97,000.5"
    assert fmt.num(None) == fmt.DASH
    assert fmt.pct(Decimal("0.0123")) == "+1.23%"
    assert fmt.countdown(3_725_000) == "in 1h02m" and fmt.countdown(65_000) == "in 1m05s"
    assert fmt.countdown(3_127_000) == "in 52m07s" and fmt.countdown(9_000) == "in 9s"
    assert fmt.countdown(93_600_000) == "in 1d02h" and fmt.countdown(-5) == "due"
    assert fmt.countdown(None) == fmt.DASH
    assert fmt.annualised(Decimal("0.0001"), 3_600_000) == Decimal("0.876")
    assert fmt.annualised(Decimal("0.0001"), 8 * 3_600_000) == Decimal("0.1095")
    assert fmt.compact(Decimal("1234567")) == "1.2M" and fmt.age(3_700_000) == "1h"


def test_funding_countdown_fits_the_next_column_whole() -> None:
    from bpx_tui.ui.widgets.watchlist import Watchlist

    width = next(c.width for c in Watchlist.COLUMNS if c.key == "next")
    # Every second of the first two hours, then a sweep up to a 9-day interval.
    for seconds in [*range(0, 7300), *range(7300, 9 * 86400, 997)]:
        text = fmt.countdown(seconds * 1000)
        assert len(text) <= width, text
        assert text == "due" or text.startswith("in "), text


def test_key_table_matches_the_config_and_rejects_unknown_actions() -> None:
    assert {spec.id for spec in KEYS} == set(KEY_ACTIONS)
    usable, problems = keymap({"close_all": "ctrl+x", "nope": "z", "buy": " "})
    assert usable == {"close_all": "ctrl+x"}
    assert len(problems) == 2


def test_palette_entries_show_the_remapped_key_and_rank_above_textuals() -> None:
    from bpx_tui.ui.commands import PALETTE_IDS, palette_entries, tiered

    entries = palette_entries({"buy_market": "f2"})
    assert len(entries) == len(PALETTE_IDS)
    assert (entries[2].title, entries[2].help) == ("Buy ticket at market", "key: f2")
    assert (entries[0].action, entries[0].help) == ("ticket('Bid', 'Limit')", "key: b")
    assert palette_entries()[2].help == "key: B"
    assert tiered(0.1, desk=True) > tiered(1000.0, desk=False)
    assert tiered(15.0, desk=True) < tiered(20.0, desk=True)


def test_market_switcher_filter() -> None:
    symbols = ["BTC_USDC_PERP", "ETH_USDC_PERP", "SOL_USDC", "SOL_USDC_PERP"]
    assert matches(symbols, "sol perp") == ["SOL_USDC_PERP"]
    assert matches(symbols, "") == ["BTC_USDC_PERP", "ETH_USDC_PERP", "SOL_USDC_PERP", "SOL_USDC"]


def test_market_switcher_puts_the_perpetual_before_the_spot_market() -> None:
    symbols = sorted(["BTC_USDC", "BTC_USDC_PERP", "SOL_USDC", "SOL_USDC_PERP", "SOL_USDT"])
    assert matches(symbols, "sol") == ["SOL_USDC_PERP", "SOL_USDC", "SOL_USDT"]
    assert matches(symbols, "SOL usdc") == ["SOL_USDC_PERP", "SOL_USDC"]
    assert matches(symbols, "usdc") == [
        "BTC_USDC_PERP",
        "BTC_USDC",
        "SOL_USDC_PERP",
        "SOL_USDC",
    ]
    # Bases keep the caller's order; only perp-before-spot within a base changes.
    assert matches(["SOL_USDC", "BTC_USDC", "SOL_USDC_PERP"], "usdc") == [
        "SOL_USDC_PERP",
        "SOL_USDC",
        "BTC_USDC",
    ]
    # The spot market's full name still opens the spot market.
    assert matches(symbols, "sol_usdc") == ["SOL_USDC", "SOL_USDC_PERP"]
    assert matches(symbols, "eth") == []


def test_open_orders_put_trigger_orders_after_the_rest() -> None:
    from bpx_tui.exchange.models import Order
    from bpx_tui.ui.views import order_row, sorted_orders
    from bpx_tui.ui.widgets.orders import order_cells

    plain = [Order.from_api(o) for o in load_fixture("rest_orders_open.json")]
    trigger = Order.from_update(load_fixture("ws_account_orderUpdate_triggerPlaced.json")["data"])
    orders = {o.id: o for o in [*plain, trigger]}
    flags = [o.is_trigger for o in sorted_orders(orders)]
    assert flags == sorted(flags) and flags[0] is False and flags[-1] is True
    cells = order_cells(order_row(trigger, 1, 5, now_ms=1763900060301))
    texts = [text for text, _style in cells]
    assert texts[1] == "SELL" and texts[2].startswith("⚑") and texts[3] == "@94,000.0"
    assert texts[4] == "0.02000" and texts[7] == "1m"
    limit = order_cells(order_row(plain[0], 1, 5, now_ms=plain[0].created_at_ms or 0))
    assert [t for t, _ in limit][2] == "Limit·P"


# ------------------------------------------------------------------ size units and result


def test_u_converts_quote_to_base_and_back_at_the_previews_price(btc: Market) -> None:
    """250 USDC at a 100.0 limit is 2.5 BTC; converting back gives 250 USDC, not 2.5."""
    book = make_book()
    ticket = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="100.0", size="250", size_in_quote=True)
    preview = ticket.preview(btc, book, Decimal("100.5"), Fees())
    assert preview.quote_amount == Decimal(250) and preview.quantity == Decimal("2.50000")
    in_base = ticket.converted(btc, preview)
    assert (in_base.size, in_base.in_quote) == ("2.50000", False)
    assert in_base.order(btc).terms.quantity == Decimal("2.5")
    back = in_base.converted(btc, in_base.preview(btc, book, Decimal("100.5"), Fees()))
    assert back.in_quote and Decimal(back.size) == Decimal(250)


def test_u_on_a_market_ticket_sends_the_quote_amount_it_shows(btc: Market) -> None:
    ticket = Ticket("BTC_USDC_PERP", "Bid", "Market", size="0.5")
    preview = ticket.preview(btc, make_book(), Decimal("100.5"), Fees())
    quoted = ticket.converted(btc, preview)
    assert quoted.in_quote and Decimal(quoted.size) == Decimal("50.25")
    assert quoted.order(btc).terms.quote_quantity == Decimal("50.25")


def test_u_without_a_price_refuses_instead_of_relabelling(btc: Market) -> None:
    ticket = Ticket("BTC_USDC_PERP", "Bid", "Market", size="250", size_in_quote=True)
    preview = ticket.preview(btc, None, None, Fees())
    with pytest.raises(TicketError, match="cannot convert"):
        ticket.converted(btc, preview)
    empty = Ticket("BTC_USDC_PERP", size="")
    assert empty.converted(btc, empty.preview(btc, None, None, Fees())).in_quote


def test_1k_is_a_thousand_of_the_quote_unit(btc: Market) -> None:
    ticket = Ticket("BTC_USDC_PERP", "Bid", "Market", size="1k")
    assert ticket.in_quote and ticket.order(btc).terms.quote_quantity == Decimal(1000)
    limit = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="100.0", size="1.5K")
    assert limit.order(btc).terms.quantity == Decimal("15.00000")
    with pytest.raises(TicketError):
        Ticket("BTC_USDC_PERP", size="k").order(btc)


def test_a_limit_through_the_touch_pays_taker_and_post_only_is_warned(btc: Market) -> None:
    resting = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="100.0", size="1")
    crossing = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="100.5", size="1")
    fees = Fees(maker=Decimal("0.0002"), taker=Decimal("0.0005"))
    rests = resting.preview(btc, make_book(), Decimal("100.5"), fees)
    crosses = crossing.preview(btc, make_book(), Decimal("100.5"), fees)
    assert rests.maker and rests.fee == Decimal("100.0") * fees.maker
    assert not crosses.maker and crosses.fee == Decimal("100.5") * fees.taker
    post = replace(crossing, post_only=True).preview(btc, make_book(), Decimal("100.5"), fees)
    assert post.warning is not None and "will reject" in post.warning


def test_a_crossing_limit_is_labelled_marketable_unless_post_only(btc: Market) -> None:
    crossing = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="100.5", size="1")
    resting = replace(crossing, price="100.0")
    crosses = crossing.preview(btc, make_book(), Decimal("100.5"), Fees())
    rests = resting.preview(btc, make_book(), Decimal("100.5"), Fees())
    assert crosses.marketable and not rests.marketable
    assert MARKETABLE in preview_text(crossing, crosses, btc, False)
    assert MARKETABLE not in preview_text(resting, rests, btc, False)
    post = replace(crossing, post_only=True).preview(btc, make_book(), Decimal("100.5"), Fees())
    assert not post.marketable  # rejected by the exchange, never filled: its warning says so


def test_flipping_side_rejoins_a_joined_price_and_keeps_a_chosen_one(btc: Market) -> None:
    bid, ask = Decimal("99.5"), Decimal("100.5")
    joined = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="99.5", size="1", price_joined=True)
    sell = joined.flipped(btc, bid, ask)
    assert (sell.side, sell.price, sell.price_joined) == ("Ask", "100.5", True)
    # The book moved since the ticket joined: it still joins, on the other side's best.
    assert joined.flipped(btc, Decimal("99.7"), Decimal("100.3")).price == "100.3"
    # A price the trader chose stays, unless it is exactly the best (joining by hand).
    chosen = replace(joined, price="98.0", price_joined=False)
    assert chosen.flipped(btc, bid, ask).price == "98.0"
    assert replace(chosen, price="99.50").flipped(btc, bid, ask).price == "100.5"
    # Without a book there is nothing to join: the price stays.
    assert joined.flipped(btc, None, None).price == "99.5"
    # A market ticket has no price to move; a priceless limit takes the new best.
    market = Ticket("BTC_USDC_PERP", "Bid", "Market", size="1")
    assert market.flipped(btc, bid, ask).price == ""
    assert Ticket("BTC_USDC_PERP").flipped(btc, bid, ask).price == "100.5"
    # Nudging a joined price makes it the trader's.
    assert not joined.nudged_price(1, btc, None).price_joined


def _order(**changes: object) -> Order:
    fields: dict[str, object] = {
        "id": "1",
        "symbol": "BTC_USDC_PERP",
        "side": "Bid",
        "orderType": "Limit",
        "status": "New",
        "price": "97000.0",
        "quantity": "0.01",
        "executedQuantity": "0",
        "executedQuoteQuantity": "0",
    }
    return Order.from_api({**fields, **changes})


def test_the_answer_line_says_what_became_of_the_order(btc: Market) -> None:
    assert (
        answer_line(_order(), btc) == "✓ accepted: BUY 0.01000 BTC_USDC_PERP Limit @ 97,000.0 · New"
    )
    filled = _order(
        orderType="Market",
        side="Ask",
        status="Filled",
        price=None,
        executedQuantity="0.01",
        executedQuoteQuantity="970.12",
    )
    assert answer_line(filled, btc) == (
        "✓ filled: SELL 0.01000 BTC_USDC_PERP Market @ 97,012.0 avg · Filled"
    )
    expired = _order(status="Expired", executedQuantity="0.004", executedQuoteQuantity="388")
    assert answer_line(expired, btc).startswith("✓ partly filled: BUY")
    assert answer_line(expired, btc).endswith("· Expired avg 97,000.0")


@pytest.mark.parametrize(
    ("held", "side", "size", "reduce", "after", "words"),
    [
        ("0", "Bid", "0.02", False, "0.02", "you will be LONG 0.02000 BTC"),
        ("0.01", "Ask", "0.02", False, "-0.01", "flips you to SHORT 0.01000 BTC"),
        ("0.01", "Ask", "0.01", False, "0", "FLAT (closes LONG 0.01000 BTC)"),
        ("0.01", "Bid", "0.01", False, "0.02", "adds to LONG 0.02000 BTC"),
        ("0.01", "Ask", "0.05", True, "0", "FLAT (closes LONG 0.01000 BTC)"),
    ],
)
def test_the_preview_says_where_the_fill_leaves_the_position(
    btc: Market, held: str, side: str, size: str, reduce: bool, after: str, words: str
) -> None:
    ticket = Ticket("BTC_USDC_PERP", side, "Limit", price="100.0", size=size, reduce_only=reduce)  # type: ignore[arg-type]
    exposure = Exposure(Decimal(held), equity=Decimal(10), other_notional=Decimal(3))
    preview = ticket.preview(btc, make_book(), Decimal("100.5"), Fees(), exposure)
    assert preview.resulting == Decimal(after)
    assert describe_result(Decimal(held), preview.resulting, "BTC", 5) == words
    assert preview.leverage == (Decimal(3) + abs(Decimal(after)) * 100) / 10


def test_reduce_only_with_nothing_to_reduce_is_warned(btc: Market) -> None:
    ticket = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="100.0", size="1", reduce_only=True)
    preview = ticket.preview(btc, make_book(), Decimal("100.5"), Fees(), Exposure(Decimal(0)))
    assert preview.resulting == 0 and preview.warning and "nothing to reduce" in preview.warning


def test_an_order_past_the_leverage_limit_is_warned_and_a_reducing_one_is_not(
    btc: Market,
) -> None:
    limited = Exposure(Decimal("0.01"), equity=Decimal(10), leverage_limit=Decimal(3))
    adding = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="100.0", size="0.5")
    preview = adding.preview(btc, make_book(), Decimal("100.5"), Fees(), limited)
    assert preview.leverage == Decimal("5.1")
    assert preview.warning and "over your 3x leverage limit" in preview.warning
    within = Ticket("BTC_USDC_PERP", "Bid", "Limit", price="100.0", size="0.2")
    assert within.preview(btc, make_book(), Decimal("100.5"), Fees(), limited).warning is None
    # Shrinking a position over the limit is how a trader gets back under it: no warning.
    over = Exposure(Decimal("0.6"), equity=Decimal(10), leverage_limit=Decimal(3))
    reducing = Ticket("BTC_USDC_PERP", "Ask", "Limit", price="100.0", size="0.1")
    assert reducing.preview(btc, make_book(), Decimal("100.5"), Fees(), over).warning is None
