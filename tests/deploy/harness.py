"""In-process control planes for the deploy and trigger tests: an app with its lifespan running,
a hand-moved trigger clock, and the body of a deployed task."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from flyte.server.app import create_app
from flyte.server.settings import ServerSettings
from flyte.server.triggers.clock import FakeClock
from flyte.types import TypeEngine


def enc(**values: Any) -> str:
    return base64.b64encode(TypeEngine.encode_values(values, {})).decode() if values else ""


def task_body(
    name: str = "env.report", version: str = "v1", triggers: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    """A ``POST /api/v1/tasks`` body: a task with one required ``when`` input and a ``label`` default."""
    body = {
        "name": name,
        "version": version,
        "environment": name.split(".")[0],
        "task": {"name": name, "module": "wf", "bundle_key": "bundles/" + "a" * 64 + ".tgz", "retries": 1},
        "interface": {
            "inputs": [
                {"name": "when", "type": {"kind": "datetime"}, "required": True},
                {"name": "label", "type": {"kind": "str"}, "required": False, "default_repr": "'x'"},
            ],
            "outputs": [{"name": "o0", "type": {"kind": "str"}}],
            "defaults_b64": enc(label="x"),
        },
        "triggers": triggers if triggers is not None else [],
    }
    body.update(fields)
    return body


def every_minute(name: str = "every_minute", **fields: Any) -> dict[str, Any]:
    trigger = {
        "name": name,
        "automation": {"kind": "fixed_rate", "interval_minutes": 1},
        "inputs_b64": enc(label="tick"),
        "trigger_time_inputs": ["when"],
    }
    trigger.update(fields)
    return trigger


class Plane:
    """One running app: its client, store, trigger service and clock."""

    def __init__(self, app: Any, client: httpx.AsyncClient, clock: FakeClock):
        self.app, self.client, self.clock = app, client, clock

    @property
    def triggers(self) -> Any:
        return self.app.state.triggers

    @property
    def store(self) -> Any:
        return self.app.state.store

    async def deploy(self, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post("/api/v1/tasks", json=body)

    async def fires(self, task: str, trigger: str) -> list[dict[str, Any]]:
        r = await self.client.get(f"/api/v1/triggers/{task}/{trigger}/fires")
        assert r.status_code == 200, r.text
        return r.json()


@asynccontextmanager
async def plane(home: Path, clock: FakeClock, db_url: str | None = None) -> AsyncIterator[Plane]:
    """An app on ``home`` (or ``db_url``) whose triggers read ``clock``."""
    settings = ServerSettings(home=home, port=8080, db_url=db_url)
    app = create_app(settings, trigger_clock=clock)
    async with app.router.lifespan_context(app):
        key = app.state.api_keys.create("test")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers={"Authorization": f"Bearer {key}"}
        ) as client:
            yield Plane(app, client, clock)
