"""``flyte start devbox``: the control plane and its worker processes, on this machine.

The devbox listens on 127.0.0.1 by default. Its API key is made at the first start, kept in
``<FLYTE_HOME>/devbox.json`` (mode 0600, with the endpoint and, while it runs, its pid) for clients
to pick up, and reused by every later start, also against another database. The key is printed at
start, never logged.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from flyte.server.auth import ApiKeys, key_id
from flyte.server.schema import ensure_server_schema
from flyte.server.settings import ServerSettings

if TYPE_CHECKING:
    import uvicorn

    from flyte.server.executors.processes import HostWorkers
    from flyte.server.scheduler import Scheduler

DEVBOX_FILE = "devbox.json"


def devbox_file(home: Path) -> Path:
    return home / DEVBOX_FILE


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _forget_pid(path: Path, pid: int) -> None:
    """Drop ``pid`` from ``devbox.json`` at exit (the endpoint and key stay for the next start),
    unless another devbox has written the file since."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(data, dict) and data.get("pid") == pid:
        data.pop("pid")
        _write_private(path, json.dumps(data, indent=2))


def devbox_key(settings: ServerSettings, keys: ApiKeys) -> str:
    """The devbox's API key: the one in ``devbox.json`` if there is one (registered in this database
    if it is new to it), else a new key."""
    path = devbox_file(settings.home)
    try:
        token = json.loads(path.read_text()).get("api_key")
    except (FileNotFoundError, ValueError, AttributeError):
        token = None
    if isinstance(token, str) and token:
        if keys.verify(token) is None:
            keys.register(token, "devbox")
        return token
    return keys.create("devbox")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (``port`` 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (``flyte stop devbox``) like Ctrl-C: uvicorn shuts down gracefully on it and then
    raises it again; with the default action that would end the process before its cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def graceful_server(config: uvicorn.Config) -> uvicorn.Server:
    """A uvicorn server that answers the app's long-polls as soon as it starts shutting down
    (otherwise uvicorn would wait for each claim, wait and watch to time out)."""
    import uvicorn

    class GracefulServer(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            for server in self.servers:  # stop accepting first: answered polls are not re-sent here
                server.close()
            scheduler = getattr(self.config.app.state, "scheduler", None)  # type: ignore[union-attr]
            if scheduler is not None:
                scheduler.begin_shutdown()
            await super().shutdown(sockets)

    return GracefulServer(config)


def run_devbox(settings: ServerSettings) -> None:
    """Serve the control plane with ``settings.workers`` worker processes until interrupted."""
    import uvicorn

    from flyte.server.app import create_app
    from flyte.server.executors.processes import HostWorkers
    from flyte.server.executors.ray_executor import check_ray_address, ray_executor, require_ray

    if settings.executor == "ray":  # before anything starts: one-line errors
        require_ray()
        check_ray_address(settings.ray_address)
    store = settings.open_store()
    try:
        ensure_server_schema(store)
        keys = ApiKeys(store)
        # Judge exposure before the devbox makes its own key: on a fresh home that key would only be
        # printed here, so listening beyond this machine needs a key the user created beforehand.
        settings.check_bind(have_api_key=keys.count() > 0 or devbox_file(settings.home).exists())
        api_key = devbox_key(settings, keys)
        sock = bind(settings.host, settings.port)
        settings.port = sock.getsockname()[1]
        endpoint = settings.endpoint
        record = {"endpoint": endpoint, "api_key": api_key, "pid": os.getpid()}
        _write_private(devbox_file(settings.home), json.dumps(record, indent=2))

        def executor(scheduler: Scheduler) -> HostWorkers:
            if settings.executor == "ray":
                return ray_executor(settings, endpoint, api_key, on_exit=scheduler.worker_gone)
            assert settings.worker_command is not None and settings.workers is not None
            return HostWorkers(
                settings.worker_command, endpoint, api_key, settings.workers, log_dir=settings.log_dir,
                on_exit=scheduler.worker_gone,
            )  # fmt: skip

        print(f"flyte devbox listening on {endpoint}")
        print(f"  API key:  {api_key}   (id {key_id(api_key)}; saved in {devbox_file(settings.home)})")
        print(f"  database: {store.identity if hasattr(store, 'identity') else settings.db_url}")
        print(f"  storage:  {settings.storage_location}")
        if settings.executor == "ray":
            where = settings.ray_address or "a new local cluster"
            print(f"  executor: ray at {where} (logs in {settings.log_dir})")
        else:
            print(f"  workers:  {settings.workers} (logs in {settings.log_dir})")
        sys.stdout.flush()
        app = create_app(settings, store=store, executor_factory=executor)
        config = uvicorn.Config(app, log_level="info", access_log=False, timeout_graceful_shutdown=5)
        try:
            with _sigterm_as_interrupt():
                graceful_server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises the signal it handled, after shutting down
            pass
        finally:
            sock.close()
            _forget_pid(devbox_file(settings.home), os.getpid())
    finally:
        store.close()
