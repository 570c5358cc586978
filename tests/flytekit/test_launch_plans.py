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
