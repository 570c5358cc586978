"""Shared fixtures: every test gets its own FLYTE_HOME and a clean flyte.init state."""

from __future__ import annotations

from pathlib import Path

import pytest


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
