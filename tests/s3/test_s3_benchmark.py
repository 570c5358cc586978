"""The S3 File benchmark runs and prints its table (its speed is read from the table, not tested)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_quick_s3_benchmark_prints_a_table(tmp_path: Path):
    out = tmp_path / "s3.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "s3_file.py"), "--quick", "--size-mb", "2", "--json", str(out)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "file_s3 (2 MB, moto)" in result.stdout and "direct obstore" in result.stdout
    data = json.loads(out.read_text())
    assert data["size_mb"] == 2 and data["best"]["flyte"] > 0 and data["best"]["direct"] > 0
