"""flyte.Trigger, Cron, FixedRate and TriggerTime."""

from __future__ import annotations

import pickle
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from flyte._trigger import Cron, FixedRate, Trigger, TriggerTime


def test_cron_defaults_and_expression():
    c = Cron("0 * * * *")
    assert c.timezone == "UTC"
    assert c.timezone_expression == "CRON_TZ=UTC 0 * * * *"
    assert Cron("*/5 * * * *", timezone="US/Eastern").timezone_expression == "CRON_TZ=US/Eastern */5 * * * *"
    assert Cron("@daily").expression == "@daily"


@pytest.mark.parametrize("bad", ["", "0 * * *", "0 * * * * *", "99 * * * *", "a b c d e", "@sometimes"])
def test_invalid_cron(bad):
    with pytest.raises(ValueError, match="Cron expression"):
        Cron(bad)


def test_invalid_timezone():
    with pytest.raises(ValueError, match="Cron timezone"):
        Cron("0 * * * *", timezone="Mars/Olympus")


def test_fixed_rate():
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    f = FixedRate(60, start_time=start)
    assert f.interval_minutes == 60 and f.start_time == start
    assert FixedRate(5).start_time is None
    with pytest.raises(ValueError, match="at least 1"):
        FixedRate(0)
    with pytest.raises(TypeError, match="interval_minutes"):
        FixedRate(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="start_time"):
        FixedRate(5, start_time="2024-01-01")  # type: ignore[arg-type]


def test_trigger_defaults():
    t = Trigger("nightly", Cron("0 0 * * *"))
    assert t.description == "" and t.auto_activate is True and t.inputs is None
    assert t.overwrite_cache is False and t.interruptible is None and t.queue is None


def test_trigger_validation():
    with pytest.raises(ValueError, match="name"):
        Trigger("", FixedRate(5))
    with pytest.raises(ValueError, match="automation"):
        Trigger("t", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="automation"):
        Trigger("t", "0 * * * *")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_action_concurrency"):
        Trigger("t", FixedRate(5), max_action_concurrency=1)
    with pytest.raises(TypeError, match="env_vars"):
        Trigger("t", FixedRate(5), env_vars={"A": 1})  # type: ignore[dict-item]
    assert Trigger("t", FixedRate(5), max_action_concurrency=0).max_action_concurrency == 0


def test_long_description_is_cut():
    t = Trigger("t", FixedRate(5), description="x" * 300)
    assert len(t.description) == 255


@pytest.mark.parametrize(
    ("maker", "expression", "name"),
    [
        (Trigger.minutely, "* * * * *", "minutely"),
        (Trigger.hourly, "0 * * * *", "hourly"),
        (Trigger.daily, "0 0 * * *", "daily"),
        (Trigger.weekly, "0 0 * * 0", "weekly"),
        (Trigger.monthly, "0 0 1 * *", "monthly"),
    ],
)
def test_presets(maker, expression, name):
    t = maker()
    assert isinstance(t.automation, Cron) and t.automation.expression == expression
    assert t.name == name and t.inputs == {}
    bound = maker("when", inputs={"x": 1}, name="custom", queue="q")
    assert bound.inputs == {"when": TriggerTime, "x": 1}
    assert bound.name == "custom" and bound.queue == "q"
    assert bound.bound_trigger_time_inputs() == ("when",)


def test_trigger_time_is_a_singleton():
    assert pickle.loads(pickle.dumps(TriggerTime)) is TriggerTime
    assert type(TriggerTime)() is TriggerTime
    assert repr(TriggerTime) == "flyte.TriggerTime"


def test_trigger_is_hashable_and_frozen():
    t = Trigger.hourly("ts")
    assert hash(t) == hash(Trigger.hourly("ts"))
    assert t == Trigger.hourly("ts")
    with pytest.raises(AttributeError):
        t.name = "x"  # type: ignore[misc]


def test_croniter_is_imported_lazily():
    code = "import sys, flyte._trigger; print('croniter' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
