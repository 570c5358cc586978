"""Helpers for the control-plane tests: an in-process app with its lifespan, a real uvicorn server
in a thread, and request builders."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from flyte.server.app import create_app
from flyte.server.settings import ServerSettings
from flyte.types import TypeEngine


def enc(**values: Any) -> str:
    """Encoded named values, base64 (as the client sends inputs and outputs)."""
    return base64.b64encode(TypeEngine.encode_values(values, {})).decode()


def dec(data_b64: str | None) -> dict[str, Any]:
    return TypeEngine.decode_values(base64.b64decode(data_b64 or ""), {})


def task(name: str = "env.main", **fields: Any) -> dict[str, Any]:
    return {"name": name, "module": "wf", "bundle_key": "bundles/abc.tgz", **fields}


def run_body(name: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "task": task(), "inputs_b64": enc(x=1)}
    body.update(fields)
    return body


def settings_for(home: Path, **overrides: Any) -> ServerSettings:
    return ServerSettings(home=home, port=8080, **overrides)


class Server:
    """An app whose lifespan is running, with an authenticated client."""

    def __init__(self, app: Any, client: httpx.AsyncClient, api_key: str):
        self.app, self.client, self.api_key = app, client, api_key

    @property
    def scheduler(self) -> Any:
        return self.app.state.scheduler

    @property
    def store(self) -> Any:
        return self.app.state.store

    async def create_run(self, **fields: Any) -> dict[str, Any]:
        r = await self.client.post("/api/v1/runs", json=run_body(**fields))
        assert r.status_code == 201, r.text
        return r.json()

    async def claim(self, worker: str = "w1", max: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        r = await self.client.post(
            "/api/v1/executor/claim", json={"worker_id": worker, "max": max, "timeout": timeout}
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def report(self, a: dict[str, Any], phase: str = "succeeded", **fields: Any) -> dict[str, Any]:
        body = {
            "worker_id": "w1",
            "run": a["run"],
            "action": a["action"],
            "attempt": a["attempt"],
            "phase": phase,
        }
        body.update(fields)
        r = await self.client.post("/api/v1/executor/report", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    async def action(self, run: str, name: str = "a0") -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/runs/{run}/actions/{name}")
        assert r.status_code == 200, r.text
        return r.json()

    async def run(self, run: str) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/runs/{run}")
        assert r.status_code == 200, r.text
        return r.json()


@asynccontextmanager
async def serve(settings: ServerSettings, store: Any = None) -> AsyncIterator[Server]:
    """Run the app's lifespan and give an authenticated in-process client."""
    app = create_app(settings, store=store)
    async with app.router.lifespan_context(app):
        key = app.state.api_keys.create("test")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as client:
            yield Server(app, client, key)


@contextmanager
def uvicorn_server(app: Any, port: int = 0) -> Iterator[str]:
    """Serve ``app`` on a loopback port (0: any free one) in a thread; yield its URL; stop it afterwards."""
    import uvicorn

    from flyte.server.devbox import graceful_server

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = graceful_server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


async def eventually(check: Any, timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Await ``check()`` until it returns something truthy (raises after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
