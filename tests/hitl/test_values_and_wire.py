"""The small rules under conditions and server notifications: what a condition's answer may be,
and notifications surviving the trip to the server."""

from __future__ import annotations

import pytest

import flyte.errors
import flyte.notify as notify
from flyte._internal.conditions import coerce
from flyte.models import ActionPhase
from flyte.notify._spec import from_wire, run_notifications_field, to_wire


@pytest.mark.parametrize(
    ("value", "data_type", "expected"),
    [
        (True, "bool", True), ("yes", "bool", True), ("FALSE", "bool", False), ("0", "bool", False),
        (3, "int", 3), (" 42 ", "int", 42), ("-7", "int", -7),
        (1.5, "float", 1.5), (2, "float", 2.0), ("0.25", "float", 0.25),
        ("anything", "str", "anything"), ("", "str", ""),
    ],
)  # fmt: skip
def test_an_answer_is_converted_to_the_conditions_type(value, data_type, expected) -> None:
    result = coerce(value, data_type, "c")
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "data_type"),
    [("maybe", "bool"), (1, "bool"), (2.5, "int"), (True, "int"), ("1.5", "int"), ("nan", "float"),
     (True, "float"), (float("inf"), "float"), (5, "str"), (None, "str")],
)  # fmt: skip
def test_an_answer_of_another_type_is_refused_naming_the_condition_and_the_type(value, data_type) -> None:
    with pytest.raises(
        flyte.errors.RuntimeDataValidationError, match=f"condition 'gate' expects an? {data_type}"
    ):
        coerce(value, data_type, "gate")


def test_notifications_survive_the_wire_and_invalid_entries_are_dropped() -> None:
    sent = (
        notify.Webhook(on_phase=(ActionPhase.FAILED, "timed_out"), url="http://h/x", headers={"A": "b"}),
        notify.Email(on_phase=ActionPhase.SUCCEEDED, recipients=["a@example.com"], cc=["b@example.com"]),
        notify.Slack(on_phase=ActionPhase.FAILED, webhook_url="http://h/s", blocks=({"type": "section"},)),
        notify.Teams(on_phase=ActionPhase.ABORTED, webhook_url="http://h/t"),
        notify.NamedRule("oncall"),
    )
    assert from_wire(to_wire(sent)) == sent
    junk = [{"kind": "Webhook", "on_phase": ["running"], "url": "http://h"}, {"kind": "Pager"}, "x"]
    assert from_wire(junk) == ()
    assert run_notifications_field(None) == {}
    assert run_notifications_field(sent[0]) == {"run_notifications": to_wire(sent[:1])}
