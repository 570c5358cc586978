from __future__ import annotations

import pytest

import flyte
from flyte._task import TaskTemplate


def test_task_fqn_and_registry():
    env = flyte.TaskEnvironment(name="etl")

    @env.task
    async def square(x: int) -> int:
        return x * x

    assert isinstance(square, TaskTemplate)
    assert square.name == "etl.square"
    assert square.short_name == "square"
    assert env.tasks == {"etl.square": square}


@pytest.mark.parametrize("name", ["etl", "my_env", "my-env", "env2", "a"])
def test_valid_environment_names(name: str):
    assert flyte.TaskEnvironment(name=name).name == name


@pytest.mark.parametrize("name", ["MyEnv", "my env", "-env", "env_", "my_env-x", "", "é"])
def test_invalid_environment_names_are_refused(name: str):
    with pytest.raises(ValueError, match="snake_case or kebab-case"):
        flyte.TaskEnvironment(name=name)


def test_task_decorator_with_options_inherits_environment_settings():
    res = flyte.Resources(cpu=1, memory="1Gi")
    env = flyte.TaskEnvironment(name="e", resources=res, env_vars={"A": "1"}, cache="auto", queue="q1")

    @env.task(retries=3, timeout=10, short_name="nice", report=True)
    def t(x: int) -> int:
        return x

    assert t.resources == res
    assert t.env_vars == {"A": "1"}
    assert t.cache.behavior == "auto"
    assert t.retries.count == 3
    assert t.timeout is not None and t.timeout.max_runtime_seconds == 10
    assert t.short_name == "nice"
    assert t.report is True
    assert t.queue == "q1"
    assert t.is_async is False


def test_task_level_cache_overrides_environment():
    env = flyte.TaskEnvironment(name="e", cache="auto")

    @env.task(cache="disable")
    async def t() -> None: ...

    assert t.cache.behavior == "disable"


def test_duplicate_task_names_in_one_environment_are_refused():
    env = flyte.TaskEnvironment(name="e")

    @env.task
    def f() -> None: ...

    with pytest.raises(ValueError, match="already has a task named 'f'"):
        env.task(f.func)


def test_clone_with_keeps_settings_and_replaces_given_ones():
    env = flyte.TaskEnvironment(name="base", env_vars={"A": "1"}, resources=flyte.Resources(cpu=2))

    @env.task
    def f() -> None: ...

    clone = env.clone_with(name="other", env_vars={"B": "2"})
    assert clone.name == "other"
    assert clone.env_vars == {"B": "2"}
    assert clone.resources == env.resources
    assert clone.tasks == {}
    assert env.tasks  # the original keeps its tasks
    with pytest.raises(TypeError, match="unknown option"):
        env.clone_with(name="x", bogus=1)


def test_add_dependency():
    a = flyte.TaskEnvironment(name="a")
    b = flyte.TaskEnvironment(name="b")
    a.add_dependency(b)
    a.add_dependency(b)
    assert a.depends_on == [b]
    with pytest.raises(ValueError):
        a.add_dependency(a)


def test_env_vars_must_be_strings():
    with pytest.raises(TypeError, match="env_vars must map str to str"):
        flyte.TaskEnvironment(name="e", env_vars={"A": 1})  # type: ignore[dict-item]


def test_star_args_are_refused():
    env = flyte.TaskEnvironment(name="e")
    with pytest.raises(TypeError, match=r"\*args/\*\*kwargs are not supported"):

        @env.task
        def f(*xs: int) -> None: ...


def test_bad_task_options_fail_at_definition():
    env = flyte.TaskEnvironment(name="e")
    with pytest.raises(TypeError, match="retries"):
        env.task(retries="many")(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_inline_io_bytes"):

        @env.task(max_inline_io_bytes=0)
        def g() -> None: ...
