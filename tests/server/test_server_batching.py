"""Batching keeps behaviour: a 300-child fan-out through a real server and real worker processes
gives the right value, records every child once, and costs far fewer HTTP requests than children
(counted on the server, per route)."""

from __future__ import annotations

import asyncio
import socket
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import dec, enc, serve, settings_for, task, uvicorn_server

import flyte
from flyte._internal.loader import load_module
from flyte.server.app import create_app
from flyte.server.executors.processes import HostWorkers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

CHILDREN = 300

WORKFLOW = textwrap.dedent(
    """
    import asyncio
    import flyte

    env = flyte.TaskEnvironment(name="batching")


    @env.task
    async def square(x: int) -> int:
        return x * x


    @env.task
    async def fanout(n: int) -> int:
        return sum(await asyncio.gather(*(square(i) for i in range(n))))
    """
)


class CountRequests:
    """ASGI middleware: how many requests each (method, route) got."""

    def __init__(self, app: Any):
        self.app = app
        self.counts: Counter[tuple[str, str]] = Counter()
        self.state = app.state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.counts[(scope["method"], _route(scope["path"]))] += 1
        await self.app(scope, receive, send)


def _route(path: str) -> str:
    """``/api/v1/runs/<run>/actions/<name>/io`` -> ``runs/*/actions/*/io``: one key per route."""
    parts = path.removeprefix("/api/v1/").split("/")
    return "/".join(p if i % 2 == 0 or parts[0] != "runs" else "*" for i, p in enumerate(parts))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, CountRequests]]:
    settings = settings_for(tmp_path / "home", workers=2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.port = probe.getsockname()[1]
    keys: dict[str, str] = {}

    def executor(scheduler: Any) -> HostWorkers:
        keys["key"] = app.state.api_keys.create("workers")
        return HostWorkers(settings.worker_command, settings.endpoint, keys["key"], settings.workers,
                               log_dir=settings.log_dir, on_exit=scheduler.worker_gone)  # fmt: skip

    app = create_app(settings, executor_factory=executor)
    counted = CountRequests(app)
    with uvicorn_server(counted, port=settings.port) as url:
        yield url, keys["key"], counted


def test_a_fan_out_is_batched_and_every_child_recorded_once(server, tmp_path: Path) -> None:
    url, key, counted = server
    project = tmp_path / "project"
    project.mkdir()
    (project / "wf_batching.py").write_text(WORKFLOW)
    flyte.init(endpoint=url, api_key=key, root_dir=project)
    try:
        wf = load_module(str(project / "wf_batching.py"), project)
        run = flyte.run(wf.fanout, n=CHILDREN)
        assert run.outputs() == (sum(i * i for i in range(CHILDREN)),)
        actions = run.actions()
    finally:
        sys.modules.pop("wf_batching", None)
    children = [a for a in actions if a.name != "a0"]
    assert len(children) == CHILDREN
    assert len({a.name for a in children}) == CHILDREN  # each child recorded once
    assert all(a.phase.value == "succeeded" and a.attempts == 1 for a in children)

    counts = counted.counts
    # no request per child: creations, outcomes and outputs all travel in batches
    assert counts[("POST", "runs/*/actions")] == 0
    assert counts[("GET", "runs/*/actions/*/io")] <= 1  # the root's outputs, read by the client
    assert counts[("POST", "executor/report")] == 0
    creates = counts[("POST", "runs/*/actions:batch")]
    outputs = counts[("POST", "runs/*/outputs:batch")]
    reports = counts[("POST", "executor/report:batch")]
    claims = counts[("POST", "executor/claim")]
    assert 1 <= creates <= 5, counts
    assert outputs >= 1 and reports >= 1, counts
    assert creates + outputs + reports + claims < CHILDREN // 2, counts


def _child(name: str, parent: str = "a0", **fields: Any) -> dict[str, Any]:
    body = {"name": name, "parent": parent, "task": task("env.add"), "inputs_b64": enc(x=1, y=2)}
    body.update(fields)
    return body


def test_a_batch_answers_each_child_as_the_single_route_would(tmp_path: Path) -> None:
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="kids")
            batch = "/api/v1/runs/kids/actions:batch"
            early = (await s.client.post(batch, json={"actions": [_child("c0")]})).json()["results"]
            assert [r["status"] for r in early] == [409]  # a0 is not running yet, as for one child
            [a0] = await s.claim()
            body = {"actions": [_child("c1"), _child("c2", parent="zz"), _child("c1"),
                                _child("c3", inputs_b64="not base64!")]}  # fmt: skip
            results = (await s.client.post(batch, json=body)).json()["results"]
            assert [(r["status"], r["created"]) for r in results] == [(201, True), (404, False),
                                                                     (200, False), (400, False)]  # fmt: skip
            assert "no action named 'zz'" in results[1]["error"]
            assert results[2]["action"]["created_at"] == results[0]["action"]["created_at"]
            again = await s.client.post("/api/v1/runs/kids/actions", json=_child("c1"))
            assert again.status_code == 200  # the single route sees the batch's child
            assert (await s.client.post("/api/v1/runs/nope/actions:batch", json=body)).status_code == 404
            # outcomes in a batch, outputs in a batch
            claimed = await s.claim(max=5)
            assert [c["action"] for c in claimed] == ["c1"]
            report = {"worker_id": "w1", "run": "kids", "action": "c1", "attempt": claimed[0]["attempt"],
                      "phase": "succeeded", "outputs_b64": enc(o0=3)}  # fmt: skip
            stale = {**report, "attempt": 7}
            answer = await s.client.post("/api/v1/executor/report:batch", json={"reports": [report, stale]})
            assert answer.json()["results"] == [{"ok": True, "ignored": False}, {"ok": True, "ignored": True}]
            got = await s.client.post("/api/v1/runs/kids/outputs:batch", json={"names": ["c1", "zz", "a0"]})
            outputs = got.json()["outputs"]
            assert dec(outputs["c1"]) == {"o0": 3} and outputs["a0"] is None and "zz" not in outputs
            actions = (await s.client.get("/api/v1/runs/kids/actions")).json()
            assert sorted(a["name"] for a in actions) == ["a0", "c1"]  # nothing recorded twice
            assert a0["action"] == "a0"

    asyncio.run(main())
