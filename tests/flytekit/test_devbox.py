"""The same flytekit programs against the control plane (``flyte start devbox``): every node is an
action a devbox worker runs, and the outputs are the ones the local runs give."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import flyte
from _services import Devbox, running_devbox
from flyte._internal.loader import load_module
from flyte.models import ActionPhase
from flyte.remote._remote_run import RemoteRun

pytestmark = pytest.mark.integration

PROGRAMS = Path(__file__).resolve().parent / "programs"


@pytest.fixture(scope="module")
def devbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devbox]:
    home = tmp_path_factory.mktemp("devbox-home")
    # PYTHONPATH names compat/flytekit (conftest), so the devbox's workers import this layer too
    with running_devbox(home) as box:
        yield box


@pytest.fixture
def project(tmp_path: Path, devbox: Devbox) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    for name in ("basics.py", "conditions.py", "dyn_map.py", "context_prog.py"):
        shutil.copy(PROGRAMS / name, root / name)
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=root)
    yield root
    for name in ("basics", "conditions", "dyn_map", "context_prog"):
        sys.modules.pop(name, None)


def _tasks(run: RemoteRun) -> list[str]:
    return sorted(a.task_name for a in run.actions())


def test_basics_on_the_devbox(project: Path) -> None:
    basics = load_module(str(project / "basics.py"), project)
    run = flyte.run(basics.outer_wf, n=2)
    assert isinstance(run, RemoteRun)
    assert run.outputs() == (6, 16)
    assert _tasks(run) == [
        "basics.add",
        "basics.add",
        "basics.inner_wf",
        "basics.make_point",
        "basics.outer_wf",
    ]
    assert {a.phase for a in run.actions()} == {ActionPhase.SUCCEEDED}
    # calling the workflow as flytekit code does, with the devbox configured
    assert basics.greet_wf(full="Ada Lovelace") == basics.Greeting(text="Hello, Ada!", length=11)
    assert basics.simple_wf(x=[-3, 0, 3], y=[7, 4, -2]) == pytest.approx(3.0)


def test_conditionals_on_the_devbox(project: Path) -> None:
    conditions = load_module(str(project / "conditions.py"), project)
    run = flyte.run(conditions.multiplier, my_input=4.0)
    assert run.outputs() == (16.0,)
    assert _tasks(run) == ["conditions.multiplier", "conditions.square"]
    assert conditions.nested(a=1, b=-1) == "only a"
    assert conditions.downstream(n=500) == 100
    with pytest.raises(ValueError, match="The input must be between 0 and 10"):
        conditions.multiplier(my_input=20.0)


def test_map_and_dynamic_on_the_devbox(project: Path) -> None:
    dyn_map = load_module(str(project / "dyn_map.py"), project)
    run = flyte.run(dyn_map.map_wf, xs=[1, 2, 3])
    assert run.outputs() == ([10, 20, 30],)
    assert _tasks(run) == ["dyn_map.map_wf", *["dyn_map.scale"] * 3]
    assert dyn_map.tolerant_map(xs=[1, 2, 3, 4]) == [1, 2, None, 4]
    assert dyn_map.dynamic_wf(n=4) == 10
    eager = flyte.run(dyn_map.eager_wf, x=2)
    assert eager.outputs() == (12,)
    assert _tasks(eager) == ["dyn_map.eager_wf", "dyn_map.inc", "dyn_map.inc", "dyn_map.scale"]


def test_pyflyte_run_remote(devbox: Devbox, project: Path) -> None:
    env = dict(os.environ, FLYTE_HOME=str(devbox.home))
    made = subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", "create", "config", "--devbox"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "flytekit.clis.sdk_in_container.pyflyte",
            "run",
            "--remote",
            "--wait",
            "conditions.py",
        ]
        + ["multiplier", "--my_input", "0.5"],
        cwd=project,
        env=dict(os.environ, FLYTE_HOME=str(project / "client-home")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "o0: 1.0" in ran.stdout


def test_secrets_and_checkpoints_on_the_devbox(devbox: Devbox, project: Path) -> None:
    from flyte._internal.secrets import SecretStore

    ctx = load_module(str(project / "context_prog.py"), project)
    SecretStore(devbox.home / "secrets").put(ctx.SECRET_KEY, "from-the-devbox", group=ctx.SECRET_GROUP)
    assert flyte.run(ctx.use_secret).outputs() == (len("from-the-devbox"),)
    run = flyte.run(ctx.resumable, n=5)
    assert run.outputs() == (2,)  # the retry resumed from the checkpoint of the failed attempt
