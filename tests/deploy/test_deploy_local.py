"""``flyte.deploy`` without a control plane (refused, or a dry run), content versions, trigger
checks at deploy time, deployed types described and rebuilt, and the run/action handles."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import flyte
import flyte.errors
from flyte._deploy import deploy, plan_deploy
from flyte._internal.loader import load_module
from flyte._internal.typespec import describe, rebuild
from flyte.remote import Action, Run

SOURCE = textwrap.dedent(
    """
    import flyte

    base = flyte.TaskEnvironment(name="lbase")
    top = flyte.TaskEnvironment(name="ltop", depends_on=[base])


    @base.task
    async def add(x: int, y: int = 1) -> int:
        return x + y


    @top.task
    async def main(n: int = 2) -> int:
        print("main says hi")
        return await add(n)
    """
)


@pytest.fixture
def project(tmp_path: Path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "lwf.py").write_text(SOURCE)
    flyte.init(root_dir=root)
    yield root
    sys.modules.pop("lwf", None)


def test_deploy_needs_a_control_plane_but_a_dry_run_does_not(project: Path) -> None:
    wf = load_module(str(project / "lwf.py"), project)
    with pytest.raises(flyte.errors.InitializationError, match="No control plane is configured"):
        deploy(wf.top)
    [plan] = deploy(wf.top, dryrun=True)
    assert plan.dryrun and list(plan.envs) == ["lbase", "ltop"]
    assert {t.name for t in plan.deployed_tasks} == {"lbase.add", "ltop.main"}
    assert "lbase.add (v" in plan.summary_repr()
    again = deploy(wf.top, dryrun=True)[0]
    assert again.version == plan.version  # same code and settings: same version
    changed = deploy(wf.top.clone_with(name="ltop", env_vars={"A": "1"}), dryrun=True)[0]
    assert changed.version != plan.version
    assert deploy(wf.top, dryrun=True, version="v7")[0].version == "v7"
    spec = {t.name: t.spec for t in plan.deployed_tasks}["lbase.add"]
    assert spec["interface"]["inputs"][1] == {
        "name": "y",
        "type": describe(int),
        "required": False,
        "default_repr": "1",
    }
    assert spec["task"]["bundle_key"].startswith("bundles/")


def test_a_changed_file_changes_the_version(project: Path) -> None:
    wf = load_module(str(project / "lwf.py"), project)
    first = deploy(wf.base, dryrun=True)[0].version
    sys.modules.pop("lwf", None)
    (project / "lwf.py").write_text(SOURCE.replace("return x + y", "return x + y + 0"))
    wf = load_module(str(project / "lwf.py"), project)
    assert deploy(wf.base, dryrun=True)[0].version != first


TRIGGERED = textwrap.dedent(
    """
    from datetime import datetime

    import flyte

    bad = flyte.TaskEnvironment(name="tbad")
    unset = flyte.TaskEnvironment(name="tunset")


    @bad.task(triggers=flyte.Trigger("t", flyte.FixedRate(5), inputs={"nope": 1}))
    async def needs(x: int) -> int:
        return x


    @unset.task(triggers=flyte.Trigger.hourly())
    async def needs_too(x: int) -> int:
        return x


    good = flyte.TaskEnvironment(name="tgood")


    @good.task(
        triggers=(
            flyte.Trigger.daily("when", inputs={"x": 3}),
            flyte.Trigger("ny", flyte.Cron("30 9 * * 1-5", timezone="America/New_York"),
                          inputs={"x": 1, "when": flyte.TriggerTime}),
        )
    )
    async def report(when: datetime, x: int) -> int:
        return x
    """
)


def test_triggers_are_checked_against_the_task_at_deploy_time(project: Path) -> None:
    (project / "trig.py").write_text(TRIGGERED)
    mod = load_module(str(project / "trig.py"), project)
    try:
        with pytest.raises(
            flyte.errors.DeploymentError, match=r"Trigger 't' of task 'tbad.needs' sets input\(s\) nope"
        ):
            deploy(mod.bad, dryrun=True)
        with pytest.raises(flyte.errors.DeploymentError, match="leaves required input"):
            deploy(mod.unset, dryrun=True)
        [good] = deploy(mod.good, dryrun=True)
        daily, ny = good.deployed_tasks[0].triggers
        assert daily["automation"] == {"kind": "cron", "expression": "0 0 * * *", "timezone": "UTC"}
        assert daily["trigger_time_inputs"] == ["when"] and daily["inputs_b64"]
        assert ny["automation"]["timezone"] == "America/New_York" and ny["trigger_time_inputs"] == ["when"]
        assert [t["name"] for t in good.deployed_triggers] == ["daily", "ny"]
    finally:
        sys.modules.pop("trig", None)


def test_plans_include_dependencies_once() -> None:
    a = flyte.TaskEnvironment(name="pa")
    b = flyte.TaskEnvironment(name="pb", depends_on=[a])
    c = flyte.TaskEnvironment(name="pc", depends_on=[a, b])
    plans = plan_deploy(c, b)
    assert [list(p.envs) for p in plans] == [["pa", "pb", "pc"]]


def test_types_are_described_and_rebuilt() -> None:
    from typing import Optional

    import flyte.io

    for tp in (int, str, list[int], dict[str, float], Optional[str], flyte.io.File):
        assert rebuild(describe(tp)) == tp


def test_action_and_run_handles_of_a_local_run(project: Path) -> None:
    wf = load_module(str(project / "lwf.py"), project)
    run = flyte.with_runcontext(mode="local").run(wf.main, n=3)
    assert run.outputs() == (4,)
    recorded = Run.get(run.name)
    assert any("main says hi" in line for line in recorded.get_logs())
    assert recorded.get_report() is None
    names = [a.task_name for a in Action.listall(run.name)]
    assert names == ["ltop.main", "lbase.add"]
    assert [a.name for a in Action.listall(run.name, in_phase=("failed",))] == []
    child = [a for a in Action.listall(run.name) if a.name != "a0"][0]
    child.wait()
    assert child.done()
    child.abort()  # a finished action: nothing to stop, its outcome stays
    assert Action.get(run.name, child.name).phase.value == "succeeded"


def test_the_cli_refuses_to_deploy_without_a_control_plane(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from flyte.cli.main import main

    monkeypatch.chdir(project)
    runner = CliRunner()
    refused = runner.invoke(main, ["deploy", "lwf.py", "ltop"])
    assert refused.exit_code == 1
    assert "No control plane is configured" in refused.output and "--dry-run" in refused.output
    dry = runner.invoke(main, ["deploy", "--dry-run", "lwf.py", "ltop"])
    assert dry.exit_code == 0, dry.output
    assert "Would register 2 task(s) of lbase, ltop" in dry.output
    missing = runner.invoke(main, ["deploy", "--dry-run", "lwf.py", "nope"])
    assert missing.exit_code == 1 and "No environment named 'nope'" in missing.output


def test_copy_styles(project: Path) -> None:
    (project / "data.csv").write_text("a,b\n")
    wf = load_module(str(project / "lwf.py"), project)
    loaded = deploy(wf.base, dryrun=True)[0]
    every = deploy(wf.base, dryrun=True, copy_style="all")[0]
    assert every.version != loaded.version  # data.csv is in the bundle now
    with pytest.raises(flyte.errors.DeploymentError, match="copy_style='none'"):
        deploy(wf.base, dryrun=True, copy_style="none")


def test_a_remote_task_cannot_run_in_a_local_run(project: Path) -> None:
    from flyte.remote._task import DeployedTaskTemplate

    spec = {
        "name": "x.t", "version": "v1",
        "task": {"name": "x.t", "module": "m", "bundle_key": "bundles/" + "0" * 64 + ".tgz"},
        "interface": {"inputs": [{"name": "a", "type": {"kind": "int"}, "required": True}], "outputs": []},
    }  # fmt: skip
    template = DeployedTaskTemplate.from_spec(spec)
    with pytest.raises(flyte.errors.RemoteTaskUsageError, match="runs on the control plane only"):
        flyte.with_runcontext(mode="local").run(template, a=1)
    assert template.wire_ref() == spec["task"]
    changed = template.override(retries=3, env_vars={"K": "v"}).wire_ref()
    assert changed["retries"] == 3 and changed["env_vars"] == {"K": "v"} and changed["overrides_b64"]
    with pytest.raises(ValueError, match="cache behavior 'auto'"):
        template.override(cache="auto")


IMAGED = """
import flyte

