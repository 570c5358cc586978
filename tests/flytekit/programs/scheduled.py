"""A workflow with two scheduled launch plans, for ``pyflyte register`` on the devbox."""

from datetime import datetime, timedelta

from flytekit import CronSchedule, FixedRate, LaunchPlan, task, workflow


@task
def stamp(label: str, when: datetime) -> str:
    return f"{label}@{when.isoformat()}"


@task
def shout(text: str, times: int) -> str:
    return "!".join([text.upper()] * times)


@workflow
def ticker(label: str, when: datetime = datetime(2024, 1, 1), times: int = 1) -> str:
    return shout(text=stamp(label=label, when=when), times=times)


every_minute = LaunchPlan.get_or_create(
    ticker,
    name="every_minute",
    default_inputs={"label": "tick"},
    fixed_inputs={"times": 2},
    schedule=FixedRate(duration=timedelta(minutes=1), kickoff_time_input_arg="when"),
)

yearly = LaunchPlan.get_or_create(
    ticker,
    name="scheduled.yearly",
    default_inputs={"label": "new year"},
    schedule=CronSchedule(schedule="@yearly", kickoff_time_input_arg="when"),
    auto_activate=True,
)

adhoc = LaunchPlan.get_or_create(ticker, name="adhoc", default_inputs={"label": "now"})
