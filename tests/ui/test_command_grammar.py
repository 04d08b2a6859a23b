"""The ``:`` command line's grammar: every form, every refusal (with the token it
points at), and completion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bpx_tui.ui.command_grammar import (
    AlertCommand,
    AlertsCommand,
    CancelCommand,
    CloseCommand,
    Command,
    CommandError,
    ExitCommand,
    FundingCommand,
    HistoryCommand,
    LeverageCommand,
    OrderCommand,
    PairCommand,
    SymbolCommand,
    TimeframeCommand,
    apply_completion,
    complete,
    parse,
)
from bpx_tui.ui.typed import Level

SYMBOLS = ("BTC_USDC_PERP", "BTC_USDC", "ETH_USDC_PERP", "SOL_USDC", "kPEPE_USDC_PERP")
BTC = "BTC_USDC_PERP"


def order(**fields: object) -> OrderCommand:
    side = fields.pop("side", "Bid")
    return OrderCommand(side, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("buy 0.01", order(size="0.01")),
        ("SELL 0.5", order(side="Ask", size="0.5")),
        ("buy 1k", order(size="1k")),
        ("buy 0.01 market", order(size="0.01", kind="market")),
        ("buy 0.01 btc market", order(size="0.01", symbol=BTC, kind="market")),
        ("buy 0.01 eth_usdc_perp @3000", order(size="0.01", symbol="ETH_USDC_PERP", kind="limit", price=Decimal(3000))),
        ("buy 0.01 kpepe @0.01", order(size="0.01", symbol="kPEPE_USDC_PERP", price=Decimal("0.01"))),
        ("buy 0.01 sol @150", order(size="0.01", symbol="SOL_USDC", price=Decimal(150))),
        ("sell 0.01 @ 97,000.5", order(side="Ask", size="0.01", price=Decimal("97000.5"))),
        ("sell 0.01 stop 90000", order(side="Ask", size="0.01", kind="stop-market", trigger=Decimal(90000))),
        (
            "sell 0.01 stop 90000 @89900",
            order(side="Ask", size="0.01", kind="stop-limit", trigger=Decimal(90000), price=Decimal(89900)),
        ),
        (
            "buy 0.01 market tp +1% sl -1%",
            order(size="0.01", kind="market", take_profit="+1%", stop_loss="-1%"),
        ),
        ("buy 0.01 @97000 tp 99000 sl 95000", order(size="0.01", price=Decimal(97000), take_profit="99000", stop_loss="95000")),
        ("buy 0.01 @97000 post", order(size="0.01", price=Decimal(97000), post_only=True)),
        ("sell 0.01 market reduce", order(side="Ask", size="0.01", kind="market", reduce_only=True)),
        ("buy 0.01 @97000 ioc", order(size="0.01", price=Decimal(97000), tif="IOC")),
        ("buy 0.01 @97000 FOK", order(size="0.01", price=Decimal(97000), tif="FOK")),
        ("buy 0.01 sl 1% tp 2% market", order(size="0.01", kind="market", take_profit="2%", stop_loss="1%")),
        ("close", CloseCommand()),
        ("close all", CloseCommand("all")),
        ("close eth", CloseCommand("ETH_USDC_PERP")),
        ("cancel", CancelCommand()),
        ("cancel ALL", CancelCommand("all")),
        ("cancel btc_usdc", CancelCommand("BTC_USDC")),
        ("tp +1%", ExitCommand(Level("tp", percent=Decimal(1)))),
        ("tp 99000", ExitCommand(Level("tp", price=Decimal(99000)))),
        ("sl -0.5%", ExitCommand(Level("sl", percent=Decimal("0.5")))),
        ("lev 5", LeverageCommand(5)),
        ("lev 20x", LeverageCommand(20)),
        ("sym sol_usdc", SymbolCommand("SOL_USDC")),
        ("  sym   btc  ", SymbolCommand(BTC)),
        ("funding", FundingCommand()),
        ("  FUNDING ", FundingCommand()),
        ("history", HistoryCommand()),
        ("HISTORY", HistoryCommand()),
        ("tf 5m", TimeframeCommand("5m")),
        ("TF 1H", TimeframeCommand("1h")),
    ],
)  # fmt: skip
def test_every_form(text: str, command: Command) -> None:
    assert parse(text, SYMBOLS) == command


@pytest.mark.parametrize(
    ("text", "bad", "message"),
    [
        ("", "", "type a command: buy, sell, close, cancel, tp, sl, lev, sym, funding, history, pair, alert, alerts, tf"),
        ("bye 1", "bye", "unknown command 'bye' (did you mean 'buy'?)"),
        ("launch", "launch", "unknown command 'launch': one of buy, sell"),
        ("buy", "", "buy needs a size, e.g. buy 0.01"),
        ("buy abc", "abc", "size 'abc' is not a number"),
        ("buy 0", "0", "size must be positive, got 0"),
        ("buy 0.01 doge", "doge", "unknown market 'doge'"),
        ("buy 0.01 btc eth", "eth", "unexpected 'eth': expected market, @PRICE, stop, tp"),
        ("buy 0.01 market @97000", "@97000", "'@97000': the order type is already given ('market')"),
        ("buy 0.01 @abc", "abc", "limit price 'abc' is not a number"),
        ("buy 0.01 @", "", "@ needs a limit price"),
        ("sell 0.01 stop", "", "stop needs a trigger price, e.g. stop 90000"),
        ("sell 0.01 stop x", "x", "trigger price 'x' is not a number"),
        ("sell 0.01 stop 90000 @-1", "-1", "stop limit price must be positive, got -1"),
        ("buy 0.01 tp", "", "tp needs a price or +N%"),
        ("buy 0.01 tp -1%", "-1%", "a take-profit is a gain: write +1% (or 1%)"),
        ("buy 0.01 sl +1%", "+1%", "a stop-loss is a loss: write -1% (or 1%)"),
        ("buy 0.01 sl 150%", "150%", "stop-loss 150%: a distance must be under 100%"),
        ("buy 0.01 tp 1% tp 2%", "tp", "'tp': the take-profit is already given ('tp')"),
        ("buy 0.01 market post", "post", "post-only needs a limit order that rests (the order is market)"),
        ("buy 0.01 @97000 ioc post", "post", "post-only needs GTC, not IOC/FOK (the order is limit)"),
        ("buy 0.01 market ioc", "ioc", "ioc applies to a limit price: the order is market"),
        ("buy 0.01 reduce reduce", "reduce", "'reduce': reduce-only is already given ('reduce')"),
        ("buy 0.01 ioc fok", "fok", "'fok': the time in force is already given ('ioc')"),
        ("close btc eth", "eth", "unexpected 'eth': close takes one market or 'all'"),
        ("cancel xyz", "xyz", "unknown market 'xyz'"),
        ("tp", "", "tp needs a price or +N%"),
        ("sl +2%", "+2%", "a stop-loss is a loss: write -2% (or 2%)"),
        ("tp 1% 2%", "2%", "unexpected '2%': tp needs a price or +N%"),
        ("lev", "", "lev needs a whole number 1..50"),
        ("lev 0", "0", "leverage '0': a whole number 1..50"),
        ("lev 51", "51", "leverage '51': a whole number 1..50"),
        ("lev 2.5", "2.5", "leverage '2.5': a whole number 1..50"),
        ("sym", "", "sym needs a market, e.g. sym BTC_USDC_PERP"),
        ("sym btc_usdc_prep", "btc_usdc_prep", "unknown market 'btc_usdc_prep' (did you mean BTC_USDC_PERP?)"),
        ("sym usdc", "usdc", "unknown market 'usdc'"),
        ("funding btc", "btc", "unexpected 'btc': funding takes nothing"),
        ("fundign", "fundign", "unknown command 'fundign' (did you mean 'funding'?)"),
        ("history 7d", "7d", "unexpected '7d': history takes nothing"),
        ("histroy", "histroy", "unknown command 'histroy' (did you mean 'history'?)"),
        ("tf", "", "tf needs a timeframe: 1m, 5m, 15m, 1h, 4h, 1d"),
        ("tf 7m", "7m", "'7m' is not a timeframe: one of 1m, 5m, 15m, 1h, 4h, 1d"),
        ("tf 5m 1h", "1h", "unexpected '1h': tf needs a timeframe"),
    ],
)  # fmt: skip
def test_every_error_points_at_its_token(text: str, bad: str, message: str) -> None:
    with pytest.raises(CommandError) as err:
        parse(text, SYMBOLS)
    assert err.value.message.startswith(message)
    assert text[err.value.start : err.value.end] == bad
    if not bad:  # something missing: the point is the end of what was typed
        assert err.value.start == len(text.rstrip())


def test_the_error_names_the_repeated_token_not_the_first() -> None:
    text = "buy 0.01 tp 1% tp 2%"
    with pytest.raises(CommandError) as err:
        parse(text, SYMBOLS)
    assert err.value.start == text.rindex("tp")


def test_an_order_command_becomes_its_ticket() -> None:
    command = parse("sell 0.01 eth stop 3000 @2990 tp 2% sl -1% reduce", SYMBOLS)
    assert isinstance(command, OrderCommand)
    ticket = command.ticket(BTC, "IndexPrice")
    assert (ticket.symbol, ticket.side, ticket.kind) == ("ETH_USDC_PERP", "Ask", "stop-limit")
    assert (ticket.trigger, ticket.price, ticket.size) == ("3000", "2990", "0.01")
    assert (ticket.take_profit, ticket.stop_loss) == ("2%", "-1%")
    assert ticket.reduce_only and ticket.trigger_by == "IndexPrice"
    plain = parse("buy 1k", SYMBOLS)
    assert isinstance(plain, OrderCommand)
    joined = plain.ticket(BTC)
    assert (joined.symbol, joined.kind, joined.price, joined.in_quote) == (BTC, "limit", "", True)


# ------------------------------------------------------------------ completion


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("", ("buy", "sell", "close", "cancel", "tp", "sl", "lev", "sym", "funding", "history", "pair", "alert", "alerts", "tf")),
        ("h", ("history",)),
        ("t", ("tp", "tf")),
        ("tf ", ("1m", "5m", "15m", "1h", "4h", "1d")),
        ("tf 1", ("1m", "15m", "1h", "1d")),
        ("tf 5m ", ()),
        ("f", ("funding",)),
        ("funding ", ()),
        ("c", ("close", "cancel")),
        ("S", ("sell", "sl", "sym")),
        ("close ", ("all", *sorted(SYMBOLS))),
        ("cancel e", ("ETH_USDC_PERP",)),
        ("sym k", ("kPEPE_USDC_PERP",)),
        ("sym btc_usdc", ("BTC_USDC", "BTC_USDC_PERP")),
        ("buy ", ()),
        ("lev ", ()),
        ("buy 0.01 ", ("market", "stop", "tp", "sl", "post", "reduce", "ioc", "fok", *sorted(SYMBOLS))),
        ("buy 0.01 s", ("stop", "sl", "SOL_USDC")),
        ("buy 0.01 btc m", ("market",)),
        ("buy 0.01 market ", ("tp", "sl", "post", "reduce", "ioc", "fok")),
        ("buy 0.01 @97000 ioc ", ("tp", "sl", "post", "reduce")),
        ("buy 0.01 tp ", ("+1%", "+2%")),
        ("buy 0.01 sl ", ("-1%", "-2%")),
        ("buy 0.01 stop ", ()),
        ("tp ", ("+1%",)),
        ("sl ", ("-1%",)),
    ],
)  # fmt: skip
def test_completion_offers_what_fits_at_the_cursor(text: str, candidates: tuple[str, ...]) -> None:
    completion = complete(text, len(text), SYMBOLS)
    assert completion.candidates == candidates
    word_start = len(text) - len(text.split(" ")[-1])
    assert (completion.start, completion.end) == (word_start, len(text))


def test_completion_in_the_middle_replaces_the_whole_word() -> None:
    text = "buy 0.01 mar tp 1%"
    cursor = text.index("mar") + 2
    completion = complete(text, cursor, SYMBOLS)
    assert completion.candidates == ("market",)
    assert text[completion.start : completion.end] == "mar"


PAIRED = ("SOL_USDC", "SOL_USDC_PERP", "BTC_USDC_PERP")


def test_pair_names_an_asset_a_size_and_which_way_the_perp_goes() -> None:
    assert parse("pair sol 10 short-perp", PAIRED) == PairCommand("SOL", Decimal(10), "short-perp")
    assert parse("PAIR SOL 2.5 Long-Perp", PAIRED) == PairCommand(
        "SOL", Decimal("2.5"), "long-perp"
    )


@pytest.mark.parametrize(
    ("text", "bad", "message"),
    [
        ("pair", "", "pair needs ASSET SIZE short-perp|long-perp"),
        ("pair SOL 10", "", "pair needs ASSET SIZE"),
        ("pair BTC 1 short-perp", "BTC", "needs both BTC_USDC and BTC_USDC_PERP"),
        ("pair SOL ten short-perp", "ten", "pair size"),
        ("pair SOL 10 sideways", "sideways", "short-perp or long-perp"),
        ("pair SOL 10 short-perp now", "now", "unexpected 'now'"),
    ],
)
def test_pair_errors_point_at_their_token(text: str, bad: str, message: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text, PAIRED)
    error = caught.value
    assert message in error.message
    assert text[error.start : error.end] == bad
    if not bad:
        assert error.start == error.end == len(text)


def test_pair_completes_assets_with_a_perp_then_the_direction() -> None:
    assert complete("pair ", 5, PAIRED).candidates == ("BTC", "SOL")
    assert complete("pair SOL 1 s", 12, PAIRED).candidates == ("short-perp",)


# ------------------------------------------------------------------ alerts


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("alert btc > 100000", AlertCommand(BTC, "price", ">", Decimal(100_000))),
        ("ALERT BTC_USDC < 90,000.5", AlertCommand("BTC_USDC", "price", "<", Decimal("90000.5"))),
        ("alert kpepe < 0.004", AlertCommand("kPEPE_USDC_PERP", "price", "<", Decimal("0.004"))),
        ("alert > 100", AlertCommand(None, "price", ">", Decimal(100))),  # the active market
        # A funding rate is written as the funding board shows it: percent per interval.
        ("alert eth funding > 0.01%", AlertCommand("ETH_USDC_PERP", "funding", ">", Decimal("0.0001"))),
        ("alert eth FUNDING < -0.005%", AlertCommand("ETH_USDC_PERP", "funding", "<", Decimal("-0.00005"))),
        ("alert funding < 0%", AlertCommand(None, "funding", "<", Decimal(0))),
        ("alerts", AlertsCommand()),
    ],
)  # fmt: skip
def test_every_alert_form(text: str, command: Command) -> None:
    assert parse(text, SYMBOLS) == command


@pytest.mark.parametrize(
    ("text", "bad", "message"),
    [
        ("alert", "", "alert needs > or < then a level: alert [SYMBOL] >|< PRICE, or alert [SYMBOL] funding >|< RATE%"),
        ("alert btc", "", "alert needs > or < then a level"),
        ("alert doge > 1", "doge", "unknown market 'doge'"),
        ("alert btc 100", "100", "unexpected '100': expected funding, > or <"),
        ("alert btc >", "", "> needs a price"),
        ("alert btc > abc", "abc", "alert price 'abc' is not a number"),
        ("alert btc > 0", "0", "alert price must be positive, got 0"),
        ("alert btc > 1 2", "2", "unexpected '2'"),
        ("alert btc >100000", ">100000", "'>100000': write the comparison as a word of its own, > or <"),
        ("alert btc >= 1", ">=", "'>=': write the comparison as a word of its own"),
        ("alert btc = 1", "=", "'=': write the comparison as a word of its own"),
        # A bare rate is ambiguous (0.01 % or 1 %?): refused, with the form to write.
        ("alert btc funding > 0.01", "0.01", "funding rate '0.01': write it as a percent per interval with %, e.g. 0.01%"),
        ("alert btc funding > x%", "x%", "funding rate 'x%' is not a number"),
        ("alert btc funding > 100%", "100%", "funding rate 100%: a rate per interval is under 100%"),
        ("alert btc funding", "", "alert needs > or < then a level"),
        ("alert btc funding >", "", "> needs a rate per interval, e.g. 0.01%"),
        ("alert btc funding 1%", "1%", "unexpected '1%': expected > or <"),
        ("alert sol_usdc funding > 0.01%", "sol_usdc", "SOL_USDC is spot: a funding alert needs a perp"),
        ("alerts btc", "btc", "unexpected 'btc': alerts takes nothing"),
        ("alret btc > 1", "alret", "unknown command 'alret' (did you mean 'alert'?)"),
    ],
)  # fmt: skip
def test_every_alert_error_points_at_its_token(text: str, bad: str, message: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text, SYMBOLS)
    error = caught.value
    assert error.message.startswith(message)
    assert text[error.start : error.end] == bad


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("al", ("alert", "alerts")),
        ("alert ", ("funding", ">", "<", *sorted(SYMBOLS))),
        ("alert e", ("ETH_USDC_PERP",)),
        ("alert btc ", ("funding", ">", "<")),
        ("alert sol_usdc ", (">", "<")),  # spot: no funding
        ("alert eth f", ("funding",)),
        ("alert eth funding ", (">", "<")),
        ("alert funding ", (">", "<")),
        ("alert btc > ", ()),  # a number: nothing to offer
        ("alert doge ", ()),
    ],
)  # fmt: skip
def test_alert_completion(text: str, candidates: tuple[str, ...]) -> None:
    assert complete(text, len(text), SYMBOLS).candidates == candidates


def test_tab_completes_an_alert_word_by_word() -> None:
    text = "alert eth f"
    line, cursor = apply_completion(text, len(text), complete(text, len(text), SYMBOLS))
    assert (line, cursor) == ("alert eth funding ", len("alert eth funding "))
