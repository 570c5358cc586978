"""The console benchmark runner works (its numbers are judged by its table, never by a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CHROMIUM

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_console_benchmark_prints_a_table_and_json(tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api", reason="the test extra's playwright is not installed")
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM} (.ci/run installs it: apt-get install chromium)"
        )
    out = tmp_path / "console.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "console.py"), "--quick", "--repeat", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run page" in result.stdout and "runs list" in result.stdout and "<= 1000 ms" in result.stdout
    data = json.loads(out.read_text())
    assert data["size"] == 1000
    assert data["pages"]["runs list"]["rows"] == 50  # one page of the 1,000 runs
    assert data["pages"]["run page"]["interactive"]["median"] > 0
    assert data["expand"]["samples"]
