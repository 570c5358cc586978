"""Behaviour scenarios: each runs a small workflow on every backend and asserts what a user sees.

Every expectation below is written once and holds for every backend: that is the conformance rule.
A backend known to differ is marked ``xfail_on([...], reason=...)`` (strict: when it is fixed the
mark must go). What is normalized before comparing is listed in ``README.md``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from flyte._internal.loader import load_module

from .driver import WF_FILE, WORKFLOWS, Backend

pytestmark = [pytest.mark.conformance, pytest.mark.integration, pytest.mark.timeout(120)]

wf = load_module(str(WF_FILE), WORKFLOWS)

DEVBOXES = ["devbox-sqlite", "devbox-postgresql", "ray"]
"""The backends behind a control plane (the `ray` one is a devbox with `executor="ray"`): the
control plane's own gaps show on each."""


def xfail_on(backends: list[str], reason: str) -> pytest.MarkDecorator:
    """The scenario is known to differ on ``backends`` (the ``backend`` fixture makes it a strict xfail)."""
    return pytest.mark.xfail_on(backends, reason=reason)


# -- scenarios given as data: a task, its inputs and the outcome -------------------------------------------


@dataclass
class Case:
    """One run and its expected outcome (``None``: not asserted)."""

    id: str
    task: str
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[Any, ...] | None = None
    error: tuple[str, str | None, str] | None = None
    """``(exception class, code, message)`` raised by ``Run.outputs()``."""
    phase: str = "succeeded"
    tree: dict[tuple[str, str], int] | None = None
    """``(task short name, phase)`` -> number of actions."""
    marks: tuple[Any, ...] = ()

    def param(self) -> Any:
        return pytest.param(self, id=self.id, marks=self.marks)


POINT = wf.Point(1, 1.5, "a")
MODEL = wf.Model(name="ada lovelace", tags=["b", "a"], score=None)
T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

