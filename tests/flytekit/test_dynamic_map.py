"""@dynamic, @eager and map_task: graphs built at run time, awaited tasks, one action per element."""

from __future__ import annotations

import asyncio

import pytest
from programs import dyn_map

import flyte


def test_dynamic_builds_its_graph_at_run_time():
    assert dyn_map.dynamic_wf(n=4) == 10
    run = flyte.run(dyn_map.dynamic_wf, n=3)
    names = sorted(a.task_name for a in run.actions())
    assert names == ["dyn_map.dynamic_wf", "dyn_map.fan_out", *["dyn_map.inc"] * 3, "dyn_map.total"]


def test_dynamic_outside_a_run_is_a_plain_function():
    assert dyn_map.fan_out(n=3) == 6


def test_map_task_with_partial_and_concurrency():
    assert dyn_map.map_wf(xs=[1, 2, 3]) == [10, 20, 30]
    run = flyte.run(dyn_map.map_wf, xs=[4, 5])
    assert sorted(a.task_name for a in run.actions()) == ["dyn_map.map_wf", "dyn_map.scale", "dyn_map.scale"]
    assert {a.group for a in run.actions() if a.task_name == "dyn_map.scale"} == {"scale-map"}


def test_min_success_ratio():
    assert dyn_map.tolerant_map(xs=[1, 2, 3, 4]) == [1, 2, None, 4]
    with pytest.raises(ValueError, match="three is unlucky"):
        dyn_map.strict_map(xs=[1, 3])
    with pytest.raises(ValueError, match="three is unlucky"):
        dyn_map.tolerant_map(xs=[3, 3, 1])  # one of three succeeded: below 0.5


def test_map_task_outside_a_workflow():
    assert dyn_map.map_task(dyn_map.inc)(x=[1, 2]) == [2, 3]


def test_eager_awaits_tasks_as_actions():
    assert asyncio.run(dyn_map.eager_wf(x=1)) == 6
    run = flyte.run(dyn_map.eager_wf, x=2)
    assert run.outputs()[0] == 12
    assert sorted(a.task_name for a in run.actions()) == [
        "dyn_map.eager_wf",
        "dyn_map.inc",
        "dyn_map.inc",
        "dyn_map.scale",
    ]


def test_a_failed_workflow_recovers_without_redoing_finished_nodes(tmp_path):
    marker, flag = tmp_path / "calls", tmp_path / "flag"
    with pytest.raises(RuntimeError, match="flag file missing"):
        dyn_map.recoverable(marker=str(marker), flag=str(flag))
    flag.touch()
    (first,) = [r for r in flyte.remote.Run.listall() if r.task_name == "dyn_map.recoverable"]
    again = flyte.rerun(first.name, recover=True)
    assert again.outputs()[0] == 100
    assert marker.read_text() == "x"  # count_call ran once, in the first run
    recovered = {a.task_name: a.cache_status for a in again.actions()}
    assert recovered["dyn_map.count_call"] == "recovered"
