"""The server on PostgreSQL: the same rows and rules as on SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from server_harness import dec, enc, serve, settings_for, task

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_runs_children_cache_and_restart_on_postgres(tmp_path: Path, postgres_db: str):
    settings = settings_for(tmp_path, db_url=postgres_db)
    cached = {"behavior": "auto", "version": "v1"}
    big = "x" * 200_000  # above the inline limit: stored as a blob file

    async def first() -> None:
        async with serve(settings) as s:
            assert s.store.identity.startswith("postgresql://")
            await s.create_run(name="pg", task=task(cache=cached), inputs_b64=enc(x=big))
            [a0] = await s.claim()
            child = {"name": "c1", "parent": "a0", "task": task("env.add"), "inputs_b64": enc(x=1, y=2)}
            assert (await s.client.post("/api/v1/runs/pg/actions", json=child)).status_code == 201
            assert (await s.client.post("/api/v1/runs/pg/actions", json=child)).status_code == 200
            lines = {"run": "pg", "action": "a0", "attempt": 0, "lines": [["stdout", 1.0, "hello"]]}
            await s.client.post("/api/v1/executor/logs", json=lines)

    async def second() -> None:
        async with serve(settings) as s:
            claimed = {c["action"]: c for c in await s.claim(max=5)}
            assert {(n, c["attempt"]) for n, c in claimed.items()} == {("a0", 1), ("c1", 0)}
            assert dec(claimed["a0"]["inputs_b64"]) == {"x": big}
            await s.report(claimed["c1"], outputs_b64=enc(o0=3))
            await s.report(claimed["a0"], outputs_b64=enc(o0=big))
            assert (await s.run("pg"))["phase"] == "succeeded"
            hit = await s.create_run(name="pg2", task=task(cache=cached), inputs_b64=enc(x=big))
            assert hit["phase"] == "succeeded"
            io = (await s.client.get("/api/v1/runs/pg2/actions/a0/io")).json()
            assert dec(io["outputs_b64"]) == {"o0": big}
            logs = (await s.client.get("/api/v1/runs/pg/logs")).json()
            assert [x["line"] for x in logs] == ["hello"]
            events = (await s.client.get("/api/v1/runs/pg/watch", params={"timeout": 1})).json()
            phases = [(e["action"], e["phase"]) for e in events["events"] if e["kind"] == "phase"]
            assert (
                events["done"] is True and phases[0] == ("a0", "queued") and phases[-1] == ("a0", "succeeded")
            )

    asyncio.run(first())
    asyncio.run(second())