image = flyte.Image.from_debian_base(registry="127.0.0.1:5000", name="app").with_pip_packages("numpy")
env = flyte.TaskEnvironment(name="imaged", image=image, resources=flyte.Resources(cpu=2, memory="1Gi"))


@env.task
async def main(x: int = 1) -> int:
    return x
"""


def test_a_dry_run_records_the_image_uri_and_prints_the_kubernetes_pod(tmp_path: Path) -> None:
    pytest.importorskip("kubernetes")
    from click.testing import CliRunner

    from flyte._internal.imagebuild import image_uri_for
    from flyte.cli.main import main

    (tmp_path / "imaged.py").write_text(IMAGED)
    mod = load_module(str(tmp_path / "imaged.py"), tmp_path)
    try:
        [plan] = deploy(mod.env, dryrun=True)
        [task] = plan.deployed_tasks
        uri = image_uri_for(mod.env.image)
        assert task.spec["image"] == uri and uri.startswith("127.0.0.1:5000/app:")
        pod = task.spec["extra"]["k8s_pod"]
        container = pod["spec"]["containers"][0]
        assert container["image"] == uri
        assert container["resources"]["requests"] == {"cpu": "2", "memory": "1Gi"}
        assert pod["metadata"]["labels"]["flyte.org/version"] == plan.version
        shown = CliRunner().invoke(main, ["deploy", "--dry-run", str(tmp_path / "imaged.py"), "imaged"])
        assert shown.exit_code == 0, shown.output
        assert "Kubernetes pod:" in shown.output and f"image: {uri}" in shown.output
    finally:
        sys.modules.pop("imaged", None)
