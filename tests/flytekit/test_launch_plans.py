"""Launch plans: default and fixed inputs, calling one, schedules as flyte triggers."""

from __future__ import annotations

from datetime import datetime

import pytest
from programs import launch_plans as lp

import flyte
from flytekit import LaunchPlan


def test_calling_a_launch_plan_runs_its_workflow_with_its_inputs():
    assert lp.paris() == "Paris in kelvin at 2024-01-01"
    assert lp.paris(city="Nice") == "Nice in kelvin at 2024-01-01"
    with pytest.raises(TypeError, match="fixed"):
        lp.paris(units="celsius")


def test_a_launch_plan_inside_a_workflow():
    assert lp.two_cities() == "Rome in kelvin at 2024-01-01"


def test_get_or_create_returns_the_same_plan_and_refuses_a_different_one():
    again = LaunchPlan.get_or_create(
        lp.weather, name="paris_weather", default_inputs={"city": "Paris"}, fixed_inputs={"units": "kelvin"}
    )
    assert again is lp.paris
    with pytest.raises(AssertionError, match="already exists"):
        LaunchPlan.get_or_create(lp.weather, name="paris_weather", default_inputs={"city": "Bonn"})
    default = LaunchPlan.get_or_create(lp.weather)
    assert default.workflow is lp.weather and default.name == lp.weather.name


def test_schedules_become_flyte_triggers():
    trigger = lp.nightly.trigger
    assert isinstance(trigger, flyte.Trigger)
    assert isinstance(trigger.automation, flyte.Cron)
    assert trigger.automation.expression == "0 2 * * *"
    assert trigger.inputs == {"city": "Oslo", "when": flyte.TriggerTime}
    assert trigger.notifications and trigger.notifications[0].recipients == ("ops@example.com",)
    rate = lp.every_ten.trigger
    assert isinstance(rate.automation, flyte.FixedRate) and rate.automation.interval_minutes == 10
    assert lp.paris.trigger is None
    assert lp.nightly.workflow_with_trigger().triggers == (trigger,)


def test_kickoff_time_input_is_a_datetime():
    assert lp.nightly(when=datetime(2025, 6, 1)) == "Oslo in celsius at 2025-06-01"


def test_register_attaches_each_schedule_to_its_workflow_task():
    """What ``pyflyte register`` deploys (its dry run): the schedules as triggers of the
    workflow's task, named after the launch plans, with their inputs and notifications."""
    from pathlib import Path

    from flytekit.clis.sdk_in_container import register as reg

    here = Path(__file__).resolve().parent
    registration = reg.collect([str(here / "programs" / "launch_plans.py")], here)
    assert sorted(p.name for p in registration.launch_plans) == [
        "every_ten",
        "nightly_weather",
        "paris_weather",
    ]
    tasks = {t.name: t for t in reg.deploy(registration, "v1", dryrun=True)}
    assert set(tasks) == {"launch_plans.describe", "launch_plans.weather", "launch_plans.two_cities"}
    triggers = {t["name"]: t for t in tasks["launch_plans.weather"].triggers}
    assert set(triggers) == {"nightly_weather", "every_ten"}
    nightly = triggers["nightly_weather"]
    assert nightly["automation"] == {"kind": "cron", "expression": "0 2 * * *", "timezone": "UTC"}
    assert nightly["trigger_time_inputs"] == ["when"] and nightly["auto_activate"] is False
    assert [n["recipients"] for n in nightly["notifications"]] == [["ops@example.com"]]
    assert triggers["every_ten"]["automation"]["interval_minutes"] == 10
    assert not tasks["launch_plans.describe"].triggers
    # the implicit environment itself is not changed: running the workflow declares no trigger
    assert lp.weather.triggers == ()
    active = reg.collect([str(here / "programs" / "launch_plans.py")], here, activate=True)
    again = {t.name: t for t in reg.deploy(active, "v1", dryrun=True)}
    assert all(t["auto_activate"] for t in again["launch_plans.weather"].triggers)
