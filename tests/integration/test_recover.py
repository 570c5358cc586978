"""Resume: a failed or killed run is rerun with --recover without redoing finished work."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

WORKFLOW = textwrap.dedent(
    """
    import asyncio, os
    from pathlib import Path
    import flyte

    env = flyte.TaskEnvironment(name="resume")
    MARKERS = Path(os.environ["MARKERS"])

    def mark(name: str) -> None:
        MARKERS.mkdir(exist_ok=True)
        with (MARKERS / name).open("a") as f:
            f.write("x")

    @flyte.trace
    async def expensive_lookup(i: int) -> int:
        mark(f"trace-{i}")
        return i * 100

    @env.task
    async def step(i: int) -> int:
        mark(f"step-{i}")
        looked_up = await expensive_lookup(i)  # recorded: replayed, not repeated, on recovery
        if i == 3 and not (MARKERS / "allow-3").exists():
            raise RuntimeError("step 3 is not ready")
        if i == 4 and not (MARKERS / "release-4").exists():
            await asyncio.sleep(600)  # blocks until the test kills the process
        return i + looked_up

    @env.task
    async def pipeline(n: int) -> int:
        total = 0
        for i in range(n):
            total += await step(i)
        return total
    """
)


def run_python(
    code: str, cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def counts(markers: Path) -> dict[str, int]:
    return {p.name: len(p.read_text()) for p in markers.iterdir() if p.name.startswith(("step", "trace"))}


@pytest.fixture
def workdir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "wf.py").write_text(WORKFLOW)
    env = {**os.environ, "MARKERS": str(tmp_path / "markers"), "PYTHONPATH": str(tmp_path)}
    return tmp_path, env


def test_recover_after_a_failure_reruns_only_what_did_not_succeed(workdir):
    cwd, env = workdir
    (cwd / "markers").mkdir()
    (cwd / "markers" / "release-4").touch()
    first = run_python(
        "import flyte, wf\nr = flyte.with_runcontext(name='first').run(wf.pipeline, 6)", cwd, env
    )
    assert first.returncode != 0 and "step 3 is not ready" in first.stderr
    assert counts(cwd / "markers") == {f"step-{i}": 1 for i in range(4)} | {f"trace-{i}": 1 for i in range(4)}
    (cwd / "markers" / "allow-3").touch()
    second = run_python(
        "import flyte\nr = flyte.rerun('first', recover=True)\nprint(r.outputs()[0])", cwd, env
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == str(sum(i + i * 100 for i in range(6)))
    assert counts(cwd / "markers") == {f"step-{i}": (2 if i == 3 else 1) for i in range(6)} | {
        f"trace-{i}": 1 for i in range(6)
    }


def recorded(home: Path, run: str) -> tuple[int, int]:
    """(succeeded steps, recorded traces) of a run, as the store has them."""
    db = home / "runs.db"
    if not db.exists():
        return 0, 0
    try:
        return _count(db, run)
    except sqlite3.OperationalError:  # the run's process is still creating the store's tables
        return 0, 0


def _count(db: Path, run: str) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        steps = conn.execute(
            "SELECT count(*) FROM actions WHERE run_name = ? AND task_name = 'resume.step' AND phase = 'succeeded'",
            (run,),
        ).fetchone()[0]
        traces = conn.execute("SELECT count(*) FROM traces WHERE run_name = ?", (run,)).fetchone()[0]
    return steps, traces


def test_recover_after_the_process_was_killed(workdir):
    cwd, env = workdir
    (cwd / "markers").mkdir()
    (cwd / "markers" / "allow-3").touch()
    home = Path(env["FLYTE_HOME"])
    proc = subprocess.Popen(
        [sys.executable, "-c", "import flyte, wf\nflyte.with_runcontext(name='killed').run(wf.pipeline, 6)"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        # steps 0-3 succeeded and step 4's trace call are recorded; step 4 itself is blocked
        while recorded(home, "killed") != (4, 5) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert recorded(home, "killed") == (4, 5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.communicate()

    # The dead run is detected, not shown as running forever.
    status = run_python("import flyte.remote as r\nprint(r.Run.get('killed').phase.value)", cwd, env)
    assert status.stdout.strip() == "failed", status.stderr

    (cwd / "markers" / "release-4").touch()
    second = run_python(
        "import flyte\nr = flyte.rerun('killed', recover=True)\nprint(r.outputs()[0])", cwd, env
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == str(sum(i + i * 100 for i in range(6)))
    executions = counts(cwd / "markers")
    # every action that had succeeded ran exactly once in total; step 4 was cut off and ran again
    assert executions == {f"step-{i}": (2 if i == 4 else 1) for i in range(6)} | {
        f"trace-{i}": 1 for i in range(6)
    }
