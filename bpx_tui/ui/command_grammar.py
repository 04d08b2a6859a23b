"""The ``:`` command line's language: text in, a typed command (or an error) out.

Pure, without Textual, so every form and every refusal is a unit test::

    buy|sell SIZE [SYMBOL] [market | @PRICE | stop TRIGGER [@LIMIT]]
             [tp PRICE|+N%] [sl PRICE|-N%] [post] [reduce] [ioc|fok]
    close [SYMBOL|all]      cancel [SYMBOL|all]
    tp PRICE|+N%            sl PRICE|-N%          (the active market's position)
    lev N                   sym SYMBOL            funding   (the funding board)
    history                 (fills, orders, funding and realised PnL from the exchange)
    tf 1m|5m|15m|1h|4h|1d   (the chart's timeframe)
    pair ASSET SIZE short-perp|long-perp    (buy spot + sell perp, or the reverse)
    alert [SYMBOL] >|< PRICE                (the last traded price reaches PRICE)
    alert [SYMBOL] funding >|< RATE%        (funding per interval, a percent: 0.01%)
    alerts                                  (the list of alerts)

An order command never sends anything: it becomes a ticket, filled in, that the
trader sends with Enter (:meth:`OrderCommand.ticket`). Without ``market``, ``@PRICE``
or ``stop`` it is a limit that joins the best bid / ask, like ``b`` / ``s``. A
:class:`CommandError` names the token at fault by its position in the text, so the
command line can point at it. :func:`complete` offers the words that fit where the
cursor is.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from bpx_tui.exchange.vocab import Side, TimeInForce, TriggerBy
from bpx_tui.ui.candles import TIMEFRAMES, TimeframeError, parse_timeframe
from bpx_tui.ui.ticket_model import Kind, Ticket, TicketError, parse_size
from bpx_tui.ui.typed import ExitKind, Level, TypedError, parse_level, parse_positive

VERBS = (
    "buy",
    "sell",
    "close",
    "cancel",
    "tp",
    "sl",
    "lev",
    "sym",
    "funding",
    "history",
    "pair",
    "alert",
    "alerts",
    "tf",
)
PAIR_DIRECTIONS = ("short-perp", "long-perp")
ORDER_WORDS = ("market", "stop", "tp", "sl", "post", "reduce", "ioc", "fok")
ALL = "all"
DIRECTIONS = (">", "<")
FUNDING = "funding"
MAX_LEVERAGE = 50  # Backpack's leverage limit is a whole number 1..50
_TOKEN = re.compile(r"\S+")


class CommandError(ValueError):
    """The text is not a command; ``start:end`` is the token at fault (``end == start``
    when something is missing at the end)."""

    def __init__(self, message: str, start: int, end: int) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def error(self, message: str) -> CommandError:
        return CommandError(message, self.start, self.end)


def tokens(text: str) -> list[Token]:
    return [Token(m.group(), m.start()) for m in _TOKEN.finditer(text)]


# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class OrderCommand:
    """``buy`` / ``sell``: what the ticket opens filled in with."""

    side: Side
    size: str  # as typed: "0.01", or "1k" (a thousand of the quote unit)
    symbol: str | None = None  # None: the active market
    kind: Kind = "limit"
    price: Decimal | None = None  # None on a limit: join the best bid / ask
    trigger: Decimal | None = None
    take_profit: str | None = None  # as typed, checked: a price or +N%
    stop_loss: str | None = None
    post_only: bool = False
    reduce_only: bool = False
    tif: TimeInForce | None = None

    def ticket(self, active: str, trigger_by: TriggerBy = "MarkPrice") -> Ticket:
        """The ticket this command fills in (a limit without a price gets one from the
        desk, which knows the book)."""
        ticket = Ticket(
            self.symbol or active,
            self.side,
            size=self.size,
            price="" if self.price is None else format(self.price, "f"),
            trigger="" if self.trigger is None else format(self.trigger, "f"),
            take_profit=self.take_profit or "",
            stop_loss=self.stop_loss or "",
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            tif=self.tif or "GTC",
            trigger_by=trigger_by,
        )
        return ticket.with_kind(self.kind)


@dataclass(frozen=True, slots=True)
class CloseCommand:
    """``close``: the active market's position (``target`` None), one market's, or all."""

    target: str | None = None


@dataclass(frozen=True, slots=True)
class CancelCommand:
    """``cancel``: the active market's orders (``target`` None), one market's, or all."""

    target: str | None = None


@dataclass(frozen=True, slots=True)
class ExitCommand:
    """``tp`` / ``sl`` on the active market's position."""

    level: Level


