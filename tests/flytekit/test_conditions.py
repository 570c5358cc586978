"""conditional(...): branches, fail, nesting, conditions on outputs; only the chosen case runs."""

from __future__ import annotations

import pytest
from programs import conditions

import flyte


def test_if_elif_else_and_fail():
    assert conditions.multiplier(my_input=0.5) == 1.0
    assert conditions.multiplier(my_input=3.0) == 9.0
    with pytest.raises(ValueError, match="The input must be between 0 and 10"):
        conditions.multiplier(my_input=20.0)


def test_only_the_chosen_case_runs_as_an_action():
    run = flyte.run(conditions.multiplier, my_input=4.0)
    assert run.outputs()[0] == 16.0
    assert sorted(a.task_name for a in run.actions()) == ["conditions.multiplier", "conditions.square"]


def test_condition_on_a_task_output():
    assert conditions.heads_or_tails(seed=2) == "heads"
    assert conditions.heads_or_tails(seed=3) == "tails"


def test_nested_conditionals_and_or():
    assert conditions.nested(a=1, b=1) == "both positive"
    assert conditions.nested(a=1, b=-1) == "only a"
    assert conditions.nested(a=0, b=5) == "a zero"
    assert conditions.nested(a=-1, b=5) == "a negative"


def test_branch_output_feeds_a_later_node():
    assert conditions.downstream(n=500) == 100
    assert conditions.downstream(n=7) == 7


def test_comparing_two_promises():
    assert conditions.compare_promises(a=1, b=2) == "less"
    assert conditions.compare_promises(a=2, b=2) == "equal"
    assert conditions.compare_promises(a=3, b=2) == "more"
