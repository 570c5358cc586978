"""The scheduler through the API: queue, claim, reports, retries, leases, abort, restart, children."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from server_harness import dec, enc, serve, settings_for, task

from flyte.errors import RuntimeSystemError

pytestmark = pytest.mark.timeout(60)


def child(name: str, task_name: str = "env.add", **fields) -> dict:
    body = {"name": name, "parent": "a0", "task": task(task_name), "inputs_b64": enc(x=1, y=2)}
    body.update(fields)
    return body


def test_run_is_claimed_as_soon_as_queued_and_succeeds(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            waiting = asyncio.create_task(s.claim(timeout=30))  # long-poll, parked on an empty queue
            await asyncio.sleep(0.2)
            assert not waiting.done()
            run = await s.create_run(name="first", custom_context={"team": "ml"}, env_vars={"A": "1"})
            assert run["phase"] in ("queued", "running") and run["name"] == "first"  # a claim is waiting
            assert run["url"].endswith("/api/v1/runs/first")
            claimed = await asyncio.wait_for(waiting, 10)  # well before the 30 s poll ends
            assert [(a["run"], a["action"], a["attempt"]) for a in claimed] == [("first", "a0", 0)]
            assert dec(claimed[0]["inputs_b64"]) == {"x": 1}
            assert claimed[0]["custom_context"] == {"team": "ml"} and claimed[0]["env"] == {"A": "1"}
            assert claimed[0]["task"]["bundle_key"] == "bundles/abc.tgz"
            assert (await s.run("first"))["phase"] == "running"
            wait = asyncio.create_task(
                s.client.get("/api/v1/runs/first/actions/a0/wait", params={"timeout": 30})
            )
            await asyncio.sleep(0.1)
            assert not wait.done()
            assert await s.report(claimed[0], outputs_b64=enc(o0=7)) == {"ok": True, "ignored": False}
            done = (await asyncio.wait_for(wait, 10)).json()
            assert done["phase"] == "succeeded" and done["attempts"] == 1
            assert [h[0] for h in done["history"]] == ["queued", "running", "succeeded"]
            run = await s.run("first")
            assert run["phase"] == "succeeded" and run["ended_at"] is not None
            io = (await s.client.get("/api/v1/runs/first/actions/a0/io")).json()
            assert dec(io["inputs_b64"]) == {"x": 1} and dec(io["outputs_b64"]) == {"o0": 7}
            # the run store's own readers see the same rows
            record = s.store.get_run("first")
            assert record.phase.value == "succeeded" and record.owner == "server:127.0.0.1:8080"
            assert [a.name for a in s.store.list_actions("first")] == ["a0"]

    asyncio.run(main())


def test_run_names_listing_and_errors(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="one")
            r = await s.client.post(
                "/api/v1/runs", json={"name": "one", "task": task(), "inputs_b64": enc(x=1)}
            )
            assert r.status_code == 409 and "already exists" in r.json()["detail"]
            r = await s.client.post("/api/v1/runs", json={"name": "Bad Name!", "task": task()})
            assert r.status_code == 400
            r = await s.client.post("/api/v1/runs", json={"task": task(), "inputs_b64": "***"})
            assert r.status_code == 400 and "base64" in r.json()["detail"]
            r = await s.client.post("/api/v1/runs", json={"task": task(bundle_key="../evil.tgz")})
            assert r.status_code == 400
            generated = await s.create_run()
            assert generated["name"].startswith("r")
            r = await s.client.get("/api/v1/runs/nope")
            assert r.status_code == 404 and r.json()["detail"] == "No run named 'nope'"
            names = [r["name"] for r in (await s.client.get("/api/v1/runs")).json()]
            assert names == [generated["name"], "one"]  # newest first
            assert (await s.client.get("/api/v1/runs", params={"phase": "succeeded"})).json() == []
            assert (
                len((await s.client.get("/api/v1/runs", params={"phase": "queued", "limit": 1})).json()) == 1
            )
            assert (await s.client.get("/api/v1/runs", params={"phase": "bogus"})).status_code == 400
            assert (await s.client.get("/api/v1/runs/one/actions/zz")).status_code == 404

    asyncio.run(main())


def test_children_are_idempotent_by_name(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="kids")
            r = await s.client.post("/api/v1/runs/kids/actions", json=child("c1"))
            assert r.status_code == 409  # a0 is not running yet: it cannot have children
            [a0] = await s.claim()
            r = await s.client.post("/api/v1/runs/kids/actions", json=child("c1", group="g"))
            assert r.status_code == 201 and r.json()["phase"] == "queued" and r.json()["group"] == "g"
            again = await s.client.post("/api/v1/runs/kids/actions", json=child("c1", group="g"))
            assert again.status_code == 200 and again.json()["created_at"] == r.json()["created_at"]
            assert (
                await s.client.post("/api/v1/runs/kids/actions", json=child("c2", parent="zz"))
            ).status_code == 404
            assert (await s.client.post("/api/v1/runs/none/actions", json=child("c3"))).status_code == 404
            [c1] = await s.claim()
            assert c1["action"] == "c1" and dec(c1["inputs_b64"]) == {"x": 1, "y": 2}
            await s.report(c1, outputs_b64=enc(o0=3))
            done = await s.client.post("/api/v1/runs/kids/actions", json=child("c1", group="g"))
            assert done.status_code == 200 and done.json()["phase"] == "succeeded"
            actions = (await s.client.get("/api/v1/runs/kids/actions")).json()
            assert [(a["name"], a["parent"]) for a in actions] == [("a0", None), ("c1", "a0")]
            await s.report(a0, outputs_b64=enc(o0=3))
            assert (await s.run("kids"))["phase"] == "succeeded"

    asyncio.run(main())


def test_failed_report_with_retries_requeues_with_next_attempt(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="flaky", task=task(retries=2, backoff=0.3))
            [first] = await s.claim()
            await s.report(first, "failed", error_type="ValueError", error_message="boom", retryable=True)
            a0 = await s.action("flaky")
            assert a0["phase"] == "queued" and a0["attempts"] == 1
            assert await s.claim(timeout=0) == []  # waiting out its backoff
            [second] = await s.claim(timeout=10)
            assert second["attempt"] == 1
            await s.report(second, "timed_out", error_type="MaxRuntimeExceededError", error_message="slow")
            [third] = await s.claim(timeout=10)
            assert third["attempt"] == 2
            await s.report(third, "failed", error_type="KeyError", error_message="'k'", retryable=True)
            a0 = await s.action("flaky")
            assert a0["phase"] == "failed" and a0["attempts"] == 3
            assert (a0["error_type"], a0["error_message"]) == ("KeyError", "'k'")
            assert [h[0] for h in a0["history"]] == [
                "queued", "running", "queued", "running", "queued", "running", "failed"
            ]  # fmt: skip
            run = await s.run("flaky")
            assert (run["phase"], run["error_type"], run["error_message"]) == ("failed", "KeyError", "'k'")

    asyncio.run(main())


def test_not_retryable_or_timed_out_ends_at_once(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="nr", task=task(retries=5))
            [a] = await s.claim()
            await s.report(a, "failed", error_type="NonRecoverableError", error_message="no", retryable=False)
            assert (await s.action("nr"))["phase"] == "failed"
            await s.create_run(name="to")
            [a] = await s.claim()
            await s.report(a, "timed_out", error_type="MaxRuntimeExceededError", error_message="late")
            assert (await s.run("to"))["phase"] == "timed_out"

    asyncio.run(main())


def test_stale_reports_are_ignored(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path, lease_seconds=0.3)) as s:
            await s.create_run(name="stale")
            [old] = await s.claim(worker="slow")
            [new] = await s.claim(worker="fast", timeout=10)  # after the lease of "slow" expired
            assert new["attempt"] == old["attempt"] + 1
            assert await s.report(old, outputs_b64=enc(o0=1)) == {"ok": True, "ignored": True}
            assert (await s.action("stale"))["phase"] == "running"
            r = await s.client.post(
                "/api/v1/executor/heartbeat", json={"worker_id": "slow", "actions": [["stale", "a0", 0]]}
            )
            assert r.json() == {"abort": [["stale", "a0"]]}
            await s.report(new, outputs_b64=enc(o0=2))
            assert await s.report(new, outputs_b64=enc(o0=3)) == {"ok": True, "ignored": True}
            io = (await s.client.get("/api/v1/runs/stale/actions/a0/io")).json()
            assert dec(io["outputs_b64"]) == {"o0": 2}

    asyncio.run(main())


def test_heartbeats_keep_the_lease_and_expiry_requeues(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path, lease_seconds=1.0)) as s:
            await s.create_run(name="lease")
            [a] = await s.claim(worker="w1")
            body = {"worker_id": "w1", "actions": [["lease", "a0", 0]]}
            for _ in range(15):  # 1.5 s: longer than the lease
                assert (await s.client.post("/api/v1/executor/heartbeat", json=body)).json() == {"abort": []}
                await asyncio.sleep(0.1)
            assert (await s.action("lease"))["phase"] == "running"
            # no more heartbeats: the lease runs out and the action is queued again, attempt counted
            [again] = await s.claim(worker="w2", timeout=10)
            assert again["attempt"] == 1
            a0 = await s.action("lease")
            assert a0["attempts"] == 2 and [h[0] for h in a0["history"]][-2:] == ["queued", "running"]

    asyncio.run(main())


def test_worker_lost_too_often_fails_the_action(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path, max_system_retries=1)) as s:
            await s.create_run(name="lost", task=task(retries=3))
            [a] = await s.claim(worker="w1")
            await s.scheduler.worker_gone("w1")
            [a] = await s.claim(worker="w2")
            assert a["attempt"] == 1
            await s.scheduler.worker_gone("w2")
            a0 = await s.action("lost")
            assert a0["phase"] == "failed" and a0["error_type"] == "WorkerDiedError"

    asyncio.run(main())


def test_abort_ends_unfinished_actions_and_heartbeat_tells_the_worker(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="ab")
            [a0] = await s.claim()
            await s.client.post("/api/v1/runs/ab/actions", json=child("c1"))
            await s.client.post("/api/v1/runs/ab/actions", json=child("c2", task=task("env.other")))
            [c1] = await s.claim()
            await s.report(c1, outputs_b64=enc(o0=3))
            wait = asyncio.create_task(
                s.client.get("/api/v1/runs/ab/actions/a0/wait", params={"timeout": 30})
            )
            r = await s.client.post("/api/v1/runs/ab/abort", json={"reason": "not needed"})
            assert r.status_code == 200 and r.json()["phase"] == "aborted"
            assert r.json()["error_message"] == "not needed"
            assert (await asyncio.wait_for(wait, 10)).json()["phase"] == "aborted"
            phases = {
                a["name"]: (a["phase"], a["error_message"])
                for a in (await s.client.get("/api/v1/runs/ab/actions")).json()
            }
            assert phases == {
                "a0": ("aborted", "not needed"),
                "c1": ("succeeded", None),
                "c2": ("aborted", "not needed"),
            }
            beat = {"worker_id": "w1", "actions": [["ab", "a0", 0]]}
            assert (await s.client.post("/api/v1/executor/heartbeat", json=beat)).json() == {
                "abort": [["ab", "a0"]]
            }
            assert await s.claim(timeout=0) == []  # c2 is no longer queued
            assert await s.report(a0, outputs_b64=enc(o0=1)) == {"ok": True, "ignored": True}
            assert s.store.get_run("ab").abort_reason == "not needed"
            again = await s.client.post("/api/v1/runs/ab/abort")  # no body: a default reason
            assert again.status_code == 200 and again.json()["error_message"] == "not needed"
            assert (await s.client.post("/api/v1/runs/zz/abort", json={})).status_code == 404

    asyncio.run(main())


def test_a_finished_parent_aborts_its_unfinished_children(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="nursery")
            [a0] = await s.claim()
            await s.client.post("/api/v1/runs/nursery/actions", json=child("c1"))
            await s.report(a0, outputs_b64=enc(o0=1))
            c1 = await s.action("nursery", "c1")
            assert c1["phase"] == "aborted" and "returned before it" in c1["error_message"]

    asyncio.run(main())


def test_a_retried_parent_runs_a_failed_child_again(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="again", task=task(retries=1))
            [a0] = await s.claim()
            await s.client.post("/api/v1/runs/again/actions", json=child("ok"))
            await s.client.post("/api/v1/runs/again/actions", json=child("bad"))
            for c in await s.claim(max=2):
                if c["action"] == "ok":
                    await s.report(c, outputs_b64=enc(o0=3))
                else:
                    await s.report(c, "failed", error_type="ValueError", error_message="x", retryable=False)
            await s.report(a0, "failed", error_type="ValueError", error_message="x", retryable=True)
            [a0] = await s.claim()
            assert a0["attempt"] == 1
            ok = await s.client.post("/api/v1/runs/again/actions", json=child("ok"))
            assert ok.status_code == 200 and ok.json()["phase"] == "succeeded"  # kept
            bad = await s.client.post("/api/v1/runs/again/actions", json=child("bad"))
            assert bad.status_code == 201 and bad.json()["phase"] == "queued"  # runs again
            [c] = await s.claim()
            assert (c["action"], c["attempt"]) == ("bad", 1)
            await s.report(c, outputs_b64=enc(o0=3))
            await s.report(a0, outputs_b64=enc(o0=6))
            assert (await s.run("again"))["phase"] == "succeeded"

    asyncio.run(main())


def test_restart_on_the_same_database_requeues_running_actions(tmp_path: Path):
    settings = settings_for(tmp_path)

    async def first() -> None:
        async with serve(settings) as s:
            await s.create_run(name="survivor")
            [a0] = await s.claim()
            await s.client.post("/api/v1/runs/survivor/actions", json=child("done"))
            await s.client.post("/api/v1/runs/survivor/actions", json=child("busy", task=task("env.busy")))
            await s.client.post("/api/v1/runs/survivor/actions", json=child("waiting", task=task("env.wait")))
            for c in await s.claim(max=2):
                if c["action"] == "done":
                    await s.report(c, outputs_b64=enc(o0=3))
            assert {a["name"]: a["phase"] for a in (await s.client.get("/api/v1/runs/survivor/actions")).json()} == {
                "a0": "running", "done": "succeeded", "busy": "running", "waiting": "queued"
            }  # fmt: skip

    async def second() -> None:
        async with serve(settings) as s:
            actions = {a["name"]: a for a in (await s.client.get("/api/v1/runs/survivor/actions")).json()}
            assert {n: a["phase"] for n, a in actions.items()} == {
                "a0": "queued", "done": "succeeded", "busy": "queued", "waiting": "queued"
            }  # fmt: skip
            assert actions["done"]["attempts"] == 1 and len(actions["done"]["history"]) == 3  # recorded once
            claimed = {(c["action"], c["attempt"]) for c in await s.claim(max=10)}
            assert claimed == {("a0", 1), ("busy", 1), ("waiting", 0)}

    asyncio.run(first())
    asyncio.run(second())


def test_wait_and_io_of_unknown_actions(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="w")
            r = await s.client.get("/api/v1/runs/w/actions/a0/wait", params={"timeout": 0.2})
            assert r.status_code == 200 and r.json()["phase"] == "queued"  # as it is, after the timeout
            assert (
                await s.client.get("/api/v1/runs/w/actions/zz/wait", params={"timeout": 0})
            ).status_code == 404
            assert (await s.client.get("/api/v1/runs/zz/actions/a0/io")).status_code == 404

    asyncio.run(main())


def test_unsafe_action_names_are_refused(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="names")
            await s.claim()
            for name in ("../x", "..", ".hidden", "a/b", "a\\b", "x" * 200):
                r = await s.client.post("/api/v1/runs/names/actions", json=child(name))
                assert r.status_code == 422, name

    asyncio.run(main())


def test_a_run_that_cannot_be_recorded_is_not_queued(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            real = s.scheduler.writer.write

            async def broken(statements) -> None:  # noqa: ANN001
                raise RuntimeSystemError("RunStoreError", "disk full")

            s.scheduler.writer.write = broken
            r = await s.client.post("/api/v1/runs", json={"name": "lost", "task": task()})
            assert r.status_code == 503 and "disk full" in r.json()["detail"]
            s.scheduler.writer.write = real
            assert s.scheduler.active == {} and await s.claim(timeout=0) == []
            assert (await s.create_run(name="lost"))["phase"] == "queued"  # the name is still free

    asyncio.run(main())


def test_a_public_interface_needs_an_api_key(tmp_path: Path):
    from flyte.server.app import create_app

    async def main() -> None:
        app = create_app(settings_for(tmp_path, host="0.0.0.0"))
        with pytest.raises(ValueError, match="without an API key"):
            async with app.router.lifespan_context(app):
                pass

    asyncio.run(main())


def test_deadline_and_max_queued_time_end_actions_timed_out(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path, lease_seconds=0.4)) as s:
            await s.create_run(name="late", task=task(deadline=2.0, retries=3))
            [a] = await s.claim()
            await s.report(a, "failed", error_type="ValueError", error_message="x", retryable=True)
            [a] = await s.claim(timeout=0)  # retried while within its deadline
            wait = await s.client.get("/api/v1/runs/late/actions/a0/wait", params={"timeout": 30})
            a0 = wait.json()
            assert (a0["phase"], a0["error_type"]) == ("timed_out", "DeadlineExceededError")
            beat = {"worker_id": "w1", "actions": [["late", "a0", a["attempt"]]]}
            assert (await s.client.post("/api/v1/executor/heartbeat", json=beat)).json()["abort"] == [
                ["late", "a0"]
            ]
            await s.create_run(name="stuck", task=task("env.other", max_queued_time=0.3))
            wait = await s.client.get("/api/v1/runs/stuck/actions/a0/wait", params={"timeout": 30})
            a0 = wait.json()
            assert (a0["phase"], a0["error_type"]) == ("timed_out", "MaxQueuedTimeExceededError")
            assert (await s.run("stuck"))["phase"] == "timed_out"

    asyncio.run(main())


def test_max_action_concurrency_holds_back_the_runs_extra_actions(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="capped", max_action_concurrency=2)
            [a0] = await s.claim()
            for name in ("c1", "c2", "c3"):
                r = await s.client.post("/api/v1/runs/capped/actions", json=child(name))
                assert r.status_code == 201, r.text
            # a0 waits on its children: it gives its slot back, so two of them start, not three
            first = await s.claim(max=10, timeout=0.5)
            assert sorted(a["action"] for a in first) == ["c1", "c2"]
            assert await s.claim(max=10, timeout=0.3) == []
            assert (await s.action("capped", "c3"))["phase"] == "queued"
            await s.report(first[0], outputs_b64=enc(o0=1))
            [third] = await s.claim(max=10, timeout=5)  # the slot that freed
            assert third["action"] == "c3"
            # another run has no limit of its own
            await s.create_run(name="free")
            [free] = await s.claim(timeout=5)
            assert free["run"] == "free"

    asyncio.run(main())


def test_max_queued_time_ends_an_action_held_for_a_slot(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="held", max_action_concurrency=1)
            [a0] = await s.claim()
            r = await s.client.post("/api/v1/runs/held/actions", json=child("busy"))
            assert r.status_code == 201
            [busy] = await s.claim()
            body = child("impatient", task=task("env.impatient", max_queued_time=0.3))
            assert (await s.client.post("/api/v1/runs/held/actions", json=body)).status_code == 201
            wait = await s.client.get("/api/v1/runs/held/actions/impatient/wait", params={"timeout": 30})
            held = wait.json()
            assert (held["phase"], held["error_type"]) == ("timed_out", "MaxQueuedTimeExceededError")
            assert "for a slot (max_action_concurrency=1)" in held["error_message"]
            assert busy["action"] == "busy"

    asyncio.run(main())


def test_an_older_server_database_gains_the_new_run_column(tmp_path: Path):
    import sqlite3

    home = tmp_path / "home"
    home.mkdir()
    old = sqlite3.connect(home / "runs.db")
    old.execute(  # server_runs as servers before max_action_concurrency made it
        "CREATE TABLE server_runs (name TEXT PRIMARY KEY, task TEXT NOT NULL, env_vars TEXT NOT NULL,"
        " custom_context TEXT NOT NULL, overwrite_cache INTEGER NOT NULL, recover_from TEXT)"
    )
    old.commit()
    old.close()

    async def main() -> None:
        async with serve(settings_for(home)) as s:
            await s.create_run(name="after", max_action_concurrency=3)
            spec = await s.scheduler.spec("after")
            assert spec.max_action_concurrency == 3

    asyncio.run(main())


def test_a_coded_error_and_an_attempt_that_never_started(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="coded")
            [a] = await s.claim()
            await s.report(
                a, "failed", error_type="RuntimeUserError", error_message="over quota", error_code="Quota"
            )
            a0 = await s.action("coded")
            assert (a0["error_type"], a0["error_code"], a0["error_message"]) == (
                "RuntimeUserError", "Quota", "over quota"
            )  # fmt: skip
            await s.create_run(name="nosecret", task=task(retries=3))
            [a] = await s.claim()
            await s.report(
                a, "failed", error_type="SecretNotFoundError", error_message="missing", attempt_started=False
            )
            a0 = await s.action("nosecret")
            assert (a0["phase"], a0["attempts"], a0["started_at"]) == ("failed", 0, None)

    asyncio.run(main())


def test_the_hosts_resources_are_admitted_as_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_LOCAL_CPUS", "2")
    whole = {"cpu": 2.0}

    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            await s.create_run(name="heavy", task=task(resources=whole))
            [a0] = await s.claim()  # holds both CPUs
            for name in ("c1", "c2"):
                body = child(name, task=task("env.heavy", resources=whole))
                assert (await s.client.post("/api/v1/runs/heavy/actions", json=body)).status_code == 201
            # a0 now waits on its children and lends them its CPUs: one child fits, not two
            [first] = await s.claim(max=10, timeout=5)
            assert await s.claim(max=10, timeout=0.3) == []
            await s.report(first, outputs_b64=enc(o0=1))
            [second] = await s.claim(max=10, timeout=5)
            assert {first["action"], second["action"]} == {"c1", "c2"}
            # a request above the whole host is clamped to it, not refused
            await s.create_run(name="huge", task=task(resources={"cpu": 64.0}))
            await s.report(second, outputs_b64=enc(o0=1))
            await s.report(a0, outputs_b64=enc(o0=2))
            [huge] = await s.claim(timeout=5)
            assert huge["run"] == "huge"

    asyncio.run(main())
