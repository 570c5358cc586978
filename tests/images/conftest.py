"""Fixtures for the image tests: a real registry on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _registry import registry_server


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``127.0.0.1:<port>`` of a docker-registry started for this test module (stopped afterwards)."""
    yield from registry_server(tmp_path_factory.mktemp("registry"))


@pytest.fixture
def no_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No docker, podman or buildah on PATH, so a build must report that it cannot run."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("FLYTE_IMAGE_BUILDER", raising=False)
