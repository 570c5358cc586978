"""Every example runs as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_hello(tmp_path: Path):
    result = run_example("hello.py", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout
    assert "The squares of 0..9 add up to 285" in result.stdout
