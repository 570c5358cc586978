"""current_context() and task options: secrets, checkpoints, decks, cache, retries, failure handlers."""

from __future__ import annotations

from pathlib import Path

import pytest
from programs import context_prog as cp

import flyte


def test_secret_from_the_engines_store(monkeypatch):
    from flyte._internal.secrets import SecretStore

    SecretStore().put(cp.SECRET_KEY, "s3cr3t!", group=cp.SECRET_GROUP)
    assert flyte.run(cp.use_secret).outputs()[0] == 7


def test_missing_secret_fails_before_the_task_starts():
    with pytest.raises(Exception, match="password"):
        flyte.run(cp.use_secret)


def test_checkpoint_survives_a_retry():
    run = flyte.run(cp.resumable, n=5)
    assert run.outputs()[0] == 2  # the retry resumed from the second step
    (action,) = [a for a in run.actions() if a.task_name == "context_prog.resumable"]
    assert action.attempts == 2


def test_execution_id_and_working_directory():
    run = flyte.run(cp.context_wf)
    name, has_dir = run.outputs()
    assert name == run.name and has_dir is True


def test_deck_is_the_actions_report():
    run = flyte.run(cp.with_deck, n=3)
    html = Path(run.action.report_path).read_text()
    assert "<h2>3 items</h2>" in html and "summary" in html and "default deck" in html


def test_task_options_map_onto_the_template():
    t = cp.configured
    assert t.resources == flyte.Resources(cpu=("1", "2"), memory=("200Mi", "400Mi"))
    assert t.retries.count == 2
    assert t.timeout.max_runtime.total_seconds() == 300
    assert t.cache.behavior == "override" and t.cache.version_override == "1.0"
    assert t.cache.serialize is True and tuple(t.cache.get_ignored_inputs()) == ("note",)
    assert t.interruptible is True
    assert t.env_vars == {"MODE": "test"}
    assert t.pod_template == "small"
    assert t.container_image is cp.image
    assert t.image.startswith("localhost:30000/example:")
    assert flyte.run(t, x=4).outputs()[0] == "4:test"


def test_cache_hits_on_the_second_run(tmp_path):
    marker = tmp_path / "runs.txt"
    assert cp.cached_wf(x=3, marker=str(marker)) == 9
    assert cp.cached_wf(x=3, marker=str(marker)) == 9
    assert marker.read_text().count("ran") == 1


def test_failure_handler_runs_and_the_workflow_still_fails(tmp_path):
    marker = tmp_path / "cleanup.txt"
    with pytest.raises(ValueError, match="boom 5"):
        cp.failing_wf(x=5, marker=str(marker))
    assert marker.read_text() == "cleaned 5"


def test_outside_a_run_the_context_is_local():
    from flytekit import current_context, is_container

    assert current_context().execution_id.name == "local"
    assert is_container() is False


def test_is_container_in_worker_processes_only():
    assert flyte.run(cp.in_container).outputs()[0] is False
    assert flyte.run(cp.in_container_worker).outputs()[0] is True
