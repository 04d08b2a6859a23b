"""The ticket's take-profit / stop-loss fields and stop entries, without Textual:
what they send, what the preview shows, and every refusal."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from bpx_tui.exchange.models import Market
from bpx_tui.ui.ticket_model import KINDS, Fees, Ticket, TicketError
from bpx_tui.ui.typed import Level, TypedError, parse_level
from bpx_tui.ui.widgets.ticket import preview_text
from tests.conftest import load_fixture
from tests.ui.test_models import make_book

BTC = "BTC_USDC_PERP"
FEES = Fees(Decimal("0.0002"), Decimal("0.0005"), known=True)


@pytest.fixture
def btc() -> Market:
    return next(Market.from_api(m) for m in load_fixture("rest_markets.json") if m["symbol"] == BTC)


def limit(**fields: object) -> Ticket:
    return replace(Ticket(BTC, "Bid", "Limit", price="100.0", size="0.5"), **fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------ levels


@pytest.mark.parametrize(
    ("text", "kind", "level"),
    [
        ("97500", "tp", Level("tp", price=Decimal(97500))),
        ("97,500.5", "sl", Level("sl", price=Decimal("97500.5"))),
        ("1%", "tp", Level("tp", percent=Decimal(1))),
        ("+1.5%", "tp", Level("tp", percent=Decimal("1.5"))),
        ("-0.5%", "sl", Level("sl", percent=Decimal("0.5"))),
        (" 2 % ", "sl", Level("sl", percent=Decimal(2))),
    ],
)
def test_levels_parse(text: str, kind: str, level: Level) -> None:
    assert parse_level(text, kind) == level  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("-1%", "tp", "a take-profit is a gain: write +1% (or 1%)"),
        ("+1%", "sl", "a stop-loss is a loss: write -1% (or 1%)"),
        ("+5", "tp", "take-profit '+5': write a price, or a distance such as 1%"),
        ("abc", "sl", "stop-loss price 'abc' is not a number"),
        ("%", "tp", "enter a take-profit distance"),
        ("100%", "sl", "stop-loss 100%: a distance must be under 100%"),
        ("0%", "tp", "take-profit distance must be positive, got 0"),
        ("0", "sl", "stop-loss price must be positive, got 0"),
    ],
)
def test_bad_levels_say_why(text: str, kind: str, message: str) -> None:
    with pytest.raises(TypedError) as err:
        parse_level(text, kind)  # type: ignore[arg-type]
    assert str(err.value) == message


# ------------------------------------------------------------------ what is sent


def test_percent_exits_are_measured_from_the_limit_price(btc: Market) -> None:
    body = limit(take_profit="+1%", stop_loss="-1%").order(btc).payload()
    assert body["takeProfitTriggerPrice"] == "101"
    assert body["stopLossTriggerPrice"] == "99"
    assert body["takeProfitTriggerBy"] == body["stopLossTriggerBy"] == "MarkPrice"
    assert "takeProfitLimitPrice" not in body and "stopLossLimitPrice" not in body


def test_a_sells_percent_exits_go_the_other_way_with_limits(btc: Market) -> None:
    ticket = limit(side="Ask", take_profit="2%", tp_limit="98.1", stop_loss="1%", sl_limit="101.1")
    body = replace(ticket, trigger_by="LastPrice").order(btc).payload()
    assert (body["takeProfitTriggerPrice"], body["takeProfitLimitPrice"]) == ("98", "98.1")
    assert (body["stopLossTriggerPrice"], body["stopLossLimitPrice"]) == ("101", "101.1")
    assert body["stopLossTriggerBy"] == "LastPrice"


def test_a_percent_is_put_on_the_tick(btc: Market) -> None:
    body = limit(price="97012.4", take_profit="+1%").order(btc).payload()
    assert body["takeProfitTriggerPrice"] == "97982.5"  # 97982.524 to the 0.1 tick


def test_a_market_orders_exits_need_the_estimated_fill(btc: Market) -> None:
    ticket = Ticket(BTC, "Bid", "Market", size="0.5", take_profit="+1%")
    with pytest.raises(TicketError, match="no entry price yet"):
        ticket.order(btc)
    body = ticket.order(btc, Decimal("100.5")).payload()
    assert body["takeProfitTriggerPrice"] == "101.5"  # 101.505, nearest tick
    with pytest.raises(TicketError, match=r"a take-profit on a buy must be above 100\.5"):
        replace(ticket, take_profit="100.0").order(btc, Decimal("100.5"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"take_profit": "99.0"}, "a take-profit on a buy must be above 100.0"),
        ({"stop_loss": "101.0"}, "a stop-loss on a buy must be below 100.0"),
        ({"tp_limit": "101.0"}, "a take-profit limit price needs a take-profit trigger"),
        ({"sl_limit": "99.0"}, "a stop-loss limit price needs a stop-loss trigger"),
        ({"take_profit": "1%", "tp_limit": "x"}, "take-profit limit price 'x' is not a number"),
        ({"take_profit": "101.05"}, "take-profit trigger 101.05 is not on the tick 0.1"),
        ({"stop_loss": "+1%", "side": "Ask"}, "a stop-loss is a loss: write -1%"),
    ],
)
def test_exit_refusals(btc: Market, fields: dict[str, object], message: str) -> None:
    preview = limit(**fields).preview(btc, make_book(), Decimal("100.5"), FEES)
    assert preview.error is not None and message in preview.error


# ------------------------------------------------------------------ stop entries


def test_m_cycles_the_four_order_types() -> None:
    ticket = limit()
    seen = []
    for _ in range(len(KINDS)):
        seen.append(ticket.kind)
        ticket = ticket.next_kind()
    assert seen == ["limit", "market", "stop-market", "stop-limit"]
    assert ticket.kind == "limit"


def test_a_stop_market_sell_sends_a_trigger(btc: Market) -> None:
    ticket = Ticket(BTC, "Ask", size="0.01", trigger="90000").with_kind("stop-market")
    body = ticket.order(btc).payload()
    assert body == {
        "symbol": BTC,
        "side": "Ask",
        "orderType": "Market",
        "triggerQuantity": "0.01",
        "triggerPrice": "90000",
        "triggerBy": "MarkPrice",
    }
    preview = ticket.preview(btc, make_book(), Decimal("97000"), FEES)
    assert preview.error is None and preview.trigger == Decimal(90000)
    assert preview.trigger_rises is False and preview.notional == Decimal(900)
    text = preview_text(ticket, preview, btc, estimated_fee=False)
    assert "Trigger  90,000.0 on a fall of the mark price, then market" in text
    assert "Avg fill" not in text


def test_a_stop_limit_sends_trigger_and_price(btc: Market) -> None:
    ticket = Ticket(BTC, "Bid", price="98100", size="0.01", trigger="98000").with_kind("stop-limit")
    body = ticket.order(btc).payload()
    assert (body["orderType"], body["price"], body["triggerPrice"]) == ("Limit", "98100", "98000")
    assert body["triggerQuantity"] == "0.01" and "quantity" not in body
    preview = ticket.preview(btc, make_book(), Decimal("97000"), FEES)
    assert preview.trigger_rises is True and preview.entry == Decimal(98100)


def test_a_stop_needs_its_trigger(btc: Market) -> None:
    ticket = Ticket(BTC, "Ask", size="0.01").with_kind("stop-market")
    assert ticket.preview(btc, None, None, FEES).error == "enter a trigger price"


def test_a_stops_exits_are_measured_from_its_trigger(btc: Market) -> None:
    ticket = Ticket(BTC, "Ask", size="0.01", trigger="90000", take_profit="1%")
    body = ticket.with_kind("stop-market").order(btc).payload()
    assert body["takeProfitTriggerPrice"] == "89100"


# ------------------------------------------------------------------ the preview


def test_preview_shows_each_exit_and_its_pnl(btc: Market) -> None:
    book = make_book()  # asks 100.5, 101.5 ... (1 each)
    ticket = Ticket(BTC, "Bid", "Market", size="0.5", take_profit="+1%", stop_loss="-1%")
    preview = ticket.preview(btc, book, Decimal("100.5"), FEES)
    assert preview.error is None and preview.entry == Decimal("100.5")
    tp, sl = preview.take_profit, preview.stop_loss
    assert tp is not None and sl is not None
    assert (tp.trigger, sl.trigger) == (Decimal("101.5"), Decimal("99.5"))
    entry_fee = Decimal("100.5") * Decimal("0.5") * Decimal("0.0005")
    assert tp.pnl == Decimal("0.5") - entry_fee - Decimal("101.5") * Decimal("0.5") * FEES.taker
    assert sl.pnl == Decimal("-0.5") - entry_fee - Decimal("99.5") * Decimal("0.5") * FEES.taker
    text = preview_text(ticket, preview, btc, estimated_fee=False)
    assert "TP       101.5 (+1.00%) by mark → market" in text
    assert "SL       99.5 (-1.00%) by mark → market" in text
    assert "PnL +0.45 USDC after fees" in text and "PnL -0.55 USDC after fees" in text


def test_preview_of_a_limit_exit_uses_its_limit_price(btc: Market) -> None:
    ticket = limit(stop_loss="99.0", sl_limit="98.5")
    preview = ticket.preview(btc, make_book(), Decimal("100.5"), FEES)
    assert preview.stop_loss is not None and preview.take_profit is None
    maker_fee = Decimal("50") * FEES.maker
    assert preview.stop_loss.pnl == Decimal("-0.75") - maker_fee - Decimal("49.25") * FEES.taker
    assert "→ limit 98.5" in preview_text(ticket, preview, btc, estimated_fee=False)