@dataclass(frozen=True, slots=True)
class LeverageCommand:
    limit: int


@dataclass(frozen=True, slots=True)
class SymbolCommand:
    symbol: str


@dataclass(frozen=True, slots=True)
class PairCommand:
    """``pair``: spot and perp of one asset in one size, the perp short or long."""

    asset: str
    size: Decimal
    direction: Literal["short-perp", "long-perp"]


@dataclass(frozen=True, slots=True)
class FundingCommand:
    """``funding``: open the funding board (every perp's funding, sorted and filterable)."""


@dataclass(frozen=True, slots=True)
class AlertCommand:
    """``alert``: a level on the last price, or on the funding rate (a fraction per
    interval: ``0.01%`` is ``0.0001``). ``>`` fires at or above it, ``<`` at or below."""

    symbol: str | None  # None: the active market
    kind: Literal["price", "funding"]
    direction: Literal[">", "<"]
    level: Decimal


@dataclass(frozen=True, slots=True)
class AlertsCommand:
    """``alerts``: open the list of alerts."""


@dataclass(frozen=True, slots=True)
class HistoryCommand:
    """``history``: open the history screen (the exchange's fills, orders, funding)."""


@dataclass(frozen=True, slots=True)
class TimeframeCommand:
    """``tf``: the candle chart's timeframe, one of :data:`~bpx_tui.ui.candles.TIMEFRAMES`."""

    timeframe: str


Command = (
    OrderCommand
    | CloseCommand
    | CancelCommand
    | ExitCommand
    | LeverageCommand
    | SymbolCommand
    | PairCommand
    | FundingCommand
    | AlertCommand
    | AlertsCommand
    | HistoryCommand
    | TimeframeCommand
)


# ----------------------------------------------------------------------------- parsing


