"""The local exchange verifies signatures exactly as docs/PROTOCOL.md "Signing" describes."""

from __future__ import annotations

from typing import Any

import pytest

from bpx_tui.exchange.signing import Signer
from bpx_tui.sim.errors import SimError
from bpx_tui.sim.wire.auth import AuthPolicy, message_for, verify_request, verify_ws_signature
from tests.conftest import load_fixture

VECTORS = load_fixture("signing_vectors.json")
KEY = VECTORS["key"]["apiKeyBase64"]
SECRET = VECTORS["key"]["secretBase64"]
GOOD = [v for v in VECTORS["vectors"] if "expectServer" not in v]
BATCH_FIXTURE = load_fixture("rest_orders_batch_request.json")["body"]


def _instruction_of(string: str) -> str:
    return string.split("&", 1)[0].removeprefix("instruction=")


def _params_of(vector: dict[str, Any]) -> Any:
    if "params" in vector:
        return vector["params"]
    assert "batch" in vector["name"]
    return BATCH_FIXTURE


def _headers(signature: str, ts: int, window: int | None, key: str = KEY) -> dict[str, str]:
    headers = {"X-API-Key": key, "X-Signature": signature, "X-Timestamp": str(ts)}
    if window is not None:
        headers["X-Window"] = str(window)
    return headers


@pytest.mark.parametrize("vector", GOOD, ids=[v["name"] for v in GOOD])
def test_golden_vectors_verify_as_body_and_rebuild_exactly(vector: dict[str, Any]) -> None:
    params = _params_of(vector)
    instruction = _instruction_of(vector["signingString"])
    ts, window = vector["timestamp"], vector["window"]
    assert message_for(instruction, {}, params, ts, window) == vector["signingString"]
    key = verify_request(
        instruction, _headers(vector["signature"], ts, window), {}, params, now_ms=ts + 1
    )
    assert key == KEY


@pytest.mark.parametrize(
    "vector",
    [v for v in GOOD if isinstance(v.get("params"), dict) and v["instruction"] != "subscribe"],
    ids=lambda v: v["name"],
)
def test_golden_vectors_verify_as_query_strings(vector: dict[str, Any]) -> None:
    """GET requests sign the decoded query values: every value arrives as text."""
    query = {
        k: ("true" if v is True else "false" if v is False else str(v))
        for k, v in vector["params"].items()
    }
    ts = vector["timestamp"]
    key = verify_request(
        _instruction_of(vector["signingString"]),
        _headers(vector["signature"], ts, vector["window"]),
        query,
        None,
        now_ms=ts,
    )
    assert key == KEY


def test_python_str_true_vector_is_rejected() -> None:
    bad = next(v for v in VECTORS["vectors"] if "expectServer" in v)
    good = next(
        v for v in VECTORS["vectors"] if v["name"] == "fixture rest_order_execute_request.json"
    )
    with pytest.raises(SimError) as info:
        verify_request(
            "orderExecute",
            _headers(bad["signature"], good["timestamp"], good["window"]),
            {},
            good["params"],
            now_ms=good["timestamp"],
        )
    assert (info.value.status, info.value.code, info.value.message) == (
        400,
        "INVALID_CLIENT_REQUEST",
        "Invalid signature",
    )


def _signed(
    now: int, *, ts: int | None = None, window: int = 5000, params: dict[str, Any] | None = None
) -> dict[str, str]:
    signer = Signer(SECRET, window=min(window, 60000))
    headers = signer.headers("balanceQuery", params or {}, timestamp=now if ts is None else ts)
    headers["X-Window"] = str(window)
    if window > 60000:  # Signer refuses such windows; sign the string by hand
        from bpx_tui.exchange.signing import signing_string

        stamp = now if ts is None else ts
        headers["X-Signature"] = signer.sign(signing_string("balanceQuery", {}, stamp, window))
    return headers


def _reject(
    headers: dict[str, str], now: int, body: Any = None, policy: AuthPolicy | None = None
) -> SimError:
    with pytest.raises(SimError) as info:
        verify_request("balanceQuery", headers, {}, body, now_ms=now, policy=policy)
    return info.value


NOW = 1_763_900_000_000


def test_fresh_request_within_window_passes_and_window_defaults_to_5000() -> None:
    headers = _signed(NOW, ts=NOW - 4999)
    assert verify_request("balanceQuery", headers, {}, None, now_ms=NOW) == KEY
    del headers["X-Window"]  # no header: the server assumes 5000 (signed text has window=5000)
    assert verify_request("balanceQuery", headers, {}, None, now_ms=NOW) == KEY


