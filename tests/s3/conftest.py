"""Fixtures for the object-storage tests: one moto server per session, a fresh bucket per test,
and the standard AWS variables pointing at it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from s3_server import S3Server, moto_server

_buckets = itertools.count()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The AWS variables of the moto server set in this process (and inherited by children)."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    for name in ("FLYTE_AWS_ENDPOINT", "FLYTE_AWS_ACCESS_KEY_ID", "FLYTE_AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    return s3_server


@pytest.fixture
def bucket(s3_env: S3Server) -> str:
    """A new, empty bucket."""
    name = f"flyte-test-{next(_buckets)}"
    s3_env.create_bucket(name)
    return name
