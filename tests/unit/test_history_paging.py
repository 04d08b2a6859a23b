"""Reading a history list to the end: pages, the cap, repeated rows, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bpx_tui.exchange.errors import RateLimitError
from bpx_tui.exchange.history import _read, read_account_history, read_all
from bpx_tui.exchange.rest import RestClient
from bpx_tui.exchange.signing import Signer
from tests.conftest import load_fixture
from tests.fakes.rest_server import TEST_SECRET, FakeRestServer


class Pages:
    """A newest-first list served in pages; ``insert_after`` new rows arrive after
    that many requests (they go on top and shift every older row one offset back)."""

    def __init__(self, rows: int, insert_after: int | None = None) -> None:
        self.rows = list(range(rows, 0, -1))
        self.calls: list[tuple[int, int]] = []
        self.insert_after = insert_after

    async def __call__(self, limit: int, offset: int) -> Sequence[int]:
        self.calls.append((limit, offset))
        if self.insert_after is not None and len(self.calls) == self.insert_after + 1:
            top = self.rows[0]
            self.rows[:0] = [top + 2, top + 1]
        return self.rows[offset : offset + limit]


async def test_reads_every_page_until_a_short_one() -> None:
    pages = Pages(2_500)
    got = await read_all(pages, lambda r: r, page=1000)
    assert list(got.rows) == list(range(2_500, 0, -1))
    assert not got.capped
    assert pages.calls == [(1000, 0), (1000, 1000), (1000, 2000)]


async def test_an_exact_multiple_ends_on_an_empty_page() -> None:
    pages = Pages(2_000)
    got = await read_all(pages, lambda r: r, page=1000)
    assert len(got.rows) == 2_000 and not got.capped and got.requests == 3


async def test_the_cap_stops_the_read_and_a_probe_says_more_exist() -> None:
    pages = Pages(12_345)
    got = await read_all(pages, lambda r: r, cap=10_000, page=1000)
    assert len(got.rows) == 10_000 and got.rows[0] == 12_345  # the newest kept
    assert got.capped
    assert pages.calls[-1] == (1, 10_000) and got.requests == 11


async def test_exactly_the_cap_is_not_capped() -> None:
    got = await read_all(Pages(10_000), lambda r: r, cap=10_000, page=1000)
    assert len(got.rows) == 10_000 and not got.capped


async def test_rows_arriving_during_the_read_repeat_a_row_never_skip_one() -> None:
    pages = Pages(2_500, insert_after=1)
    got = await read_all(pages, lambda r: r, page=1000)
    assert len(got.rows) == len(set(got.rows))
    assert set(range(1, 2_501)) <= set(got.rows)  # every row that existed at the start


async def test_a_failed_read_is_an_error_not_an_empty_list() -> None:
    async def refused(limit: int, offset: int) -> Sequence[int]:
        raise RateLimitError(429, "TOO_MANY_REQUESTS", "slow down", None)

    read = await _read(refused, lambda r: r, 100)
    assert read.rows == () and read.error == "TOO_MANY_REQUESTS: slow down"


async def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        await read_all(Pages(1), lambda r: r, cap=0)


async def test_an_unreadable_answer_and_a_server_error_are_said_per_kind() -> None:
    """Over a socket: fills answer an object, funding a 503 each time; orders still read."""
    async with FakeRestServer() as server:
        server.respond("GET", "/wapi/v1/history/fills", {"oops": 1})
        server.fail("GET", "/wapi/v1/history/funding", status=503, times=None)

        async def no_wait(seconds: float) -> None:
            await asyncio.sleep(0)

        async with RestClient(
            server.url, Signer(TEST_SECRET), sleep=no_wait, timeout=2.0, max_retries=2
        ) as rest:
            history = await read_account_history(rest)
        assert history.fills.rows == () and history.fills.error is not None
        assert "unexpected fill history answer" in history.fills.error
        assert history.funding.rows == () and history.funding.error is not None
        assert history.orders.error is None and history.orders.rows
        fixture = load_fixture("rest_history_orders.json")
        assert {o.id for o in history.orders.rows} == {str(row["id"]) for row in fixture}
        sent = server.calls("GET", "/wapi/v1/history/orders")[0].query
        assert (sent["limit"], sent["offset"], sent["sortDirection"]) == ("1000", "0", "Desc")