def test_expired_request_is_rejected() -> None:
    err = _reject(_signed(NOW, ts=NOW - 5001), NOW)
    assert (err.status, err.code, err.message) == (
        400,
        "INVALID_CLIENT_REQUEST",
        "Request has expired",
    )


def test_future_timestamp_beyond_skew_is_rejected_but_small_skew_passes() -> None:
    policy = AuthPolicy(future_skew_ms=2000)
    assert verify_request("balanceQuery", _signed(NOW, ts=NOW + 1500), {}, None, NOW, policy) == KEY
    err = _reject(_signed(NOW, ts=NOW + 2500), NOW, policy=policy)
    assert err.status == 400 and "future" in err.message


def test_window_over_60000_is_rejected() -> None:
    err = _reject(_signed(NOW, window=60001), NOW)
    assert err.code == "INVALID_CLIENT_REQUEST" and "X-Window" in err.message


def test_max_window_is_accepted() -> None:
    assert verify_request("balanceQuery", _signed(NOW - 59000, window=60000), {}, None, NOW) == KEY


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("not base64!!", "Invalid X-Signature header"),
        ("AAAA", "Invalid X-Signature header"),  # valid base64, wrong length
    ],
)
def test_malformed_signature_header(signature: str, message: str) -> None:
    headers = _signed(NOW)
    headers["X-Signature"] = signature
    assert _reject(headers, NOW).message == message


def test_signature_from_another_key_is_invalid() -> None:
    from bpx_tui.exchange.signing import generate_secret

    other = Signer(generate_secret())
    headers = other.headers("balanceQuery", {}, timestamp=NOW)
    headers["X-API-Key"] = KEY
    assert _reject(headers, NOW).message == "Invalid signature"


def test_missing_or_malformed_key_is_unauthorized() -> None:
    headers = _signed(NOW)
    del headers["X-API-Key"]
    assert _reject(headers, NOW).status == 401
    headers["X-API-Key"] = "short"
    err = _reject(headers, NOW)
    assert (err.status, err.code) == (401, "UNAUTHORIZED")


def test_non_numeric_timestamp_is_a_clear_400() -> None:
    headers = _signed(NOW)
    headers["X-Timestamp"] = "soon"
    assert _reject(headers, NOW).message == "Invalid X-Timestamp header"


def test_body_value_changed_after_signing_fails() -> None:
    signer = Signer(SECRET)
    body = {
        "symbol": "BTC_USDC_PERP",
        "side": "Bid",
        "orderType": "Limit",
        "price": "100",
        "quantity": "1",
    }
    headers = signer.headers("orderExecute", body, timestamp=NOW)
    assert verify_request("orderExecute", headers, {}, body, NOW) == KEY
    with pytest.raises(SimError, match="Invalid signature"):
        verify_request("orderExecute", headers, {}, {**body, "price": "100.0"}, NOW)


def test_query_and_body_groups_are_sorted_separately() -> None:
    text = message_for("orderCancel", {"z": "1"}, {"a": "2", "reduceOnly": True}, 5, 5000)
    assert text == "instruction=orderCancel&z=1&a=2&reduceOnly=true&timestamp=5&window=5000"


def test_null_body_values_are_omitted_and_nested_values_are_refused() -> None:
    assert message_for("orderCancel", {}, {"symbol": "X", "clientId": None}, 1, 2) == (
        "instruction=orderCancel&symbol=X&timestamp=1&window=2"
    )
    with pytest.raises(SimError, match="Invalid value"):
        message_for("orderCancel", {}, {"symbol": ["X"]}, 1, 2)


def test_ws_signature_array_verifies_and_rejects() -> None:
    vector = next(v for v in VECTORS["vectors"] if v["name"] == "fixture ws_subscribe_private.json")
    frame = load_fixture("ws_subscribe_private.json")
    ts = vector["timestamp"]
    assert verify_ws_signature(frame["signature"], now_ms=ts) == KEY
    with pytest.raises(SimError, match="Request has expired"):
        verify_ws_signature(frame["signature"], now_ms=ts + 5001)
    tampered = [*frame["signature"][:3], "6000"]
    with pytest.raises(SimError, match="Invalid signature"):
        verify_ws_signature(tampered, now_ms=ts)
    with pytest.raises(SimError):
        verify_ws_signature(["only", "three", "parts"], now_ms=ts)
