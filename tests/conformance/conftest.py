"""Backends of the conformance suite: every scenario runs once per backend in ``BACKENDS``.

The devboxes are started once per session (lazily, by the first scenario that needs one) and
stopped at its end; the local backends need nothing but this process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from _ray_cluster import (
    RAY_MISSING,
    RAY_MISSING_REASON,
    RayCluster,
    ray_devbox_args,
    ray_devbox_env,
    two_node_cluster,
)
from _services import devbox_process
from flyte.remote._remote_run import close_clients

from .driver import Backend, DevboxBackend, DevboxService, IsolatedBackend, LocalBackend

BACKENDS = ["local", "isolate", "devbox-sqlite", "devbox-postgresql", "ray"]
"""Every backend a scenario must behave the same on (a new executor adds its name here)."""

LAUNCH = (
    "import sys; from pathlib import Path; from flyte.server.settings import ServerSettings; "
    "from flyte.server.devbox import run_devbox; "
    "run_devbox(ServerSettings(home=Path(sys.argv[1]), host='127.0.0.1', port=0, workers=2, "
    "db_url=sys.argv[2] if len(sys.argv) > 2 else None))"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a behaviour scenario run on every backend")
    config.addinivalue_line("markers", "slow: a scenario that takes seconds on each backend")
    config.addinivalue_line("markers", "xfail_on(backends, reason): a known divergence on those backends")


def _start_devbox(home: Path, db_url: str | None, database: str) -> Iterator[DevboxService]:
    """A devbox on a free loopback port with two worker processes, stopped when the session ends."""
    args = [sys.executable, "-c", LAUNCH, str(home), *([db_url] if db_url else [])]
    with devbox_process(home, args, new_session=True) as (_, info):
        yield DevboxService(info["endpoint"], info["api_key"], home, database, db_url)


@pytest.fixture(scope="session")
def devbox_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevboxService]:
    yield from _start_devbox(tmp_path_factory.mktemp("conf-devbox-sqlite"), None, "sqlite")


@pytest.fixture(scope="session")
def devbox_postgresql(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[DevboxService]:
    from _postgres_server import fresh_database

    db = fresh_database(postgres_url, "flyte_conformance")
    yield from _start_devbox(tmp_path_factory.mktemp("conf-devbox-pg"), db, "postgresql")


@pytest.fixture(scope="package")
def conformance_ray_cluster() -> Iterator[RayCluster]:
    """The two-node loopback Ray cluster of ``tests/_ray_cluster.py``, while this suite runs.

    Four CPUs a node: a parent holds its CPU while it awaits its children (docs/ray.md), and the
    scenarios nest parents a few levels deep."""
    if RAY_MISSING:
        pytest.skip(RAY_MISSING_REASON)
    with two_node_cluster(cpus_per_node=4) as cluster:
        yield cluster


@pytest.fixture(scope="package")
def devbox_ray(
    tmp_path_factory: pytest.TempPathFactory, conformance_ray_cluster: RayCluster
) -> Iterator[DevboxService]:
    """A devbox with ``executor="ray"`` (SQLite) whose every attempt runs on the Ray cluster."""
    home = tmp_path_factory.mktemp("conf-devbox-ray")
    args = ray_devbox_args(home, conformance_ray_cluster.address)
    with devbox_process(home, args, ray_devbox_env(), new_session=True) as (_, info):
        yield DevboxService(info["endpoint"], info["api_key"], home, "sqlite")


def make_backend(request: pytest.FixtureRequest, name: str) -> Backend:
    if name == "local":
        return LocalBackend()
    if name == "isolate":
        return IsolatedBackend()
    if name == "devbox-sqlite":
        return DevboxBackend(request.getfixturevalue("devbox_sqlite"))
    if name == "devbox-postgresql":
        return DevboxBackend(request.getfixturevalue("devbox_postgresql"))
    if name == "ray":
        return DevboxBackend(request.getfixturevalue("devbox_ray"), name="ray")
    raise ValueError(f"unknown conformance backend {name!r}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, isolated_home: Path) -> Iterator[Backend]:
    """The backend of this scenario, with ``flyte.init`` pointing at it."""
    chosen = make_backend(request, request.param)
    for mark in request.node.iter_markers("xfail_on"):
        if request.param in mark.args[0]:
            request.node.add_marker(pytest.mark.xfail(strict=True, reason=mark.kwargs["reason"]))
    chosen.init()
    yield chosen
    close_clients()


@pytest.fixture
def marker(tmp_path: Path) -> str:
    """A directory the scenario's tasks count their runs in (every backend's workers can reach it)."""
    path = tmp_path / "marker"
    path.mkdir()
    return str(path)