def parse(text: str, symbols: Collection[str]) -> Command:
    """``text`` as a command on a venue listing ``symbols``, or :class:`CommandError`."""
    words = tokens(text)
    if not words:
        raise CommandError(f"type a command: {', '.join(VERBS)}", 0, 0)
    verb, rest = words[0], words[1:]
    name = verb.text.lower()
    if name in ("buy", "sell"):
        return _order("Bid" if name == "buy" else "Ask", verb, rest, symbols)
    if name in ("close", "cancel"):
        target = _one_optional(verb, rest, f"{name} takes one market or 'all'")
        chosen = None
        if target is not None:
            chosen = ALL if target.text.lower() == ALL else resolve_symbol(target, symbols)
        return CloseCommand(chosen) if name == "close" else CancelCommand(chosen)
    if name in ("tp", "sl"):
        kind: ExitKind = "tp" if name == "tp" else "sl"
        value = _one_required(verb, rest, f"{name} needs a price or {_hint(kind)}")
        return ExitCommand(_level(value, kind))
    if name == "lev":
        value = _one_required(verb, rest, f"lev needs a whole number 1..{MAX_LEVERAGE}")
        return LeverageCommand(_leverage(value))
    if name == "sym":
        value = _one_required(verb, rest, "sym needs a market, e.g. sym BTC_USDC_PERP")
        return SymbolCommand(resolve_symbol(value, symbols))
    if name == "pair":
        return _pair(verb, rest, symbols)
    if name in ("funding", "alerts", "history"):
        if rest:
            raise rest[0].error(f"unexpected {rest[0].text!r}: {name} takes nothing")
        if name == "funding":
            return FundingCommand()
        return AlertsCommand() if name == "alerts" else HistoryCommand()
    if name == "alert":
        return _alert(verb, rest, symbols)
    if name == "tf":
        value = _one_required(verb, rest, f"tf needs a timeframe: {', '.join(TIMEFRAMES)}")
        try:
            return TimeframeCommand(parse_timeframe(value.text))
        except TimeframeError as exc:
            raise value.error(str(exc)) from None
    close = difflib.get_close_matches(name, VERBS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f": one of {', '.join(VERBS)}"
    raise verb.error(f"unknown command {verb.text!r}{hint}")


def _pair(verb: Token, rest: list[Token], symbols: Collection[str]) -> PairCommand:
    usage = "pair needs ASSET SIZE short-perp|long-perp, e.g. pair SOL 10 short-perp"
    if len(rest) < 3:
        raise CommandError(
            usage, (rest[-1] if rest else verb).end, (rest[-1] if rest else verb).end
        )
    if len(rest) > 3:
        raise rest[3].error(f"unexpected {rest[3].text!r}: {usage}")
    asset, size, direction = rest
    base = asset.text.upper()
    if f"{base}_USDC_PERP" not in symbols or f"{base}_USDC" not in symbols:
        raise asset.error(f"{asset.text!r}: a pair needs both {base}_USDC and {base}_USDC_PERP")
    try:
        quantity = parse_positive(size.text, "pair size")
    except TypedError as exc:
        raise size.error(str(exc)) from None
    way = direction.text.lower()
    if way not in PAIR_DIRECTIONS:
        raise direction.error(f"{direction.text!r}: short-perp or long-perp")
    return PairCommand(base, quantity, "short-perp" if way == "short-perp" else "long-perp")


ALERT_USAGE = "alert [SYMBOL] >|< PRICE, or alert [SYMBOL] funding >|< RATE%"
RATE_LIMIT = Decimal(100)  # percent per interval: anything at or past it is a typo


def _alert(verb: Token, rest: list[Token], symbols: Collection[str]) -> AlertCommand:
    """``[SYMBOL] [funding] >|< LEVEL``: the comparison is a word of its own."""
    for token in rest:
        if token.text not in DIRECTIONS and any(c in token.text for c in "<>="):
            raise token.error(
                f"{token.text!r}: write the comparison as a word of its own, > or <"
                " (> fires at or above the level, < at or below)"
            )
    words = list(rest)
    symbol: str | None = None
    symbol_token: Token | None = None
    if words and words[0].text.lower() != FUNDING and words[0].text not in DIRECTIONS:
        symbol_token = words.pop(0)
        symbol = resolve_symbol(symbol_token, symbols)
    kind: Literal["price", "funding"] = "price"
    if words and words[0].text.lower() == FUNDING:
        kind = "funding"
        funding = words.pop(0)
        if symbol is not None and symbol_token is not None and not symbol.endswith("_PERP"):
            raise symbol_token.error(f"{symbol} is spot: a funding alert needs a perp")
        after = funding
    else:
        after = symbol_token or verb
    if not words:
        raise CommandError(f"alert needs > or < then a level: {ALERT_USAGE}", after.end, after.end)
    comparison = words.pop(0)
    if comparison.text not in DIRECTIONS:
        expected = "> or <" if kind == "funding" else "funding, > or <"
        raise comparison.error(f"unexpected {comparison.text!r}: expected {expected}")
    direction: Literal[">", "<"] = ">" if comparison.text == ">" else "<"
    if not words:
        what = "a rate per interval, e.g. 0.01%" if kind == "funding" else "a price"
        raise CommandError(f"{comparison.text} needs {what}", comparison.end, comparison.end)
    value = words.pop(0)
    if words:
        raise words[0].error(f"unexpected {words[0].text!r}: {ALERT_USAGE}")
    level = _rate(value) if kind == "funding" else _price(value, "alert price")
    return AlertCommand(symbol, kind, direction, level)


def _rate(token: Token) -> Decimal:
    """A funding rate per interval as the funding board shows it, a percent with ``%``
    (``0.01%``, ``-0.005%``); a bare number is refused, since ``0.01`` could mean 0.01 %
    or 1 %."""
    text = token.text
    if not text.endswith("%"):
        raise token.error(
            f"funding rate {text!r}: write it as a percent per interval with %, e.g. "
            f"{text}% (the funding board's unit)"
        )
    body = text[:-1].replace(",", "")
    try:
        percent = Decimal(body)
    except ArithmeticError:
        raise token.error(f"funding rate {text!r} is not a number") from None
    if not percent.is_finite():
        raise token.error(f"funding rate {text!r} is not a number")
    if abs(percent) >= RATE_LIMIT:
        raise token.error(f"funding rate {text}: a rate per interval is under 100%")
    return percent / 100


def _hint(kind: ExitKind) -> str:
    return "+N%" if kind == "tp" else "-N%"


def _one_optional(verb: Token, rest: list[Token], usage: str) -> Token | None:
    if len(rest) > 1:
        raise rest[1].error(f"unexpected {rest[1].text!r}: {usage}")
    return rest[0] if rest else None


def _one_required(verb: Token, rest: list[Token], usage: str) -> Token:
    if not rest:
        raise CommandError(usage, verb.end, verb.end)
    if len(rest) > 1:
        raise rest[1].error(f"unexpected {rest[1].text!r}: {usage}")
    return rest[0]


def _level(token: Token, kind: ExitKind) -> Level:
    try:
        return parse_level(token.text, kind)
    except TypedError as exc:
        raise token.error(str(exc)) from None


def _price(token: Token, what: str) -> Decimal:
    try:
        return parse_positive(token.text, what)
    except TypedError as exc:
        raise token.error(str(exc)) from None


def _leverage(token: Token) -> int:
    text = token.text.lower().removesuffix("x")
    if not text.isdigit() or not 1 <= int(text) <= MAX_LEVERAGE:
        raise token.error(f"leverage {token.text!r}: a whole number 1..{MAX_LEVERAGE}")
    return int(text)


def resolve_symbol(token: Token, symbols: Collection[str]) -> str:
    """A market as typed: its symbol in any case (``btc_usdc_perp``), or a base asset
    (``btc``, ``kPEPE``) when it names one perp, else one market. Symbols are never
    upper-cased on the way out: ``kPEPE_USDC_PERP`` stays as the venue lists it."""
    typed = token.text
    exact = [s for s in symbols if s.lower() == typed.lower()]
    if exact:
        return exact[0]
    by_base = [s for s in symbols if s.split("_", 1)[0].lower() == typed.lower()]
    perps = [s for s in by_base if s.endswith("_PERP")]
    if len(perps) == 1:
        return perps[0]
    if len(by_base) == 1:
        return by_base[0]
    close = difflib.get_close_matches(typed.upper(), [s.upper() for s in symbols], n=1)
    hint = ""
    if close:
        hint = " (did you mean " + next(s for s in symbols if s.upper() == close[0]) + "?)"
    raise token.error(f"unknown market {typed!r}{hint}")


_Field = Literal["type", "tp", "sl", "post", "reduce", "tif", "symbol"]


class _OrderParser:
    """``buy`` / ``sell`` after the verb: SIZE, then the optional parts in any order,
    each at most once."""

    def __init__(
        self, side: Side, verb: Token, rest: list[Token], symbols: Collection[str]
    ) -> None:
        self.verb = verb
        self.rest = rest
        self.symbols = symbols
        self.index = 0
        self.seen: dict[_Field, Token] = {}
        self.command = OrderCommand(side, "")

    def next(self, usage: str, after: Token) -> Token:
        if self.index >= len(self.rest):
            raise CommandError(usage, after.end, after.end)
        token = self.rest[self.index]
        self.index += 1
        return token

    def once(self, field: _Field, token: Token, what: str) -> None:
        earlier = self.seen.get(field)
        if earlier is not None:
            raise token.error(f"{token.text!r}: {what} is already given ({earlier.text!r})")
        self.seen[field] = token

    def parse(self) -> OrderCommand:
        size = self.next(
            f"{self.verb.text.lower()} needs a size, e.g. {self.verb.text.lower()} 0.01",
            self.verb,
        )
        try:
            parse_size(size.text)
        except TicketError as exc:
            raise size.error(str(exc)) from None
        self.command = replace(self.command, size=size.text)
        while self.index < len(self.rest):
            self.part(self.next("", size))
        self.check_combinations()
        return self.command

    def part(self, token: Token) -> None:
        word = token.text.lower()
        command = self.command
        if word == "market":
            self.once("type", token, "the order type")
            self.command = replace(command, kind="market")
        elif word.startswith("@"):
            self.once("type", token, "the order type")
            price = self.at_price(token, "limit price")
            self.command = replace(command, kind="limit", price=price)
        elif word == "stop":
            self.once("type", token, "the order type")
            trigger = self.next("stop needs a trigger price, e.g. stop 90000", token)
            self.command = replace(
                command, kind="stop-market", trigger=_price(trigger, "trigger price")
            )
            if self.index < len(self.rest) and self.rest[self.index].text.startswith("@"):
                limit = self.next("", trigger)
                price = self.at_price(limit, "stop limit price")
                self.command = replace(self.command, kind="stop-limit", price=price)
        elif word in ("tp", "sl"):
            kind: ExitKind = "tp" if word == "tp" else "sl"
            name = "the take-profit" if kind == "tp" else "the stop-loss"
            self.once(kind, token, name)
            value = self.next(f"{word} needs a price or {_hint(kind)}", token)
            _level(value, kind)
            if kind == "tp":
                self.command = replace(command, take_profit=value.text)
            else:
                self.command = replace(command, stop_loss=value.text)
        elif word == "post":
            self.once("post", token, "post-only")
            self.command = replace(command, post_only=True)
        elif word == "reduce":
            self.once("reduce", token, "reduce-only")
            self.command = replace(command, reduce_only=True)
        elif word in ("ioc", "fok"):
            self.once("tif", token, "the time in force")
            self.command = replace(command, tif="IOC" if word == "ioc" else "FOK")
        elif "symbol" not in self.seen and len(self.rest) > 1 and token is self.rest[1]:
            self.seen["symbol"] = token
            self.command = replace(command, symbol=resolve_symbol(token, self.symbols))
        else:
            expected = ", ".join(["market", "@PRICE", *ORDER_WORDS[1:]])
            raise token.error(f"unexpected {token.text!r}: expected {expected}")

    def at_price(self, token: Token, what: str) -> Decimal:
        """``@97000``, or ``@`` then the price as the next word."""
        if token.text == "@":
            return _price(self.next(f"@ needs a {what}", token), what)
        return _price(Token(token.text[1:], token.start + 1), what)

    def check_combinations(self) -> None:
        command = self.command
        kind = command.kind
        if command.post_only and (command.kind != "limit" or command.tif is not None):
            why = "a limit order that rests" if command.tif is None else "GTC, not IOC/FOK"
            raise self.seen["post"].error(f"post-only needs {why} (the order is {kind})")
        if command.tif is not None and command.kind in ("market", "stop-market"):
            raise self.seen["tif"].error(
                f"{command.tif.lower()} applies to a limit price: the order is {kind}"
            )


def _order(side: Side, verb: Token, rest: list[Token], symbols: Collection[str]) -> OrderCommand:
    return _OrderParser(side, verb, rest, symbols).parse()


# ----------------------------------------------------------------------------- completion


@dataclass(frozen=True, slots=True)
class Completion:
    """Words that fit the token under the cursor; replace ``text[start:end]`` with one."""

    start: int
    end: int
    candidates: tuple[str, ...]


def complete(text: str, cursor: int, symbols: Collection[str]) -> Completion:
    """The candidates for the word the cursor is in (or about to start)."""
    cursor = max(0, min(cursor, len(text)))
    start = cursor
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end = cursor
    while end < len(text) and not text[end].isspace():
        end += 1
    prefix = text[start:cursor].lower()
    before = tokens(text[:start])
    pool = _pool(before, symbols)
    candidates = tuple(word for word in pool if word.lower().startswith(prefix))
    return Completion(start, end, candidates)


def apply_completion(text: str, cursor: int, found: Completion) -> tuple[str, int]:
    """The line and cursor after Tab: the one candidate (a space after it at the end
    of the line), or as much as every candidate shares; unchanged when they share
    nothing beyond what is typed (the caller then lists them)."""
    if not found.candidates:
        return text, cursor
    if len(found.candidates) == 1:
        word = found.candidates[0] + ("" if found.end < len(text) else " ")
    else:
        lowered = [c.lower() for c in found.candidates]
        shared = 0
        while all(len(c) > shared and c[shared] == lowered[0][shared] for c in lowered):
            shared += 1
        if shared <= cursor - found.start:
            return text, cursor
        word = found.candidates[0][:shared]
    return text[: found.start] + word + text[found.end :], found.start + len(word)


def _pool(before: list[Token], symbols: Collection[str]) -> list[str]:
    """What may come after the words ``before`` the cursor."""
    if not before:
        return list(VERBS)
    verb = before[0].text.lower()
    count = len(before)
    ordered = sorted(symbols)
    if verb in ("close", "cancel"):
        return [ALL, *ordered] if count == 1 else []
    if verb == "sym":
        return ordered if count == 1 else []
    if verb == "alert":
        return _alert_pool(before[1:], symbols)
    if verb == "tf":
        return list(TIMEFRAMES) if count == 1 else []
    if verb == "pair":
        if count == 1:
            return sorted({s[: -len("_USDC_PERP")] for s in symbols if s.endswith("_USDC_PERP")})
        return list(PAIR_DIRECTIONS) if count == 3 else []
    if verb in ("tp", "sl"):
        return ["+1%"] if verb == "tp" and count == 1 else ["-1%"] if count == 1 else []
    if verb not in ("buy", "sell") or count == 1:
        return []  # a size, a leverage, or nothing more: no words to offer
    last = before[-1].text.lower()
    if last == "tp":
        return ["+1%", "+2%"]
    if last == "sl":
        return ["-1%", "-2%"]
    if last in ("stop",) or last.startswith("@"):
        return []
    used = {t.text.lower() for t in before[2:]}
    if used & {"market", "stop"} or any(t.text.startswith("@") for t in before[2:]):
        used |= {"market", "stop"}
    if used & {"ioc", "fok"}:
        used |= {"ioc", "fok"}
    words = [w for w in ORDER_WORDS if w not in used]
    return words + (ordered if count == 2 else [])


def _alert_pool(after: list[Token], symbols: Collection[str]) -> list[str]:
    """``alert``'s words: a market (or straight to the comparison), funding on a perp,
    then > or <; the level is a number, so nothing is offered for it."""
    words = [t.text.lower() for t in after]
    head = [FUNDING]
    named = bool(words) and words[0] not in (FUNDING, *DIRECTIONS)
    if named:
        try:
            perp = resolve_symbol(after[0], symbols).endswith("_PERP")
        except CommandError:
            return []
        head, words = ([FUNDING] if perp else []), words[1:]
    if not words:
        return [*head, *DIRECTIONS] + ([] if named else sorted(symbols))
    if words == [FUNDING]:
        return list(DIRECTIONS)
    return []