CASES = [
    # values of every type family, through flyte.run and back
    Case("int", "echo_int", {"x": 41}, (42,)),
    Case("float", "echo_float", {"x": 1.25}, (2.5,)),
    Case("str", "echo_str", {"s": "héllo"}, ("HÉLLO",)),
    Case("bool", "echo_bool", {"b": False}, (True,)),
    Case("bytes", "echo_bytes", {"b": b"\x00\x01abc"}, (b"cba\x01\x00",)),
    Case("list", "echo_list", {"xs": [1, 2, 3]}, ([1, 4, 9],)),
    Case("dict", "echo_dict", {"d": {"a": 1, "b": 2}}, ({"a": 2, "b": 3},)),
    Case(
        "nested",
        "echo_nested",
        {"d": {"k": [{"a": 1}, {"b": 2}]}},
        ({"k": [{"a": 1, "n": 2}, {"b": 2, "n": 2}]},),
    ),
    Case("optional-none", "echo_optional", {}, (None,)),
    Case("optional-value", "echo_optional", {"x": 4}, (40,)),
    Case("union-int", "echo_union", {"v": 4}, (8,)),
    Case("union-str", "echo_union", {"v": "ab"}, ("abab",)),
    Case("literal", "echo_literal", {"mode": "slow"}, ("mode=slow",)),
    Case("enum", "echo_enum", {"c": wf.Color.RED}, (wf.Color.GREEN,)),
    Case("dataclass", "echo_dataclass", {"p": POINT}, (wf.Point(2, 3.0, "a!"),)),
    Case(
        "pydantic",
        "echo_pydantic",
        {"m": MODEL},
        (wf.Model(name="Ada Lovelace", tags=["a", "b"], score=1.0),),
    ),
    Case("datetime", "echo_datetime", {"t": T0, "d": timedelta(hours=1)}, (T0 + timedelta(hours=1),)),
    Case("two-outputs", "two_outputs", {"x": 7}, (7, "x=7")),
    Case("namedtuple", "named_tuple", {"x": 7}, (wf.Pair(7, "7"),)),
    Case("defaults", "defaults", {}, ("3b",)),
    Case("none-output", "returns_nothing", {"x": 1}, (None,)),
    Case("file", "file_round_trip", {"text": "file body"}, ("file body",)),
    Case("dir", "dir_round_trip", {"n": 3}, (["f0.txt=0", "f1.txt=1", "f2.txt=2"],)),
    Case(
        "values-between-tasks",
        "passes_values_on",
        {"p": POINT, "m": MODEL, "c": wf.Color.GREEN},
        ("2,3.0,a!|Ada Lovelace,['a', 'b'],1.0|red",),
    ),  # fmt: skip
    # the shape of a run
    Case(
        "chain",
        "chain",
        {"x": 2},
        (15,),
        tree={("chain", "succeeded"): 1, ("middle", "succeeded"): 2, ("leaf", "succeeded"): 2},
    ),  # fmt: skip
    Case("fanout", "fanout", {"n": 10}, (285,), tree={("fanout", "succeeded"): 1, ("leaf", "succeeded"): 10}),
    Case(
        "sync-calls-sync",
        "sync_parent",
        {"x": 1},
        (203,),
        tree={("sync_parent", "succeeded"): 1, ("sync_leaf", "succeeded"): 2},
    ),  # fmt: skip
    Case("async-calls-sync", "async_calls_sync", {"x": 1}, (101,)),
    Case(
        "map",
        "maps",
        {"n": 5},
        ([0, 1, 4, 9, 16],),
        tree={("maps", "succeeded"): 1, ("leaf", "succeeded"): 5},
    ),
    Case(
        "task-defined-in-a-function",
        "calls_inner_adder",
        {"x": 1},
        (11,),
        tree={("calls_inner_adder", "succeeded"): 1, ("adds", "succeeded"): 1},
    ),  # fmt: skip
    Case("map-concurrency", "map_with_concurrency", {"n": 4}, ([0, 1, 4, 9],)),
    # errors, as a parent catches them and as flyte.run's caller gets them
    Case(
        "caught-value-error",
        "catches_value_error",
        {"x": 3},
        ("ValueError|bad value 3|True",),
        tree={("catches_value_error", "succeeded"): 1, ("raises_value_error", "failed"): 1},
    ),  # fmt: skip
    Case("caught-custom-class", "catches_custom", {"x": 3}, ("ConfError|custom failure 3|True",)),
    Case(
        "caught-as-runtime-user-error", "catches_as_runtime_user_error", {"x": 3}, ("ValueError|bad value 3",)
    ),
    Case(
        "caught-coded",
        "catches_coded",
        {"x": 3},
        ("RuntimeUserError|ConfCode|coded failure 3",),
    ),  # fmt: skip
    Case("caught-sync", "sync_catches", {"x": 3}, ("KeyError|'missing 3'",)),
    Case(
        "caught-grandchild",
        "catches_grandchild",
        {"x": 3},
        ("ValueError|bad value 3",),
        tree={
            ("catches_grandchild", "succeeded"): 1,
            ("reraises_from_grandchild", "failed"): 1,
            ("catches_nothing", "failed"): 1,
            ("raises_value_error", "failed"): 1,
        },
    ),  # fmt: skip
    Case("gather-one-fails", "gather_one_fails", {"n": 3}, ("0|1|4|ValueError",)),
    Case(
        "raised-value-error",
        "raises_value_error",
        {"x": 5},
        error=("ValueError", "ValueError", "bad value 5"),
        phase="failed",
    ),  # fmt: skip
    Case(
        "raised-custom-class",
        "raises_custom",
        {"x": 5},
        error=("ConfError", "ConfError", "custom failure 5"),
        phase="failed",
    ),  # fmt: skip
    Case(
        "raised-coded",
        "raises_user_error",
        {"x": 5},
        error=("RuntimeUserError", "ConfCode", "coded failure 5"),
        phase="failed",
    ),  # fmt: skip
    Case(
        "raised-unicode",
        "raises_unicode",
        {"x": 5},
        error=("ValueError", "ValueError", "échec ✗ 5"),
        phase="failed",
    ),  # fmt: skip
    Case(
        "raised-sync", "sync_raises", {"x": 5}, error=("KeyError", "KeyError", "'missing 5'"), phase="failed"
    ),
    Case(
        "raised-grandchild",
        "reraises_from_grandchild",
        {"x": 5},
        error=("ValueError", "ValueError", "bad value 5"),
        phase="failed",
    ),  # fmt: skip
    # env vars: environment < override
    Case("env-vars", "env_layers", {}, ("environment|<unset>/override|<unset>",)),
    Case("env-vars-of-the-run", "env_layers", {}, ("environment|run/override|run",)),
    # groups and custom context reach children
    Case("groups", "in_groups", {}, ("True|0|first|{}/True|0|second|{'team': 'blue'}",)),
    # traces
    Case("traces", "uses_traces", {"x": 1}, ("2|4|trace failed 1",), tree={("uses_traces", "succeeded"): 1}),
    Case("project-domain", "project_domain", {}, ("None/None",)),
    Case("clock", "utc_now_after", {"t": T0}, (True,)),
]


def _run_options(case: Case) -> dict[str, Any]:
    if case.id == "env-vars-of-the-run":
        return {"env_vars": {"CONF_RUN": "run"}}
    return {}


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_scenario(backend: Backend, case: Case) -> None:
    outcome = backend.run(getattr(wf, case.task), options=_run_options(case), **case.inputs)
    if case.error is not None:
        assert outcome.error is not None, f"expected {case.error}, got outputs {outcome.outputs}"
        assert (outcome.error.type, outcome.error.code, outcome.error.message) == case.error
    else:
        assert outcome.error is None, outcome.error
        assert outcome.outputs == case.outputs
    assert outcome.phase == case.phase
    if case.tree is not None:
        assert outcome.phases() == Counter(case.tree)
