"""``pyflyte run FILE ENTITY --input value``: flytekit's argument parsing, the engine's run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROGRAMS = Path(__file__).resolve().parent / "programs"


def pyflyte(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flytekit.clis.sdk_in_container.pyflyte", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or PROGRAMS,
        env=dict(os.environ),
    )


def test_run_a_workflow_with_json_lists():
    r = pyflyte("run", "basics.py", "simple_wf", "--x", "[-3, 0, 3]", "--y", "[7, 4, -2]")
    assert r.returncode == 0, r.stderr
    assert "succeeded" in r.stdout and "o0: 3.0" in r.stdout


def test_defaults_flags_and_named_outputs():
    r = pyflyte("run", "basics.py", "greet_wf", "--full", "Edsger Dijkstra")
    assert r.returncode == 0, r.stderr
    assert "text: Hello, Edsger!" in r.stdout and "length: 14" in r.stdout


def test_dataclass_and_enum_inputs():
    r = pyflyte("run", "types_prog.py", "pick", "--m", '{"title": "T", "score": 1.5}', "--extra", "x")
    assert r.returncode == 0, r.stderr
    assert "'title': 'T'" in r.stdout and "'extra': 'x'" in r.stdout
    r = pyflyte("run", "types_prog.py", "configure", "--name", "n", "--color", "green")
    assert r.returncode == 0, r.stderr
    assert "Color.GREEN" in r.stdout


def test_a_file_argument_is_a_local_path(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("n\n1\n2\n3\n")
    r = pyflyte("run", "types_prog.py", "sum_csv", "--f", str(data))
    assert r.returncode == 0, r.stderr
    assert "o0: 6" in r.stdout


def test_a_launch_plan_with_its_defaults():
    r = pyflyte("run", "launch_plans.py", "paris")
    assert r.returncode == 0, r.stderr
    assert "Paris in kelvin" in r.stdout


def test_errors_are_one_clear_message():
    r = pyflyte("run", "basics.py", "nope")
    assert r.returncode != 0 and "no task, workflow or launch plan named 'nope'" in r.stderr
    r = pyflyte("run", "basics.py", "simple_wf", "--x", "[1]")
    assert r.returncode != 0 and "--y" in r.stderr
    r = pyflyte("run", "conditions.py", "multiplier", "--my_input", "50")
    assert r.returncode != 0 and "The input must be between 0 and 10" in r.stderr
    r = pyflyte("register", "basics.py")
    assert r.returncode != 0 and "flyte create config" in r.stderr
    r = pyflyte("serialize", "basics.py")
    assert r.returncode != 0 and "pyflyte register" in r.stderr
    r = pyflyte("run", "--remote", "basics.py", "simple_wf")
    assert r.returncode != 0 and "flyte create config" in r.stderr


def test_package_is_the_dry_run_of_register():
    r = pyflyte("package", "--version", "v7", "launch_plans.py")
    assert r.returncode == 0, r.stderr
    assert "[dry run] TASK launch_plans.describe version v7" in r.stdout
    assert "[dry run] WORKFLOW launch_plans.weather version v7" in r.stdout
    assert (
        "LAUNCH_PLAN nightly_weather: trigger on launch_plans.weather, cron '0 2 * * *', inactive" in r.stdout
    )
    assert "LAUNCH_PLAN every_ten: trigger on launch_plans.weather, every 10 min, inactive" in r.stdout
    assert "LAUNCH_PLAN paris_weather of launch_plans.weather: no schedule" in r.stdout
    active = pyflyte("package", "--version", "v7", "launch_plans.py", "scheduled.py")
    assert (
        "LAUNCH_PLAN scheduled.yearly: trigger on scheduled.ticker, cron '0 0 1 1 *', active" in active.stdout
    )
    r = pyflyte("package", "nope.py")
    assert r.returncode != 0 and "nope.py" in r.stderr
