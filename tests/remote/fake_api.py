"""A small in-memory control plane speaking the HTTP API of docs/control-plane.md, for tests.

It keeps runs, actions, a queue, leases-free claims, a task cache, logs and events in memory;
long polls wait on one asyncio.Condition. Enough of the contract to drive the client, the
RemoteController and real worker processes; not the real server (``flyte.server``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import Body, FastAPI, HTTPException, Request, Response

TERMINAL = {"succeeded", "failed", "aborted", "timed_out"}


class FakeControlPlane:
    def __init__(self, api_key: str = "test-key"):
        self.api_key = api_key
        self.runs: dict[str, dict[str, Any]] = {}
        self.actions: dict[tuple[str, str], dict[str, Any]] = {}
        self.io: dict[tuple[str, str], dict[str, Any]] = {}
        self.refs: dict[tuple[str, str], dict[str, Any]] = {}
        self.ctx: dict[tuple[str, str], dict[str, Any]] = {}
        self.parent_attempt: dict[tuple[str, str], int] = {}
        self.queue: list[tuple[str, str]] = []
        self.blobs: dict[str, bytes] = {}
        self.cache: dict[tuple[Any, ...], str] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.traces: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []
        self.posts: list[tuple[str, int]] = []  # (action name, status) of POST .../actions
        self.fail_next: int = 0  # answer this many API requests with 503 (retry tests)
        self._cond: asyncio.Condition | None = None

    @property
    def cond(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def notify(self) -> None:
        async with self.cond:
            self.cond.notify_all()

    async def wait_until(self, check: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        async with self.cond:
            while True:
                value = check()
                left = deadline - time.monotonic()
                if value or left <= 0:
                    return value
                try:
                    await asyncio.wait_for(self.cond.wait(), left)
                except asyncio.TimeoutError:
                    pass

    # -- state changes ---------------------------------------------------------------------------------

    def event(self, run: str, **fields: Any) -> None:
        events = self.events.setdefault(run, [])
        events.append(
            {"seq": len(events) + 1, "at": time.time(), "phase": None, "line": None, "stream": None, **fields}
        )

    def set_phase(self, run: str, name: str, phase: str) -> None:
        action = self.actions[(run, name)]
        now = time.time()
        action["phase"] = phase
        action["history"].append([phase, now, action["attempts"]])
        if phase == "running" and action["started_at"] is None:
            action["started_at"] = now
        if phase in TERMINAL:
            action["ended_at"] = now
        self.event(run, kind="phase", action=name, phase=phase)
        if name == "a0":
            r = self.runs[run]
            r["phase"] = phase
            if phase in TERMINAL:
                r.update(ended_at=now, error_type=action["error_type"], error_message=action["error_message"])
        if phase in TERMINAL:  # a parent is a nursery: its unfinished descendants end with it
            for (rn, child), a in self.actions.items():
                if rn == run and a["parent"] == name and a["phase"] not in TERMINAL:
                    a["error_message"] = f"parent action '{name}' ended"
                    self.set_phase(run, child, "aborted")

    def create_action(
        self, run: str, name: str, parent: str | None, body: dict[str, Any]
    ) -> tuple[dict, int]:
        parent_attempts = self.actions[(run, parent)]["attempts"] if parent else 0
        existing = self.actions.get((run, name))
        if existing is not None:
            earlier = self.parent_attempt.get((run, name), 0) < parent_attempts
            if not (earlier and existing["phase"] in ("failed", "aborted", "timed_out")):
                return existing, 200
            # a later attempt of the parent calls a child that failed before: run it again
            self.parent_attempt[(run, name)] = parent_attempts
            existing.update(error_type=None, error_message=None, ended_at=None)
            self.set_phase(run, name, "queued")
            self.queue.append((run, name))
            return existing, 201
        self.parent_attempt[(run, name)] = parent_attempts
        ref = body["task"]
        now = time.time()
        action = {
            "run_name": run, "name": name, "parent": parent, "task_name": ref["name"], "group": body.get("group"),
            "phase": "queued", "attempts": 0, "created_at": now, "started_at": None, "ended_at": None,
            "error_type": None, "error_message": None, "cache_status": None, "history": [["queued", now, 0]],
        }  # fmt: skip
        self.actions[(run, name)] = action
        self.refs[(run, name)] = ref
        self.ctx[(run, name)] = dict(body.get("custom_context") or {})
        self.io[(run, name)] = {"inputs_b64": body["inputs_b64"], "outputs_b64": None}
        self.event(run, kind="phase", action=name, phase="queued")
        cache = ref.get("cache") or {}
        key = (ref["name"], cache.get("version"), body["inputs_b64"])
        if cache.get("behavior", "disable") != "disable" and key in self.cache:
            action["cache_status"] = "hit"
            self.io[(run, name)]["outputs_b64"] = self.cache[key]
            self.set_phase(run, name, "succeeded")
        else:
            self.queue.append((run, name))
        return action, 201

    def finish(self, report: dict[str, Any]) -> None:
        run, name = report["run"], report["action"]
        action = self.actions.get((run, name))
        if action is None or action["phase"] != "running" or action["attempts"] - 1 != report["attempt"]:
            return  # stale
        phase = report["phase"]
        ref = self.refs[(run, name)]
        if phase != "succeeded" and report.get("retryable") and action["attempts"] <= ref.get("retries", 0):
            for (rn, child), a in list(self.actions.items()):  # the failed attempt's children end with it
                if rn == run and a["parent"] == name and a["phase"] not in TERMINAL:
                    self.set_phase(run, child, "aborted")
            self.set_phase(run, name, "queued")
            self.queue.append((run, name))
            return
        if phase == "succeeded":
            self.io[(run, name)]["outputs_b64"] = report["outputs_b64"]
            cache = ref.get("cache") or {}
            if cache.get("behavior", "disable") != "disable":
                self.cache[(ref["name"], cache.get("version"), self.io[(run, name)]["inputs_b64"])] = report[
                    "outputs_b64"
                ]
                action["cache_status"] = "miss"
        else:
            action["error_type"], action["error_message"] = (
                report.get("error_type"),
                report.get("error_message"),
            )
        self.set_phase(run, name, phase)

    def claim(self, worker_id: str, limit: int) -> list[dict[str, Any]]:
        out = []
        while self.queue and len(out) < limit:
            run, name = self.queue.pop(0)
            action = self.actions[(run, name)]
            if action["phase"] != "queued":
                continue
            action["attempts"] += 1
            self.set_phase(run, name, "running")
            out.append({
                "run": run, "action": name, "attempt": action["attempts"] - 1, "task": self.refs[(run, name)],
                "inputs_b64": self.io[(run, name)]["inputs_b64"], "custom_context": self.ctx[(run, name)],
                "env": dict(self.runs[run]["env_vars"]), "raw_data_path": "", "source_run": None,
                "group": action["group"],
            })  # fmt: skip
        return out


def create_fake_app(plane: FakeControlPlane) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def auth(request: Request, call_next: Any) -> Response:
        path = request.url.path
        if path.startswith("/api/") and plane.fail_next > 0:
            plane.fail_next -= 1
            return Response('{"detail": "try again"}', status_code=503, media_type="application/json")
        if path.startswith("/api/") and request.headers.get("authorization") != f"Bearer {plane.api_key}":
            return Response(
                '{"detail": "Missing or invalid API key"}', status_code=401, media_type="application/json"
            )
        return await call_next(request)

    def need_run(run: str) -> dict[str, Any]:
        if run not in plane.runs:
            raise HTTPException(404, f"No run named '{run}'")
        return plane.runs[run]

    def need_action(run: str, name: str) -> dict[str, Any]:
        need_run(run)
        if (run, name) not in plane.actions:
            raise HTTPException(404, f"Run '{run}' has no action named '{name}'")
        return plane.actions[(run, name)]

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": "fake"}

    @app.post("/api/v1/data/upload-url")
    async def upload_url(body: dict = Body(...)) -> dict[str, Any]:
        return {"url": f"/data/{body['key']}?exp=9999999999&sig=fake", "key": body["key"], "expires_at": 9e9}

    @app.post("/api/v1/data/download-url")
    async def download_url(body: dict = Body(...)) -> dict[str, Any]:
        return {"url": f"/data/{body['key']}?exp=9999999999&sig=fake", "expires_at": 9e9}

    @app.put("/data/{key:path}", status_code=201)
    async def put_data(key: str, request: Request) -> dict[str, Any]:
        plane.blobs[key] = await request.body()
        return {"key": key, "size": len(plane.blobs[key]), "sha256": ""}

    @app.get("/data/{key:path}")
    async def get_data(key: str) -> Response:
        if key not in plane.blobs:
            raise HTTPException(404, "no such key")
        return Response(plane.blobs[key], media_type="application/octet-stream")

    @app.head("/api/v1/data/{key:path}")
    async def head_data(key: str) -> Response:
        return Response(status_code=200 if key in plane.blobs else 404)

    @app.post("/api/v1/runs", status_code=201)
    async def create_run(body: dict = Body(...)) -> dict[str, Any]:
        name = body.get("name") or f"r{len(plane.runs)}"
        if name in plane.runs:
            raise HTTPException(409, f"A run named '{name}' already exists")
        plane.runs[name] = {
            "name": name, "task_name": body["task"]["name"], "phase": "queued", "created_at": time.time(),
            "ended_at": None, "error_type": None, "error_message": None, "source_run": body.get("recover_from"),
            "url": "", "env_vars": dict(body.get("env_vars") or {}),
        }  # fmt: skip
        plane.create_action(name, "a0", None, body)
        await plane.notify()
        return plane.runs[name]

    @app.get("/api/v1/runs")
    async def list_runs(phase: str | None = None, task: str | None = None, limit: int = 100) -> list:
        runs = [r for r in reversed(plane.runs.values()) if (not phase or r["phase"] in phase.split(","))]
        return [r for r in runs if not task or r["task_name"] == task][:limit]

    @app.get("/api/v1/runs/{run}")
    async def get_run(run: str) -> dict[str, Any]:
        return need_run(run)

    @app.post("/api/v1/runs/{run}/abort")
    async def abort(run: str, body: dict = Body(...)) -> dict[str, Any]:
        record = need_run(run)
        for (rn, name), action in list(plane.actions.items()):
            if rn == run and action["phase"] not in TERMINAL:
                action["error_message"] = body.get("reason")
                plane.set_phase(run, name, "aborted")
        await plane.notify()
        return record

    @app.post("/api/v1/runs/{run}/rerun", status_code=201)
    async def rerun(run: str, body: dict = Body(...)) -> dict[str, Any]:
        need_run(run)
        again = {
            "name": body.get("name") or f"{run}-again",
            "task": plane.refs[(run, "a0")],
            "inputs_b64": plane.io[(run, "a0")]["inputs_b64"],
            "env_vars": plane.runs[run]["env_vars"],
        }
        return await create_run(again)

    @app.get("/api/v1/runs/{run}/actions")
    async def list_actions(run: str) -> list:
        need_run(run)
        return [a for (rn, _), a in plane.actions.items() if rn == run]

    @app.post("/api/v1/runs/{run}/actions")
    async def create_child(run: str, response: Response, body: dict = Body(...)) -> dict[str, Any]:
        need_action(run, body["parent"])
        action, status = plane.create_action(run, body["name"], body["parent"], body)
        plane.posts.append((body["name"], status))
        response.status_code = status
        await plane.notify()
        return action

    @app.post("/api/v1/runs/{run}/actions:batch")
    async def create_children(run: str, body: dict = Body(...)) -> dict[str, Any]:
        results = []
        for item in body["actions"]:
            if (run, item["parent"]) not in plane.actions:
                results.append(
                    {"status": 404, "error": f"Run '{run}' has no action named '{item['parent']}'"}
                )
                continue
            action, status = plane.create_action(run, item["name"], item["parent"], item)
            plane.posts.append((item["name"], status))
            results.append({"action": action, "created": status == 201, "status": status})
        await plane.notify()
        return {"results": results}

    @app.post("/api/v1/runs/{run}/outputs:batch")
    async def outputs_batch(run: str, body: dict = Body(...)) -> dict[str, Any]:
        need_run(run)
        found = {n: plane.io[(run, n)].get("outputs_b64") for n in body["names"] if (run, n) in plane.io}
        return {"outputs": found}

    @app.get("/api/v1/runs/{run}/actions/{name}")
    async def get_action(run: str, name: str) -> dict[str, Any]:
        return need_action(run, name)

    @app.get("/api/v1/runs/{run}/actions/{name}/io")
    async def get_io(run: str, name: str) -> dict[str, Any]:
        need_action(run, name)
        return plane.io[(run, name)]

    @app.get("/api/v1/runs/{run}/actions/{name}/wait")
    async def wait(run: str, name: str, timeout: float = 30) -> dict[str, Any]:
        action = need_action(run, name)
        await plane.wait_until(lambda: action["phase"] in TERMINAL, timeout)
        return action

    @app.get("/api/v1/runs/{run}/watch")
    async def watch(run: str, since: int = 0, timeout: float = 30) -> dict[str, Any]:
        need_run(run)
        events = plane.events.setdefault(run, [])
        if since > len(events):  # as the real server: a feed that restarted is resynchronised at once
            return {"seq": len(events), "events": []}
        await plane.wait_until(lambda: len(events) > since, timeout)
        return {"seq": len(events), "events": events[since:]}

    @app.get("/api/v1/runs/{run}/logs")
    async def get_logs(run: str, action: str | None = None) -> list:
        return [line for line in plane.logs.get(run, []) if action is None or line["action"] == action]

    @app.post("/api/v1/executor/claim")
    async def claim(body: dict = Body(...)) -> list:
        got = await plane.wait_until(
            lambda: plane.claim(body["worker_id"], body["max"]), body.get("timeout", 30)
        )
        await plane.notify()
        return got or []

    @app.post("/api/v1/executor/heartbeat")
    async def heartbeat(body: dict = Body(...)) -> dict[str, Any]:
        abort = [
            [r, a] for r, a, _ in body["actions"] if plane.actions.get((r, a), {}).get("phase") in TERMINAL
        ]
        return {"abort": abort}

    @app.post("/api/v1/executor/report")
    async def report(body: dict = Body(...)) -> dict[str, Any]:
        plane.reports.append(body)
        plane.finish(body)
        await plane.notify()
        return {"ok": True}

    @app.post("/api/v1/executor/report:batch")
    async def report_batch(body: dict = Body(...)) -> dict[str, Any]:
        for item in body["reports"]:
            plane.reports.append(item)
            plane.finish(item)
        await plane.notify()
        return {"results": [{"ok": True} for _ in body["reports"]]}

    @app.post("/api/v1/executor/logs")
    async def post_logs(body: dict = Body(...)) -> dict[str, Any]:
        for stream, at, line in body["lines"]:
            entry = {
                "action": body["action"],
                "attempt": body["attempt"],
                "stream": stream,
                "at": at,
                "line": line,
            }
            plane.logs.setdefault(body["run"], []).append(entry)
            plane.event(body["run"], kind="log", action=body["action"], at=at, line=line, stream=stream)
        await plane.notify()
        return {"ok": True}

    @app.post("/api/v1/executor/traces")
    async def post_trace(body: dict = Body(...)) -> dict[str, Any]:
        plane.traces.append(body)
        return {"ok": True}

    return app
