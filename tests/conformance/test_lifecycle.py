"""Lifecycle scenarios on every backend: retries and backoff, cache statuses on a rerun,
``--recover``, abort, every timeout kind, resources, concurrency, logs, traces and reports.

Each asserts what a user sees through ``flyte.run`` and the public readers, written once for all
backends (see ``test_scenarios.py`` for the rule and ``README.md`` for the normalizations).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import flyte.remote
from flyte._internal.run_config import new_run_name

from .driver import Backend, Outcome
from .test_scenarios import wf, xfail_on

pytestmark = [pytest.mark.conformance, pytest.mark.integration, pytest.mark.timeout(120)]


def count(marker: str, name: str) -> int:
    """How often a body counted under ``marker`` really ran."""
    path = Path(marker) / name
    return len(path.read_text()) if path.exists() else 0


def _single(outcome: Outcome, task: str) -> tuple[str, int]:
    a = outcome.one(task)
    return a.phase, a.attempts


# -- retries and backoff ------------------------------------------------------------------------------------


def test_retries_until_success(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.flaky, marker=marker)
    assert outcome.value == "attempt 2 after 3 tries"
    assert _single(outcome, "flaky") == ("succeeded", 3)


def test_retries_exhausted(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.always_fails, marker=marker)
    assert (outcome.error.type, outcome.error.message) == ("ValueError", "try 3 failed")  # type: ignore[union-attr]
    assert _single(outcome, "always_fails") == ("failed", 3)
    assert outcome.phase == "failed" and count(marker, "always") == 3


def test_a_parent_catches_the_last_attempts_error(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.catches_exhausted, marker=marker)
    assert outcome.value == "ValueError|try 3 failed"
    assert _single(outcome, "always_fails") == ("failed", 3)


def test_backoff_is_waited_between_attempts(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.backs_off, marker=marker)
    assert outcome.value >= 0.5  # a lower bound the engine promises, not a speed measurement
    assert _single(outcome, "backs_off") == ("succeeded", 2)


def test_non_recoverable_error_skips_retries(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.non_recoverable, marker=marker)
    assert outcome.error is not None
    assert (outcome.error.type, outcome.error.code, outcome.error.message) == (
        "NonRecoverableError",
        "NonRecoverableError",
        "give up at try 1",
    )
    assert _single(outcome, "non_recoverable") == ("failed", 1)


def test_sync_task_retries(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.sync_flaky, marker=marker)
    assert outcome.value == 1
    assert _single(outcome, "sync_flaky") == ("succeeded", 2)


# -- cache ---------------------------------------------------------------------------------------------------


def test_cache_hits_on_a_rerun(backend: Backend, marker: str) -> None:
    first = backend.run(wf.uses_cache, marker=marker, x=3)
    second = backend.run(wf.uses_cache, marker=marker, x=3)
    assert first.value == second.value == 25
    assert [a.cache_status for a in first.by_task("cached_square")] == ["miss", "miss"]
    assert [a.cache_status for a in second.by_task("cached_square")] == ["hit", "hit"]
    assert (count(marker, "cached_square_3"), count(marker, "cached_square_4")) == (1, 1)


def test_cache_of_a_root_task(backend: Backend, marker: str) -> None:
    first = backend.run(wf.cached_v1, marker=marker, x=1)
    second = backend.run(wf.cached_v1, marker=marker, x=1)
    assert (first.value, second.value) == (2, 2)
    assert (first.one("cached_v1").cache_status, second.one("cached_v1").cache_status) == ("miss", "hit")
    assert count(marker, "cached_v1") == 1


def test_ignored_inputs_do_not_change_the_key(backend: Backend, marker: str) -> None:
    backend.run(wf.cached_ignoring, marker=marker, x=2)
    second = backend.run(wf.cached_ignoring, marker=marker + "/other", x=2)
    assert second.value == 6 and second.one("cached_ignoring").cache_status == "hit"
    assert count(marker, "cached_ignoring") == 1


def test_a_disabled_cache_runs_again(backend: Backend, marker: str) -> None:
    first = backend.run(wf.not_cached, marker=marker, x=2)
    second = backend.run(wf.not_cached, marker=marker, x=2)
    assert first.value == second.value == 2
    assert first.one("not_cached").cache_status == second.one("not_cached").cache_status
    assert count(marker, "not_cached") == 2


def test_failures_are_not_cached(backend: Backend, marker: str) -> None:
    first = backend.run(wf.cached_failure, marker=marker, x=1)
    second = backend.run(wf.cached_failure, marker=marker, x=1)
    assert first.phase == second.phase == "failed"
    assert count(marker, "cached_failure") == 2


def test_overwrite_cache_runs_again_and_refreshes(backend: Backend, marker: str) -> None:
    backend.run(wf.cached_v1, marker=marker, x=5)
    second = backend.run(wf.cached_v1, options={"overwrite_cache": True}, marker=marker, x=5)
    third = backend.run(wf.cached_v1, marker=marker, x=5)
    assert second.one("cached_v1").cache_status == "overwritten"
    assert third.one("cached_v1").cache_status == "hit"
    assert count(marker, "cached_v1") == 2


def test_disable_run_cache(backend: Backend, marker: str) -> None:
    backend.run(wf.uses_cache, marker=marker, x=7)
    second = backend.run(wf.uses_cache, options={"disable_run_cache": True}, marker=marker, x=7)
    assert second.value == 49 + 64
    assert count(marker, "cached_square_7") == 2
    assert [a.cache_status for a in second.by_task("cached_square")] == [None, None]
    backend.run(wf.cached_square, options={"disable_run_cache": True}, marker=marker, x=9)
    after = backend.run(wf.cached_square, marker=marker, x=9)  # the disabled run wrote nothing
    assert after.one("cached_square").cache_status == "miss"


# -- recover -------------------------------------------------------------------------------------------------


def test_recover_does_not_redo_finished_work(backend: Backend, marker: str) -> None:
    failed = backend.run(wf.recoverable, marker=marker)
    assert failed.phase == "failed" and failed.error is not None
    assert failed.error.message == "not allowed yet"
    (Path(marker) / "allow").touch()
    recovered = backend.run(wf.recoverable, options={"recover_from": failed.run_name}, marker=marker)
    assert recovered.value == 10 + 20 + 42 + 5
    assert (count(marker, "step_1"), count(marker, "step_2"), count(marker, "fails_unless")) == (1, 1, 2)
    assert count(marker, "traced_double") == 1


def test_recover_reuses_finished_children(backend: Backend, marker: str) -> None:
    failed = backend.run(wf.recoverable, marker=marker)
    (Path(marker) / "allow").touch()
    recovered = backend.run(wf.recoverable, options={"recover_from": failed.run_name}, marker=marker)
    assert recovered.value == 77
    assert (count(marker, "step_1"), count(marker, "step_2"), count(marker, "fails_unless")) == (1, 1, 2)
    assert [a.phase for a in recovered.by_task("step")] == ["succeeded", "succeeded"]


# -- abort ---------------------------------------------------------------------------------------------------


def test_abort_stops_the_run_and_its_children(backend: Backend) -> None:
    name = new_run_name()
    finish = backend.start(wf.waits_on_sleepers, name, seconds=30.0)
    backend.wait_for_running(name, 3)
    backend.abort(name, "stopped by the conformance suite")
    outcome = finish()
    assert outcome.phase == "aborted"
    assert outcome.error is not None and outcome.error.type == "ActionAbortedError"
    assert {a.phase for a in outcome.actions} == {"aborted"}
    assert len(outcome.actions) == 3


def test_a_child_aborted_alone_is_an_error_its_parent_catches(backend: Backend) -> None:
    name = new_run_name()
    finish = backend.start(wf.catches_an_aborted_child, name, seconds=30.0)
    backend.wait_for_running(name, 2)
    [child] = [a for a in flyte.remote.Run.get(name).actions() if a.name != "a0"]
    flyte.remote.Action.get(name, child.name).abort("stuck")
    outcome = finish()
    assert outcome.value == f"caught: Action '{child.name}' of task 'conf.sleeper' was aborted: stuck"
    assert [a.phase for a in outcome.by_task("sleeper")] == ["aborted"]
    assert outcome.phase == "succeeded"


# -- timeouts ------------------------------------------------------------------------------------------------


def test_each_max_runtime_form_is_caught_by_the_parent(backend: Backend) -> None:
    outcome = backend.run(wf.catches_timeout, seconds=30.0)
    assert outcome.value == "MaxRuntimeExceededError|MaxRuntimeExceededError|MaxRuntimeExceededError"
    timed_out = [a for a in outcome.actions if a.name != "a0"]
    assert [a.phase for a in timed_out] == ["timed_out"] * 3


def test_a_root_task_times_out(backend: Backend) -> None:
    outcome = backend.run(wf.async_too_slow, seconds=30.0)
    assert outcome.phase == "timed_out"
    assert outcome.error is not None and outcome.error.type == "MaxRuntimeExceededError"


@pytest.mark.slow
def test_a_timed_out_sync_task_is_stopped(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.sync_spins_then_marks, marker=marker)
    assert outcome.phase == "timed_out"
    time.sleep(2.0)  # past the end of the body, had it run on
    assert count(marker, "sync_ran_on") == 0


@pytest.mark.slow
def test_a_timed_out_sync_task_defined_in_a_function_is_stopped(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.calls_inner_spinner, marker=marker)
    assert outcome.value == "MaxRuntimeExceededError"
    time.sleep(2.0)  # past the end of the body, had it run on
    assert count(marker, "inner_ran_on") == 0


def test_a_timeout_is_retried(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.timeout_retried, marker=marker)
    assert outcome.value == "second try 2"
    assert _single(outcome, "timeout_retried") == ("succeeded", 2)


def test_deadline_bounds_all_attempts(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.deadline_bound, marker=marker)
    assert outcome.phase == "timed_out", outcome
    assert outcome.error is not None and outcome.error.type == "DeadlineExceededError"
    assert count(marker, "deadline") <= 3  # 0.4 s per attempt within 1 s: never all six


def test_override_timeout(backend: Backend) -> None:
    assert backend.run(wf.override_timeout, seconds=30.0).value == "MaxRuntimeExceededError"


def test_max_queued_time_while_waiting_for_a_slot(backend: Backend) -> None:
    outcome = backend.run(wf.queues_behind, options={"max_action_concurrency": 1}, seconds=1.0)
    assert outcome.value == "MaxQueuedTimeExceededError"
    assert outcome.one("impatient").phase == "timed_out"


def test_nested_parents_under_a_concurrency_of_one(backend: Backend) -> None:
    # a parent waiting on its child gives its slot back: four levels deep never deadlock on one slot
    outcome = backend.run(wf.catches_grandchild, options={"max_action_concurrency": 1}, x=3)
    assert outcome.value == "ValueError|bad value 3"


def test_max_action_concurrency(backend: Backend, marker: str) -> None:
    outcome = backend.run(wf.probes, options={"max_action_concurrency": 2}, marker=marker, n=4)
    assert outcome.value <= 2


# -- resources -----------------------------------------------------------------------------------------------


def test_within_the_memory_limit(backend: Backend) -> None:
    assert backend.run(wf.catches_oom, megabytes=20).value == "20"


@pytest.mark.slow
def test_over_the_memory_limit_is_oom(backend: Backend) -> None:
    outcome = backend.run(wf.catches_oom, megabytes=400)
    assert outcome.value == "OOMError"
    assert outcome.one("allocates").phase == "failed"


@xfail_on(
    ["ray"],
    reason="by design: on Ray a request no node can ever hold fails at once with ResourceExhaustedError "
    "(issue 14, item 1); the process executor clamps it to its one host",
)
def test_a_request_above_the_node_is_clamped(backend: Backend) -> None:
    assert backend.run(wf.over_the_node, x=3).value == 9


def test_actions_asking_for_the_whole_node_take_turns(backend: Backend, marker: str) -> None:
    if backend.name == "ray":  # not a divergence: each node of a cluster holds one of them
        pytest.skip("a Ray cluster has two nodes, and Ray places each probe on one (see tests/ray)")
    outcome = backend.run(wf.whole_node_probes, marker=marker, n=2)
    assert outcome.value == 1, outcome
    first, second = sorted(outcome.by_task("probe"), key=lambda a: len(a.phases))
    assert first.phases == ("queued", "running", "succeeded")
    assert second.phases == ("queued", "waiting_for_resources", "running", "succeeded")


# -- logs, traces, reports, context --------------------------------------------------------------------------


def test_logs_of_every_stream(backend: Backend) -> None:
    outcome = backend.run(wf.prints, x=7)
    logs = outcome.one("prints").logs
    assert "[stdout] stdout line 7" in logs
    assert "[stderr] stderr line 7" in logs
    assert any("logging line 7" in line for line in logs)


def test_logs_of_a_sync_task(backend: Backend) -> None:
    assert "[stdout] sync stdout 4" in backend.run(wf.sync_prints, x=4).one("sync_prints").logs


def test_logs_survive_a_failure(backend: Backend) -> None:
    outcome = backend.run(wf.raises_after_print, x=2)
    action = outcome.one("raises_after_print")
    assert "[stdout] about to fail 2" in action.logs
    assert action.error == "RuntimeError: failed after printing 2"


def test_logs_through_the_cli(backend: Backend) -> None:
    outcome = backend.run(wf.prints, x=9)
    code, out = backend.cli("get", "logs", outcome.run_name, "a0")
    assert code == 0, out
    assert "stdout line 9" in out and "stderr line 9" in out


def test_traces_are_recorded(backend: Backend) -> None:
    outcome = backend.run(wf.uses_traces, x=1)
    detail = backend.cli_json("get", "action", outcome.run_name, "a0")
    traces = detail.get("traces") or detail.get("left_behind", {}).get("traces")
    assert [(t["name"], t["error"] is None) for t in traces] == [
        ("traced_add", True),
        ("traced_add", True),
        ("traced_fails", False),
    ]
    assert [t["outputs"] for t in traces[:2]] == [{"o0": 2}, {"o0": 4}]


def test_report_is_kept(backend: Backend, tmp_path: Path) -> None:
    outcome = backend.run(wf.writes_report, title="Conformance")
    detail = backend.cli_json("get", "action", outcome.run_name, "a0")
    assert detail.get("report")  # a local path, or the server's URL of it
    copy = tmp_path / "report.html"
    code, out = backend.cli("get", "report", outcome.run_name, "-o", str(copy))
    assert code == 0, out
    assert "Conformance" in copy.read_text()


def test_custom_context_of_the_run(backend: Backend) -> None:
    outcome = backend.run(wf.context_of, options={"custom_context": {"stage": "conf"}})
    assert outcome.value == "True|0|None|{'stage': 'conf'}"


def test_action_errors_as_the_readers_show_them(backend: Backend) -> None:
    outcome = backend.run(wf.catches_grandchild, x=4)
    errors = {a.task.split(".", 1)[1]: a.error for a in outcome.actions if a.error}
    assert errors == {
        "reraises_from_grandchild": "ValueError: bad value 4",
        "catches_nothing": "ValueError: bad value 4",
        "raises_value_error": "ValueError: bad value 4",
    }


@pytest.mark.slow
def test_abort_stops_a_running_sync_task(backend: Backend, marker: str) -> None:
    name = new_run_name()
    # Shorter than a devbox worker's lease renewal (5 s): the worker's heartbeat is held by the
    # server and answered at the abort, so the body is stopped at once there too, as locally.
    seconds = 3.0
    finish = backend.start(wf.waits_on_sync_sleeper, name, marker=marker, seconds=seconds)
    backend.wait_for_running(name, 2)
    backend.abort(name, "stopped by the conformance suite")
    outcome = finish()
    assert {a.phase for a in outcome.actions} == {"aborted"}
    time.sleep(seconds + 0.5)  # past the end of the body, had it run on
    assert count(marker, "sync_after_abort") == 0


def test_a_coded_error_is_recorded_with_its_code(backend: Backend) -> None:
    outcome = backend.run(wf.raises_user_error, x=5)
    detail = backend.cli_json("get", "action", outcome.run_name, "a0")
    assert (detail["error_type"], detail.get("error_code")) == ("RuntimeUserError", "ConfCode"), detail


def test_the_runs_raw_data_path(backend: Backend, tmp_path: Path) -> None:
    where = tmp_path / "raw"
    outcome = backend.run(wf.file_round_trip, options={"raw_data_path": str(where)}, text="here")
    assert outcome.value == "here"
    written = [p for p in where.rglob("conf-*.txt") if p.read_text() == "here"]
    assert written, f"nothing written under {where}: {sorted(where.rglob('*'))}"
