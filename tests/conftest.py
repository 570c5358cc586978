"""Shared fixtures: every test gets its own FLYTE_HOME and a clean flyte.init state."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from _postgres_server import fresh_database, postgres_server


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "flyte-home"
    monkeypatch.setenv("FLYTE_HOME", str(home))
    monkeypatch.delenv("FLYTE_CONFIG", raising=False)
    monkeypatch.delenv("FLYTECTL_CONFIG", raising=False)
    monkeypatch.delenv("FLYTE_API_KEY", raising=False)
    import flyte._initialize as initialize

    monkeypatch.setattr(initialize, "_config", None)
    return home


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for this test session (stopped at the end)."""
    yield from postgres_server()


_databases = itertools.count()


@pytest.fixture
def postgres_db(postgres_url: str) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    return fresh_database(postgres_url, f"flyte_test_{next(_databases)}")
