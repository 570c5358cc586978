"""Cache and recovery decided at creation, serialized cache calls, rerun, watch, logs and traces."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from server_harness import dec, enc, serve, settings_for, task

pytestmark = pytest.mark.timeout(60)

CACHED = {"behavior": "auto", "version": "v1"}


def test_cache_hit_at_creation(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="miss", task=task(cache=CACHED), inputs_b64=enc(x=5))
            [a0] = await s.claim()
            await s.report(a0, outputs_b64=enc(o0=25))
            assert (await s.action("miss"))["cache_status"] == "miss"
            hit = await s.create_run(name="hit", task=task(cache=CACHED), inputs_b64=enc(x=5))
            assert hit["phase"] == "succeeded"  # decided at creation, never queued
            a0 = await s.action("hit")
            assert (a0["phase"], a0["cache_status"], a0["attempts"]) == ("succeeded", "hit", 0)
            assert dec((await s.client.get("/api/v1/runs/hit/actions/a0/io")).json()["outputs_b64"]) == {
                "o0": 25
            }
            r = await s.client.get("/api/v1/runs/hit/actions/a0/wait", params={"timeout": 30})
            assert r.json()["phase"] == "succeeded"
            assert await s.claim(timeout=0) == []
            # other inputs, another version or no cache at all: executed
            for name, body in {
                "other-inputs": {"task": task(cache=CACHED), "inputs_b64": enc(x=6)},
                "other-version": {
                    "task": task(cache={"behavior": "auto", "version": "v2"}),
                    "inputs_b64": enc(x=5),
                },
                "uncached": {"task": task(), "inputs_b64": enc(x=5)},
                "overwrite": {"task": task(cache=CACHED), "inputs_b64": enc(x=5), "overwrite_cache": True},
            }.items():
                assert (await s.create_run(name=name, **body))["phase"] == "queued", name
            for a in await s.claim(max=10):
                await s.report(a, outputs_b64=enc(o0=99))
            assert (await s.action("overwrite"))["cache_status"] == "overwritten"
            again = await s.create_run(name="after-overwrite", task=task(cache=CACHED), inputs_b64=enc(x=5))
            assert again["phase"] == "succeeded"
            io = (await s.client.get("/api/v1/runs/after-overwrite/actions/a0/io")).json()
            assert dec(io["outputs_b64"]) == {"o0": 99}

    asyncio.run(main())


def test_ignored_inputs_do_not_change_the_cache_key(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            spec = {**CACHED, "ignored_inputs": ["verbose"]}
            await s.create_run(name="a", task=task(cache=spec), inputs_b64=enc(x=1, verbose=True))
            [a0] = await s.claim()
            await s.report(a0, outputs_b64=enc(o0=1))
            hit = await s.create_run(name="b", task=task(cache=spec), inputs_b64=enc(x=1, verbose=False))
            assert hit["phase"] == "succeeded"
            miss = await s.create_run(name="c", task=task(cache=spec), inputs_b64=enc(x=2, verbose=True))
            assert miss["phase"] == "queued"

    asyncio.run(main())


def test_serialized_cache_calls_execute_once(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            spec = {**CACHED, "serialize": True}
            await s.create_run(name="s1", task=task(cache=spec), inputs_b64=enc(x=3))
            await s.create_run(name="s2", task=task(cache=spec), inputs_b64=enc(x=3))
            claimed = await s.claim(max=5)
            assert [a["run"] for a in claimed] == ["s1"]  # the identical call waits for this one
            await s.report(claimed[0], outputs_b64=enc(o0=9))
            a0 = await s.action("s2")
            assert (a0["phase"], a0["cache_status"]) == ("succeeded", "hit")
            assert (await s.run("s2"))["phase"] == "succeeded"

    asyncio.run(main())


def test_rerun_with_recover_replays_what_succeeded(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="orig", inputs_b64=enc(x=4), env_vars={"E": "1"})
            [a0] = await s.claim()
            body = {"name": "c1", "parent": "a0", "task": task("env.add"), "inputs_b64": enc(x=1, y=2)}
            await s.client.post("/api/v1/runs/orig/actions", json=body)
            [c1] = await s.claim()
            await s.report(c1, outputs_b64=enc(o0=3))
            await s.report(a0, "failed", error_type="ValueError", error_message="late failure")
            r = await s.client.post("/api/v1/runs/orig/rerun", json={"recover": True, "name": "rec"})
            assert r.status_code == 200, r.text
            assert (r.json()["name"], r.json()["source_run"], r.json()["phase"]) == ("rec", "orig", "queued")
            [a0] = await s.claim()
            assert (a0["source_run"], a0["env"], dec(a0["inputs_b64"])) == ("orig", {"E": "1"}, {"x": 4})
            replayed = await s.client.post("/api/v1/runs/rec/actions", json=body)
            assert replayed.status_code == 201
            assert (replayed.json()["phase"], replayed.json()["cache_status"]) == ("succeeded", "recovered")
            changed = {**body, "name": "c2", "inputs_b64": enc(x=1, y=3)}
            assert (await s.client.post("/api/v1/runs/rec/actions", json=changed)).json()["phase"] == "queued"
            plain = (await s.client.post("/api/v1/runs/orig/rerun", json={})).json()
            assert plain["source_run"] is None and plain["name"] != "orig"
            assert (await s.client.post("/api/v1/runs/zz/rerun", json={})).status_code == 404
            bad = {"task": task(), "recover_from": "zz"}
            assert (await s.client.post("/api/v1/runs", json=bad)).status_code == 404

    asyncio.run(main())


def test_watch_streams_phases_and_logs_and_logs_are_listed(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="wt")
            first = (await s.client.get("/api/v1/runs/wt/watch", params={"since": 0, "timeout": 5})).json()
            assert [(e["kind"], e["action"], e["phase"]) for e in first["events"]] == [
                ("phase", "a0", "queued")
            ]
            assert first["seq"] == 1 and first["done"] is False
            poll = asyncio.create_task(
                s.client.get("/api/v1/runs/wt/watch", params={"since": 1, "timeout": 30})
            )
            await asyncio.sleep(0.1)
            assert not poll.done()
            [a0] = await s.claim()
            woke = (await asyncio.wait_for(poll, 10)).json()
            assert [(e["seq"], e["phase"]) for e in woke["events"]] == [(2, "running")]
            lines = {
                "run": "wt",
                "action": "a0",
                "attempt": 0,
                "lines": [["stdout", 1.0, "hello"], ["stderr", 2.0, "oops"]],
            }
            assert (await s.client.post("/api/v1/executor/logs", json=lines)).json()["ok"] is True
            await s.report(a0, outputs_b64=enc(o0=1))
            rest = (await s.client.get("/api/v1/runs/wt/watch", params={"since": 2, "timeout": 5})).json()
            kinds = [(e["kind"], e["line"] or e["phase"]) for e in rest["events"]]
            assert kinds == [("log", "hello"), ("log", "oops"), ("phase", "succeeded")]
            assert rest["done"] is True and rest["seq"] == 5
            end = (await s.client.get("/api/v1/runs/wt/watch", params={"since": 5, "timeout": 30})).json()
            assert end == {"seq": 5, "events": [], "done": True}  # answered at once: the run is over
            logs = (await s.client.get("/api/v1/runs/wt/logs", params={"action": "a0"})).json()
            assert [(x["stream"], x["line"], x["attempt"]) for x in logs] == [
                ("stdout", "hello", 0),
                ("stderr", "oops", 0),
            ]
            assert (await s.client.get("/api/v1/runs/zz/watch", params={"timeout": 0})).status_code == 404

    asyncio.run(main())


def test_watch_of_a_finished_run_is_rebuilt_from_the_store(tmp_path: Path):
    settings = settings_for(tmp_path)

    async def first() -> None:
        async with serve(settings) as s:
            await s.create_run(name="old")
            [a0] = await s.claim()
            lines = {"run": "old", "action": "a0", "attempt": 0, "lines": [["stdout", a0_time(s), "hi"]]}
            await s.client.post("/api/v1/executor/logs", json=lines)
            await s.report(a0, outputs_b64=enc(o0=1))

    async def second() -> None:
        async with serve(settings) as s:
            answer = (await s.client.get("/api/v1/runs/old/watch", params={"timeout": 30})).json()
            assert [(e["kind"], e["phase"] or e["line"]) for e in answer["events"]] == [
                ("phase", "queued"), ("phase", "running"), ("log", "hi"), ("phase", "succeeded")
            ]  # fmt: skip
            assert answer["done"] is True

    asyncio.run(first())
    asyncio.run(second())


def a0_time(s) -> float:
    return s.store.get_action("old", "a0").started_at + 0.0001


def test_traces_are_recorded_and_listed(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="tr")
            await s.claim()
            body = {"run": "tr", "action": "a0", "seq": 0, "name": "fetch", "inputs_b64": enc(u="x"),
                    "outputs_b64": enc(o0=1), "error": None, "started_at": 1.0, "ended_at": 2.0}  # fmt: skip
            assert (await s.client.post("/api/v1/executor/traces", json=body)).json()["ok"] is True
            assert (await s.client.post("/api/v1/executor/traces", json=body)).json()[
                "ok"
            ] is True  # idempotent
            [t] = (await s.client.get("/api/v1/runs/tr/traces")).json()
            assert (t["action"], t["seq"], t["name"]) == ("a0", 0, "fetch")
            assert dec(t["outputs_b64"]) == {"o0": 1} and base64.b64decode(t["inputs_b64"])
            assert s.store.get_traces("tr")[0].name == "fetch"

    asyncio.run(main())
