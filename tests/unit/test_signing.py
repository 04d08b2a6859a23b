"""Every golden vector in the fixtures, plus the rules behind them (docs/PROTOCOL.md "Signing")."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from bpx_tui.exchange.signing import (
    Signer,
    api_key_of,
    instruction_for,
    normalise_path,
    signing_string,
    verify,
)
from tests.conftest import load_fixture

VECTORS = load_fixture("signing_vectors.json")
KEY = VECTORS["key"]


def _params_of(vector: dict) -> object:
    if "params" in vector:
        return vector["params"] or None
    name = vector["name"]
    if "batch_request" in name:
        return load_fixture("rest_orders_batch_request.json")["body"]
    return None


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"][:50])
def test_vector_signature(vector: dict) -> None:
    signer = Signer(KEY["secretBase64"], window=vector.get("window", 5000))
    # Every golden signature must verify, and our signer must reproduce it exactly.
    assert verify(KEY["apiKeyBase64"], vector["signature"], vector["signingString"])
    assert signer.sign(vector["signingString"]) == vector["signature"]
    if "instruction" in vector:
        params = _params_of(vector)
        built = signing_string(vector["instruction"], params, vector["timestamp"], vector["window"])
        assert built == vector["signingString"]


def test_wrong_boolean_string_is_not_what_we_build() -> None:
    wrong = next(v for v in VECTORS["vectors"] if "str(True)" in v["name"])
    right = next(
        v for v in VECTORS["vectors"] if v["name"] == "fixture rest_order_execute_request.json"
    )
    built = signing_string("orderExecute", right["params"], right["timestamp"], right["window"])
    assert built != wrong["signingString"]
    assert "postOnly=true" in built


def test_fixture_requests_carry_valid_headers() -> None:
    for name in ("rest_order_execute_request.json", "rest_order_cancel_request.json"):
        request = load_fixture(name)
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert verify(headers["x-api-key"], headers["x-signature"], request["signingString"])


def test_headers_are_the_four_and_consistent() -> None:
    signer = Signer(KEY["secretBase64"], window=60000, clock=lambda: 1735689600000)
    headers = signer.headers(
        "orderQuery", {"symbol": "BTC_USDC_PERP", "orderId": "112233445566778899"}
    )
    assert set(headers) == {"X-API-Key", "X-Signature", "X-Timestamp", "X-Window"}
    assert headers["X-Timestamp"] == "1735689600000" and headers["X-Window"] == "60000"
    expected = (
        "instruction=orderQuery&orderId=112233445566778899&symbol=BTC_USDC_PERP"
        "&timestamp=1735689600000&window=60000"
    )
    assert verify(headers["X-API-Key"], headers["X-Signature"], expected)


def test_none_is_omitted_booleans_lowercase_decimals_plain() -> None:
    text = signing_string(
        "orderExecute",
        {
            "symbol": "X",
            "price": Decimal("1E-5"),
            "reduceOnly": False,
            "clientId": 7,
            "triggerPrice": None,
        },
        1,
        5000,
    )
    assert (
        text
        == "instruction=orderExecute&clientId=7&price=0.00001&reduceOnly=false&symbol=X&timestamp=1&window=5000"
    )


def test_no_params_has_no_empty_segment() -> None:
    assert (
        signing_string("balanceQuery", {}, 5, 5000)
        == "instruction=balanceQuery&timestamp=5&window=5000"
    )
    assert "&&" not in signing_string("positionQuery", None, 5, 5000)


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        signing_string("orderExecute", {"price": 0.1}, 1, 5000)


def test_64_byte_secret_uses_the_seed() -> None:
    seed = base64.b64decode(KEY["secretBase64"])
    public = base64.b64decode(KEY["apiKeyBase64"])
    long_secret = base64.b64encode(seed + public).decode()
    assert Signer(long_secret).api_key == KEY["apiKeyBase64"]
    assert api_key_of(long_secret) == KEY["apiKeyBase64"]


@pytest.mark.parametrize("bad", ["not base64!!", base64.b64encode(b"short").decode()])
def test_bad_secret_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        Signer(bad)


def test_repr_never_shows_the_secret() -> None:
    signer = Signer(KEY["secretBase64"])
    assert KEY["secretBase64"] not in repr(signer)
    assert KEY["secretBase64"] not in str(signer.__dict__ if hasattr(signer, "__dict__") else "")


def test_ws_signature_is_four_strings() -> None:
    signer = Signer(KEY["secretBase64"], clock=lambda: 1614550000000)
    sig = signer.ws_signature()
    assert sig == [
        KEY["apiKeyBase64"],
        "nnH9lOoIF3v72vbmeopqLLUggbPuhAuXgYbQc6qJnYSsFW0ZM3hUVK4feOAmIHQA02vH16oz+C3+6HQmPkggDA==",
        "1614550000000",
        "5000",
    ]


@pytest.mark.parametrize(
    ("method", "path", "instruction"),
    [
        ("GET", "/api/v1/order", "orderQuery"),
        ("DELETE", "/api/v1/orders", "orderCancelAll"),
        ("post", "/api/v1/orders", "orderExecute"),
        ("GET", "//api/v1//capital/", "balanceQuery"),
        ("GET", "/api/v1/markets", None),
    ],
)
def test_instruction_table(method: str, path: str, instruction: str | None) -> None:
    assert instruction_for(method, path) == instruction


def test_path_join_normalised() -> None:
    assert normalise_path("//api/v1//order/") == "/api/v1/order"
