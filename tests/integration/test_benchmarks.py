"""The benchmark runner itself works (speed is judged by its table, never by a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_run_produces_a_table_and_json(tmp_path: Path):
    out = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "async_fanout" in result.stdout and "baseline" in result.stdout
    data = json.loads(out.read_text())
    assert data
