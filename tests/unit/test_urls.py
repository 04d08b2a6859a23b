"""``is_loopback``: the proxy bypass and the DEMO badge must agree on what is local."""

from __future__ import annotations

import pytest

from bpx_tui.exchange.urls import is_loopback, is_loopback_host


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8800",
        "ws://127.0.0.2:8800/ws",
        "http://localhost/api",
        "http://LOCALHOST:1",
        "ws://[::1]:9000",
    ],
)
def test_local_addresses_are_loopback(url: str) -> None:
    assert is_loopback(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.backpack.exchange",
        "wss://ws.backpack.exchange",
        "http://0.0.0.0:1",
        "",
        "nonsense",
    ],
)
def test_anything_else_is_remote(url: str) -> None:
    assert not is_loopback(url)


def test_host_form_takes_a_bare_host() -> None:
    assert is_loopback_host("::1") and is_loopback_host("127.9.9.9")
    assert not is_loopback_host("example.com") and not is_loopback_host("[::1]")
