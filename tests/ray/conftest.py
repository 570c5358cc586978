"""A real two-node Ray cluster on loopback (``tests/_ray_cluster.py``), and a devbox that runs its
attempts on it. The cluster lives as long as this package's tests (one CPU a node, so that
placement and "no node can hold it" are decided by small numbers)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _ray_cluster import (
    HEAD_IP,
    NODE2_IP,
    RAY_MISSING,
    RAY_MISSING_REASON,
    RayCluster,
    assert_all_on_loopback,
    loopback,
    ray_devbox_args,
    ray_devbox_env,
    two_node_cluster,
)
from _services import devbox_process

__all__ = ["HEAD_IP", "NODE2_IP", "Devbox", "RayCluster", "assert_all_on_loopback", "loopback", "ray_devbox"]


@pytest.fixture(scope="package")
def ray_cluster() -> Iterator[RayCluster]:
    """Two Ray nodes (one CPU each) on 127.0.0.2 and 127.0.0.3, for this package's tests."""
    if RAY_MISSING:
        pytest.skip(RAY_MISSING_REASON)
    with two_node_cluster(cpus_per_node=1) as cluster:
        yield cluster


@dataclass
class Devbox:
    endpoint: str
    api_key: str
    home: Path
    log: Path


@contextlib.contextmanager
def ray_devbox(home: Path, address: str, lease_seconds: float = 30.0) -> Iterator[Devbox]:
    """A devbox with ``--executor ray --ray-address address`` in a subprocess, until the block ends."""
    args = ray_devbox_args(home, address, lease_seconds)
    with devbox_process(home, args, ray_devbox_env(), new_session=True) as (_, info):
        yield Devbox(info["endpoint"], info["api_key"], home, home / "server.log")
