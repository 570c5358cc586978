"""The Ray executor, as the server starts it: one dispatcher process that hands every claimed
attempt to a Ray cluster (:mod:`flyte.server.executors.ray_dispatch`).

The dispatcher runs under the default :class:`HostWorkers` (one "worker", restarted when it
dies, its actions queued again), so the server itself never imports Ray. See docs/ray.md.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from collections.abc import Awaitable, Callable

from flyte.errors import InitializationError
from flyte.server.executors.processes import HostWorkers
from flyte.server.settings import ServerSettings

RAY_EXTRA_HINT = "the Ray executor needs Ray: pip install 'flyte-engine[ray]'"


def require_ray() -> None:
    """Raise a one-line ``InitializationError`` naming the extra when Ray is not installed."""
    try:
        found = importlib.util.find_spec("ray")
    except ValueError:  # a module 'ray' without a spec (blocked in sys.modules)
        found = None
    if found is None:
        raise InitializationError("RayNotInstalled", "user", RAY_EXTRA_HINT)


def check_ray_address(address: str | None, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` where no Ray head answers, before the server starts (the dispatcher
    would otherwise retry it forever, out of sight, in its log)."""
    if not address or "://" in address or address == "auto":
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InitializationError(
            "BadRayAddress", "user", f"--ray-address {address!r}: expected HOST:PORT of the Ray head"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise InitializationError(
            "RayUnreachable", "user", f"no Ray cluster answers at {address} ({e.strerror or e})"
        ) from e


def dispatcher_command(settings: ServerSettings) -> list[str]:
    """The dispatcher program; the process executor appends ``--endpoint`` and ``--worker-id``."""
    command = [sys.executable, "-m", "flyte.server.executors.ray_dispatch", "--home", str(settings.home)]
    command += ["--default-cpus", repr(float(settings.ray_default_cpus))]
    if settings.ray_address:
        command += ["--ray-address", settings.ray_address]
    return command


def ray_executor(
    settings: ServerSettings,
    endpoint: str,
    api_key: str,
    on_exit: Callable[[str], Awaitable[None]] | None = None,
) -> HostWorkers:
    """The executor that runs every attempt on the Ray cluster named by ``settings``."""
    require_ray()
    return HostWorkers(
        dispatcher_command(settings), endpoint, api_key, 1, log_dir=settings.log_dir, on_exit=on_exit
    )
