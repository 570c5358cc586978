"""Fixtures of the control-plane client tests: a fake control plane served on a loopback port,
worker processes against it, and a workflow file to run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flyte.remote._remote_run import close_clients

from .fake_api import FakeControlPlane, create_fake_app

API_KEY = "test-key"

WORKFLOW = textwrap.dedent(
    """
    import asyncio
    import os

    import flyte
    import flyte.errors

    env = flyte.TaskEnvironment(name="wf")


    @env.task
    async def square(x: int) -> int:
        print(f"squaring {x}")
        return x * x


    @env.task
    async def boom(x: int) -> int:
        raise ValueError(f"bad input {x}")


    @env.task(cache="auto")
    async def cached(x: int) -> int:
        return x + 1000


    @env.task
    def sync_double(x: int) -> int:
        print("doubling", x)
        return 2 * x


    @env.task
    async def main(n: int = 5) -> str:
        squares = await asyncio.gather(*(square(i) for i in range(n)))
        try:
            await boom(n)
            caught = "nothing"
        except ValueError as e:
            caught = str(e)
        c = await cached(n)
        d = await sync_double.aio(n)
        return f"{sum(squares)}|{caught}|{c}|{d}|{flyte.ctx().mode}"


    @env.task(retries=2)
    async def flaky_link() -> str:
        attempt = flyte.ctx().attempt_number
        if attempt < 2:
            raise ConnectionError(f"attempt {attempt} lost the connection")
        return f"attempt {attempt}"


    @env.task(timeout=0.5)
    async def slow_step() -> str:
        await asyncio.sleep(30)
        return "never"


    @env.task
    async def resilient() -> str:
        first = await flaky_link()
        try:
            await slow_step()
            second = "finished"
        except flyte.errors.TaskTimeoutError as e:
            second = type(e).__name__
        return f"{first}|{second}"


    @env.task
    async def fanout(n: int = 100) -> int:
        return sum(await asyncio.gather(*(square(i) for i in range(n))))


    @env.task
    async def sleepy(seconds: float = 60.0) -> str:
        await asyncio.sleep(seconds)
        return "woke"


    @env.task
    async def waits_on_sleepy(seconds: float = 60.0) -> str:
        return await sleepy(seconds)


    @env.task(retries=2)
    async def flaky(marker: str) -> int:
        if not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("first attempt fails")
        return flyte.ctx().attempt_number


    @env.task
    async def reads_env() -> str:
        return os.environ.get("GREETING", "unset")


    @env.task(timeout=0.5)
    async def too_slow() -> int:
        await asyncio.sleep(30)
        return 1


    with_secret = flyte.TaskEnvironment(name="wf_secret", secrets="api-token")


    @with_secret.task
    async def reads_secret() -> str:
        return os.environ["API_TOKEN"]


    @env.task
    async def reads_context() -> str:
        return f"{flyte.ctx().group_data.name if flyte.ctx().group_data else None}|{flyte.get_custom_context()}"


    @env.task
    async def in_group() -> str:
        with flyte.group("g1"), flyte.custom_context(team="blue"):
            return await reads_context()


    class Oops(Exception):
        pass


    @env.task
    async def custom_error() -> int:
        raise Oops("not a builtin")


    @env.task
    async def where_am_i() -> str:
        return f"{flyte.current_project()}/{flyte.current_domain()}|{await child_where()}"


    @env.task
    async def child_where() -> str:
        return f"{flyte.current_project()}/{flyte.current_domain()}"


    @env.task
    async def overridden() -> str:
        greeting = await reads_env.override(env_vars={"GREETING": "overridden"})()
        try:
            await sleepy.override(timeout=0.5)(30.0)
            slept = "not enforced"
        except flyte.errors.TaskTimeoutError as e:
            slept = type(e).__name__
        return f"{greeting}|{await reads_env()}|{slept}"


    @env.task
    async def catches_both_ways() -> str:
        seen = []
        try:
            await boom(1)
        except flyte.errors.RuntimeUserError as e:
            seen.append(f"{e.code}:{e}")
        try:
            await custom_error()
        except Oops as e:
            seen.append(f"{type(e).__name__}:{isinstance(e, flyte.errors.RuntimeUserError)}:{e}")
        try:
            await too_slow()
        except flyte.errors.RuntimeUserError as e:
            seen.append(type(e).__name__)
        return "|".join(seen)
    """
)


@dataclass
class FakeServer:
    plane: FakeControlPlane
    endpoint: str
    serving: tuple[object, threading.Thread, socket.socket]
    api_key: str = API_KEY
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        server, thread, sock = self.serving
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(10)
        sock.close()

    def restart(self, down_for: float) -> None:
        """Stop serving, stay down ``down_for`` seconds, then serve the same state on the same port."""
        port = self.serving[2].getsockname()[1]
        self.stop()
        time.sleep(down_for)
        self.plane._cond = None  # its waiters belonged to the old event loop
        self.serving = serve_in_thread(create_fake_app(self.plane), port)[1:]  # type: ignore[assignment]

    def start_worker(self, concurrency: int = 64) -> subprocess.Popen[bytes]:
        """A real worker process (``python -m flyte._bin.worker``) against this server."""
        env = dict(os.environ, FLYTE_API_KEY=self.api_key)
        args = [sys.executable, "-m", "flyte._bin.worker", "--endpoint", self.endpoint]
        args += ["--worker-id", f"w{len(self.workers)}", "--concurrency", str(concurrency)]
        args += ["--parent-pid", str(os.getpid())]
        log_path = Path(env.get("FLYTE_HOME", ".")) / f"worker-{len(self.workers)}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:  # the worker keeps its own copy of the file
            proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc


def serve_in_thread(app: object, port: int = 0) -> tuple[str, object, threading.Thread, socket.socket]:
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(256)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the fake control plane did not start"
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread, sock


@pytest.fixture(autouse=True)
def _close_cached_clients() -> Iterator[None]:
    yield
    close_clients()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    plane = FakeControlPlane(API_KEY)
    endpoint, *serving = serve_in_thread(create_fake_app(plane))
    fake = FakeServer(plane, endpoint, tuple(serving))  # type: ignore[arg-type]
    try:
        yield fake
    finally:
        for proc in fake.workers:
            proc.terminate()
        for proc in fake.workers:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        fake.stop()


@pytest.fixture
def workflow(tmp_path: Path) -> Iterator[Path]:
    """A project directory with ``wf.py`` (the tasks above) in it."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "wf.py").write_text(WORKFLOW)
    yield project
    sys.modules.pop("wf", None)
