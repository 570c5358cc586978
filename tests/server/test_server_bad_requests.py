"""Malformed request bodies get a 4xx answer, never a 500: random JSON (non-finite numbers, deep
nesting, wrong types, unknown fields) posted to every POST route of the API."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from server_harness import run_body, serve, settings_for  # noqa: E402

ROUTES = [
    "/api/v1/runs",
    "/api/v1/runs/r1/abort",
    "/api/v1/runs/r1/rerun",
    "/api/v1/runs/r1/actions",
    "/api/v1/runs/r1/actions:batch",
    "/api/v1/runs/r1/outputs:batch",
    "/api/v1/executor/claim",
    "/api/v1/executor/heartbeat",
    "/api/v1/executor/report",
    "/api/v1/executor/report:batch",
    "/api/v1/executor/logs",
    "/api/v1/executor/traces",
    "/api/v1/data/upload-url",
    "/api/v1/data/download-url",
]

NUMBERS = st.one_of(
    st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -0.0, 2**70])
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["name", "task", "inputs_b64", "worker_id", "max", "timeout", "run", "action", "attempt", "phase",
          "reason", "recover", "parent", "lines", "key", "size", "sha256", "env_vars", "labels", "actions",
          "names", "reports"]  # fmt: skip
BODIES = st.one_of(
    JSON_VALUES,
    st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6),
    st.builds(
        lambda extra: {**run_body(name="fuzz"), **extra},
        st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES),
    ),
    # batched bodies: lists of (mostly malformed) items, and lists past the bound
    st.builds(lambda items: {"actions": items}, st.lists(JSON_VALUES, max_size=3)),
    st.builds(lambda items: {"reports": items}, st.lists(JSON_VALUES, max_size=3)),
    st.builds(lambda names: {"names": names}, st.lists(JSON_VALUES, max_size=3)),
)


def _encode(body: Any) -> str:
    return json.dumps(body)  # writes NaN / Infinity / 1e999-like values as JSON extensions, as clients may


@pytest.fixture(scope="module")
def loop_and_server(tmp_path_factory: pytest.TempPathFactory):
    loop = asyncio.new_event_loop()
    context = serve(settings_for(tmp_path_factory.mktemp("fuzz")))
    server = loop.run_until_complete(context.__aenter__())
    try:
        yield loop, server
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), body=BODIES)
def test_no_body_gives_a_server_error(loop_and_server, route: str, body: Any) -> None:
    loop, server = loop_and_server

    async def post() -> int:
        response = await server.client.post(
            route, content=_encode(body), headers={"content-type": "application/json"}, timeout=10
        )
        return response.status_code

    status = loop.run_until_complete(asyncio.wait_for(post(), 15))
    assert status < 500, (route, body)


@pytest.mark.parametrize(
    "text", ['{"name": "x", "task": {"name": "e.t", "retries": 1e999}}', "NaN", "[" * 5000 + "]" * 5000]
)
def test_non_finite_and_deep_bodies_are_4xx(loop_and_server, text: str) -> None:
    loop, server = loop_and_server
    response = loop.run_until_complete(
        server.client.post("/api/v1/runs", content=text, headers={"content-type": "application/json"})
    )
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize(
    ("route", "field", "item"),
    [
        ("/api/v1/runs/r1/actions:batch", "actions", {"name": "a1", "parent": "a0", "task": {"name": "e.t"}}),
        ("/api/v1/runs/r1/outputs:batch", "names", "a1"),
        ("/api/v1/executor/report:batch", "reports",
         {"worker_id": "w", "run": "r1", "action": "a1", "attempt": 0, "phase": "succeeded"}),
    ],
)  # fmt: skip
def test_batches_are_bounded(loop_and_server, route: str, field: str, item: Any) -> None:
    loop, server = loop_and_server
    for items in ([], [item] * 501):
        response = loop.run_until_complete(server.client.post(route, json={field: items}))
        assert response.status_code == 422, (route, len(items), response.text)


def test_the_long_poll_is_bounded(loop_and_server) -> None:
    loop, server = loop_and_server
    response = loop.run_until_complete(
        server.client.post("/api/v1/executor/claim", json={"worker_id": "w", "timeout": 1e9})
    )
    assert response.status_code == 422 and "300" in response.text
