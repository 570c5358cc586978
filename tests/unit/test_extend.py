"""flyte.extend: task plugins written as the reference SDK documents them run on our engine."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import pytest

import flyte
import flyte.errors
from flyte.extend import AsyncFunctionTaskTemplate, TaskPluginRegistry


@dataclass
class Shout:
    suffix: str = "!"


@dataclass(kw_only=True)
class ShoutTask(AsyncFunctionTaskTemplate):
    """A plugin as the reference's docs show it: a config dataclass plus a template overriding execute."""

    task_type: str = "shout"
    plugin_config: Shout

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        value = await super().execute(*args, **kwargs)
        return f"{value.upper()}{self.plugin_config.suffix}:{os.getpid()}"


TaskPluginRegistry.register(Shout, ShoutTask)


@dataclass
class Tagged:
    tag: str


@dataclass(kw_only=True)
class TaggedTask(AsyncFunctionTaskTemplate):
    """Uses pre/post only: what pre returns is flyte.ctx().data while func runs."""

    plugin_config: Tagged
    seen: list[Any] = None  # type: ignore[assignment]

    async def pre(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"tag": self.plugin_config.tag}

    async def post(self, return_vals: Any) -> Any:
        POSTED.append(return_vals)
        return return_vals


TaskPluginRegistry.register(Tagged, TaggedTask)
POSTED: list[Any] = []

shout_env = flyte.TaskEnvironment(name="shout", plugin_config=Shout(suffix="!!"))
tag_env = flyte.TaskEnvironment(name="tagged", plugin_config=Tagged(tag="blue"))
plain_env = flyte.TaskEnvironment(name="plain_ext")


@shout_env.task
async def greet(name: str) -> str:
    return f"hello {name}"


@shout_env.task(timeout=60)
def greet_sync(name: str) -> str:
    return f"hi {name}"


@tag_env.task
async def tag_of() -> str:
    return flyte.ctx().data["tag"]


@tag_env.task
def tag_of_sync() -> str:
    return flyte.ctx().data["tag"]


@plain_env.task
async def parent(name: str) -> list[str]:
    return [await greet(name), await greet_sync.aio(name)]


def test_plugin_tasks_are_built_as_the_registered_template() -> None:
    assert isinstance(greet, ShoutTask) and isinstance(greet, AsyncFunctionTaskTemplate)
    assert greet.task_type == "shout" and greet.plugin_config == Shout(suffix="!!")
    assert greet.name == "shout.greet"
    assert TaskPluginRegistry.find(Shout) is ShoutTask
    assert Shout in TaskPluginRegistry.list_plugins()
    assert {greet: 1}[greet] == 1  # still hashable, by identity


def test_the_engine_runs_the_overridden_execute_in_process() -> None:
    out = flyte.run(greet, "ada").outputs()[0]
    assert out == f"HELLO ADA!!:{os.getpid()}"


def test_a_sync_plugin_task_with_a_timeout_runs_execute_in_a_worker_process() -> None:
    out = flyte.run(greet_sync, "bob").outputs()[0]
    text, _, pid = out.partition(":")
    assert text == "HI BOB!!"
    assert int(pid) != os.getpid()


def test_plugin_tasks_called_from_a_parent_task() -> None:
    first, second = flyte.run(parent, "cy").outputs()[0]
    assert first.startswith("HELLO CY!!:") and second.startswith("HI CY!!:")


def test_pre_feeds_the_task_context_and_post_sees_the_result() -> None:
    POSTED.clear()
    assert flyte.run(tag_of).outputs()[0] == "blue"
    assert flyte.run(tag_of_sync).outputs()[0] == "blue"
    assert POSTED == ["blue", "blue"]


def test_outside_a_run_a_plugin_task_is_a_plain_call() -> None:
    assert asyncio.run(greet("x")) == "hello x"  # forward() calls the function, as the reference does


def test_override_keeps_the_plugin_template() -> None:
    faster = greet.override(retries=2)
    assert isinstance(faster, ShoutTask) and faster.retries.count == 2
    assert flyte.run(faster, "dee").outputs()[0].startswith("HELLO DEE!!:")


def test_a_template_can_be_built_from_the_reference_keywords() -> None:
    async def double(x: int) -> int:
        return 2 * x

    from flyte._interface import NativeInterface  # the reference exports it from flyte.models

    t = ShoutTask(
        func=double,
        name="adhoc.double",
        interface=NativeInterface.from_callable(double),
        plugin_config=Shout(),
    )
    assert t.short_name == "double" and t.env_name == "adhoc" and t.is_async
    assert t.cache.behavior == "disable" and t.retries.count == 0 and t.timeout is None


def test_register_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="AsyncFunctionTaskTemplate"):
        TaskPluginRegistry.register(Shout, object)  # type: ignore[arg-type]


def test_reference_backend_names_import_and_fail_clearly_when_used() -> None:
    from flyte.extend import (
        ImageBuildEngine,
        UnsupportedExtensionError,
        download_code_bundle,
        get_proto_resources,
    )

    with pytest.raises(UnsupportedExtensionError, match="get_proto_resources"):
        get_proto_resources(flyte.Resources(cpu=1))
    with pytest.raises(flyte.errors.RuntimeUserError, match="download_code_bundle"):
        asyncio.run(download_code_bundle(None))
    with pytest.raises(UnsupportedExtensionError, match="build"):
        asyncio.run(ImageBuildEngine.build(flyte.Image.from_debian_base()))


def test_pod_spec_from_resources() -> None:
    from flyte.extend import PRIMARY_CONTAINER_DEFAULT_NAME, pod_spec_from_resources

    spec = pod_spec_from_resources(requests=flyte.Resources(cpu=2, memory="1Gi", gpu="A100:2"))
    if not isinstance(spec, dict):
        spec = spec.to_dict()
    container = spec["containers"][0]
    assert container["name"] == PRIMARY_CONTAINER_DEFAULT_NAME == "primary"
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "2"}
    assert container["resources"]["limits"] == container["resources"]["requests"]


def test_the_reference_private_path_still_resolves() -> None:
    from flyte._task import AsyncFunctionTaskTemplate as FromTask

    assert FromTask is AsyncFunctionTaskTemplate
    assert flyte.extend.is_initialized() is False
