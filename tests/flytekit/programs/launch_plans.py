"""Launch plans with default and fixed inputs, schedules and notifications."""

from datetime import datetime, timedelta

from flytekit import CronSchedule, Email, FixedRate, LaunchPlan, WorkflowExecutionPhase, task, workflow


@task
def describe(city: str, units: str, when: datetime) -> str:
    return f"{city} in {units} at {when:%Y-%m-%d}"


@workflow
def weather(city: str, units: str = "celsius", when: datetime = datetime(2024, 1, 1)) -> str:
    return describe(city=city, units=units, when=when)


paris = LaunchPlan.get_or_create(
    weather,
    name="paris_weather",
    default_inputs={"city": "Paris"},
    fixed_inputs={"units": "kelvin"},
)

nightly = LaunchPlan.get_or_create(
    weather,
    name="nightly_weather",
    default_inputs={"city": "Oslo"},
    schedule=CronSchedule(schedule="0 2 * * *", kickoff_time_input_arg="when"),
    notifications=[Email(phases=[WorkflowExecutionPhase.FAILED], recipients_email=["ops@example.com"])],
)

every_ten = LaunchPlan.get_or_create(
    weather,
    name="every_ten",
    default_inputs={"city": "Lima"},
    schedule=FixedRate(duration=timedelta(minutes=10)),
)


@workflow
def two_cities() -> str:
    return paris(city="Rome")
