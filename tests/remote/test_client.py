"""The API client: retries, and the one mapping from HTTP failures to flyte.errors."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from flyte.errors import (
    ActionNotFoundError,
    InitializationError,
    RuntimeUserError,
    SlowDownError,
    UnionRpcError,
)
from flyte.remote._client import ApiClient, normalize_endpoint

SECRET = "s3cr3t-api-key"


def client_for(handler: Callable[[httpx.Request], httpx.Response], retry_for: float = 5.0) -> ApiClient:
    return ApiClient("http://cp.test", SECRET, transport=httpx.MockTransport(handler), retry_for=retry_for)


def answer(status: int, body: object = None) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body)


def both(client: ApiClient, method: str, path: str, **kwargs: object) -> list[object]:
    """Call through the sync and the async twin; return what each returned or raised."""
    results: list[object] = []
    for call in (
        lambda: client.call(method, path, **kwargs),
        lambda: asyncio.run(client.acall(method, path, **kwargs)),
    ):
        try:
            results.append(call())
        except Exception as e:
            results.append(e)
    return results


def test_success_returns_json_and_sends_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"name": "r1"})

    assert both(client_for(handler), "GET", "/api/v1/runs/r1") == [{"name": "r1"}, {"name": "r1"}]
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" for r in seen)


def test_401_is_an_initialization_error_naming_the_fix_without_the_key() -> None:
    for error in both(
        client_for(answer(401, {"detail": "Missing or invalid API key"})), "GET", "/api/v1/runs"
    ):
        assert isinstance(error, InitializationError)
        assert error.code == "Unauthenticated"
        assert "FLYTE_API_KEY" in str(error) and "invalid API key" in str(error)
        assert SECRET not in str(error) and SECRET not in repr(error)


def test_404_is_action_not_found_with_the_servers_detail() -> None:
    for error in both(client_for(answer(404, {"detail": "No run named 'nope'"})), "GET", "/api/v1/runs/nope"):
        assert isinstance(error, ActionNotFoundError)
        assert str(error) == "No run named 'nope'"


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (409, RuntimeUserError, "Conflict"),
        (422, RuntimeUserError, "BadRequest"),
        (403, UnionRpcError, "Forbidden"),
    ],
)
def test_other_client_errors(status: int, kind: type, code: str) -> None:
    body = (
        {"detail": [{"loc": ["body", "name"], "msg": "field required"}]} if status == 422 else {"detail": "x"}
    )
    for error in both(client_for(answer(status, body)), "POST", "/api/v1/runs", json={}):
        assert isinstance(error, kind) and error.code == code
    if status == 422:
        assert "body.name: field required" in str(error)


def test_5xx_and_429_are_retried_until_they_pass() -> None:
    statuses = iter([503, 500, 429, 200] * 2)
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        status = next(statuses)
        return httpx.Response(status, json={"ok": status == 200})

    assert both(client_for(handler), "POST", "/api/v1/executor/report", json={}) == [
        {"ok": True},
        {"ok": True},
    ]
    assert len(calls) == 8


def test_5xx_that_persists_becomes_a_server_error() -> None:
    for error in both(
        client_for(answer(503, {"detail": "store down"}), retry_for=0.3), "GET", "/api/v1/runs"
    ):
        assert isinstance(error, UnionRpcError) and error.code == "ServerError"
        assert "store down" in str(error)
    error = client_for(answer(429, {"detail": "busy"}), retry_for=0.2)
    with pytest.raises(SlowDownError):
        error.call("GET", "/api/v1/runs")


def test_connection_failures_are_retried_then_reported_as_rpc_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        raise httpx.ConnectError("connection refused", request=request)

    with caplog.at_level(logging.WARNING, logger="flyte.remote"):
        for error in both(client_for(handler, retry_for=0.4), "GET", "/api/v1/runs"):
            assert isinstance(error, UnionRpcError) and error.code == "Unreachable"
            assert "http://cp.test" in str(error) and "connection refused" in str(error)
    assert len(attempts) > 4  # kept trying for the whole budget
    assert SECRET not in caplog.text


def test_a_server_that_comes_back_is_survived() -> None:
    down = iter([True] * 3 + [False] * 10)

    def handler(request: httpx.Request) -> httpx.Response:
        if next(down):
            raise httpx.ReadError("server restarting", request=request)
        return httpx.Response(200, json={"phase": "succeeded"})

    assert both(client_for(handler), "GET", "/api/v1/runs/r/actions/a0/wait") == [{"phase": "succeeded"}] * 2


def test_a_conflict_after_retries_is_marked() -> None:
    statuses = iter([502, 409])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses), json={"detail": "A run named 'r' already exists"})

    with pytest.raises(RuntimeUserError) as info:
        client_for(handler).call("POST", "/api/v1/runs", json={})
    assert info.value.retried is True  # type: ignore[attr-defined]


def test_data_urls_get_no_api_key_and_keys_are_quoted() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/data/download-url":
            return httpx.Response(200, json={"url": "https://blobs.example/x?sig=1", "expires_at": 1})
        if request.method == "HEAD":
            return httpx.Response(404)
        return httpx.Response(200, content=b"payload")

    client = client_for(handler)
    assert client.download("bundles/a b.tgz") == b"payload"
    assert asyncio.run(client.adownload("k")) == b"payload"
    assert client.exists("bundles/a b.tgz") is False
    assert asyncio.run(client.aexists("bundles/x.tgz")) is False
    signed = [r for r in seen if r.url.host == "blobs.example"]
    assert signed and all("authorization" not in r.headers for r in signed)
    assert seen[-2].url.raw_path == b"/api/v1/data/bundles/a%20b.tgz"


def test_long_polls_get_a_longer_timeout() -> None:
    timeouts: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return httpx.Response(200, json={})

    client = client_for(handler)
    client.call("GET", "/api/v1/runs")
    client.call("GET", "/api/v1/runs/r/watch", params={"timeout": 30}, poll=30)
    assert timeouts[0]["read"] == client.timeout
    assert timeouts[1]["read"] > 30 + client.timeout


def test_endpoints_and_repr() -> None:
    assert normalize_endpoint("127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert normalize_endpoint("localhost:8080/") == "http://localhost:8080"
    assert normalize_endpoint("dns:///flyte.example.com") == "https://flyte.example.com"
    assert normalize_endpoint("flyte.internal:80", insecure=True) == "http://flyte.internal:80"
    assert normalize_endpoint("https://x.example/prefix/") == "https://x.example/prefix"
    assert SECRET not in repr(ApiClient("http://x", SECRET))


def test_import_flyte_does_not_import_httpx() -> None:
    code = "import sys, flyte, flyte.remote; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
