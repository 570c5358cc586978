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


def test_map_and_trace(tmp_path: Path):
    result = run_example("map_and_trace.py", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "20 mapped actions" in result.stdout
    assert "total score: 38.0" in result.stdout  # 2 * (0 + 0.1 + ... + 1.9)


def test_retries(tmp_path: Path):
    result = run_example("retries.py", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "downloaded on attempt 2" in result.stdout
    assert "slow_step gave up: MaxRuntimeExceededError" in result.stdout


def test_files_and_dataframes(tmp_path: Path):
    result = run_example("files_and_dataframes.py", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "s0: 13.0, s1: 14.0, s2: 15.0" in result.stdout
