"""What the trader reads before a pair trade is sent: both legs and the funding it earns.

Kept apart from the desk so the words are a unit test; the numbers are estimates at the
touch (a market order's fill is known only after it), and the text says so.
"""

from __future__ import annotations

from decimal import Decimal

from bpx_tui.exchange.client import BackpackClient
from bpx_tui.trading.order import NewOrder
from bpx_tui.trading.pair import PairPlan, funding_per_day
from bpx_tui.ui import fmt


def _leg(order: NewOrder, client: BackpackClient) -> str:
    book = client.books.get(order.symbol)
    touch = None
    if book is not None:
        touch = book.best_ask_price() if order.side == "Bid" else book.best_bid_price()
    size = order.terms.quantity or Decimal(0)
    side = fmt.side_word(order.side)
    if touch is None:
        return f"  {side:<4} {size:f} {order.symbol} at market (no book yet)"
    notional = fmt.num(size * touch, 2)
    return f"  {side:<4} {size:f} {order.symbol} at market ≈ {touch:f} ({notional} USDC)"


def funding_line(plan: PairPlan, client: BackpackClient) -> str:
    perp = client.markets[plan.perp.symbol]
    mark = client.marks.get(perp.symbol)
    interval = perp.funding_interval_ms
    if mark is None or mark.funding_rate is None or not interval:
        return "Funding: not known yet (no mark price or funding interval for the perp)"
    daily = funding_per_day(
        plan.direction, plan.quantity, mark.mark_price, mark.funding_rate, interval
    )
    way = "to you" if daily >= 0 else "FROM you"
    hours = interval / 3_600_000
    return (
        f"Funding at {fmt.pct(mark.funding_rate, 4)} per {hours:g}h: "
        f"{fmt.num(abs(daily), 2)} USDC a day {way} at the current rate (longs pay shorts "
        "when it is positive)"
    )


def pair_preview(plan: PairPlan, client: BackpackClient) -> str:
    """The confirm dialog's text: the legs in the order they are sent, the funding, and
    what happens when the second leg fails."""
    return "\n".join(
        [
            f"Pair {plan.direction} {plan.asset} {plan.quantity:f}",
            _leg(plan.perp, client) + "   (first)",
            _leg(plan.spot, client) + "   (then, sized by the perp's fill)",
            funding_line(plan, client),
            "If the spot leg is refused or fills short, the perp is unwound at once.",
            "Send both?",
        ]
    )
