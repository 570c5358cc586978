"""Smaller pieces of the reference API: flyte.models names, argument checks, the entrypoint flag."""

from __future__ import annotations

import inspect
import pathlib

import pytest

import flyte
from flyte.models import CodeBundle, NativeInterface, SerializationContext

# -- flyte.models.NativeInterface ------------------------------------------------------------------


def add(x: int, y: int = 2) -> int:
    return x + y


def test_native_interface_is_exported_from_models():
    from flyte._interface import NativeInterface as Ours

    assert NativeInterface is Ours


def test_native_interface_reference_methods():
    iface = NativeInterface.from_callable(add)
    assert iface.inputs == {"x": (int, inspect.Parameter.empty), "y": (int, 2)}
    assert iface.outputs == {"o0": int}
    assert iface.has_outputs() and not NativeInterface.from_callable(lambda: None).has_outputs()
    assert iface.required_inputs() == ["x"] and iface.num_required_inputs() == 1
    assert iface.get_input_types() == {"x": int, "y": int}
    assert iface.convert_to_kwargs(1, y=5) == {"x": 1, "y": 5}
    with pytest.raises(ValueError, match="Too many positional arguments"):
        iface.convert_to_kwargs(1, 2, 3)
    assert iface.docstring is None


def test_native_interface_from_types_with_unknown_defaults():
    marker = NativeInterface.has_default
    iface = NativeInterface.from_types({"a": (str, marker)}, {"o0": int}, default_inputs={"a": "lit"})
    assert iface.inputs["a"] == (str, marker) and iface.required_inputs() == []
    with pytest.raises(ValueError, match="input 'a' is marked has_default"):
        NativeInterface.from_types({"a": (str, marker)}, {})


def test_task_templates_still_expose_their_interface():
    env = flyte.TaskEnvironment(name="iface")
    t = env.task(add)
    assert isinstance(t.native_interface, NativeInterface)
    assert t.native_interface.num_required_inputs() == 1


# -- flyte.models.SerializationContext ---------------------------------------------------------------


def test_serialization_context_defaults():
    sctx = SerializationContext(version="v1")
    assert (sctx.project, sctx.domain, sctx.org, sctx.code_bundle) == (None, None, None, None)
    assert sctx.input_path == "{{.input}}" and sctx.output_path == "{{.outputPrefix}}"
    assert sctx.interpreter_path == "/opt/venv/bin/python"
    assert sctx.image_cache is None and sctx.root_dir is None
    assert sctx.get_entrypoint_path() == "/opt/venv/bin/runtime.py"
    assert sctx.get_entrypoint_path("/usr/bin/python3") == "/usr/bin/runtime.py"


def test_code_bundle_needs_an_archive_or_a_pickle():
    with pytest.raises(ValueError, match="tgz"):
        CodeBundle(computed_version="abc")
    bundle = CodeBundle(computed_version="abc", tgz="s3://b/code.tgz")
    assert bundle.destination == "." and bundle.with_downloaded_path(pathlib.Path("/x")).downloaded_path


# -- validations the reference SDK makes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"resources": "x"}, "resources must be a flyte.Resources, got str: 'x'"),
        ({"env_vars": [1]}, "env_vars must be a dict of str to str, got list"),
        ({"secrets": 3}, "secrets must be a secret key (str), a flyte.Secret or a list of those, got int"),
        ({"image": 5}, "image must be an image URI (str), a flyte.Image or 'auto', got int"),
        ({"pod_template": 1.5}, "pod_template must be a pod template name"),
        ({"cache": 7}, "cache: expected"),
        ({"reusable": "yes"}, "reusable must be a flyte.ReusePolicy"),
        ({"include": "a.txt"}, "include must be a list of paths"),
        ({"include": ["a.txt", 3]}, "include entries must be str paths"),
        ({"secrets": [3]}, "each item must be a secret key"),
    ],
)
def test_task_environment_refuses_wrong_argument_types(kwargs, needle):
    with pytest.raises(TypeError) as e:
        flyte.TaskEnvironment(name="checked", **kwargs)
    assert "TaskEnvironment 'checked'" in str(e.value) and needle in str(e.value)


def test_task_environment_bad_cache_string_names_the_environment():
    with pytest.raises(ValueError, match="TaskEnvironment 'checked'"):
        flyte.TaskEnvironment(name="checked", cache="sometimes")


def test_task_environment_accepts_the_documented_types():
    env = flyte.TaskEnvironment(
        name="fine",
        image="python:3.12",
        resources=flyte.Resources(cpu=1),
        env_vars={"A": "1"},
        secrets=["k", flyte.Secret("other")],
        pod_template="named-template",
        cache="auto",
        reusable=flyte.ReusePolicy(replicas=2),
    )
    assert env.image == "python:3.12"
    assert flyte.TaskEnvironment(name="img", image=flyte.Image.from_debian_base()).image is not None


def test_reusable_and_plugin_config_do_not_mix():
    with pytest.raises(ValueError, match="plugin_config cannot be set on a reusable environment"):
        flyte.TaskEnvironment(name="mix", reusable=flyte.ReusePolicy(replicas=2), plugin_config=object())


def test_gpu_without_a_count_is_refused_like_the_reference():
    with pytest.raises(ValueError, match="'A100:1'"):
        flyte.Resources(gpu="A100")
    assert flyte.Resources(gpu="A100:1").get_device().quantity == 1


def test_lower_case_secret_env_var_is_refused_like_the_reference():
    with pytest.raises(ValueError, match="did you mean 'MY_TOKEN'"):
        flyte.Secret("token", as_env_var="my_token")


# -- the entrypoint task option ------------------------------------------------------------------------------

ep_env = flyte.TaskEnvironment(name="ep")


@ep_env.task(entrypoint=True)
async def main_task(n: int) -> int:
    return n * 2


@ep_env.task
async def helper(n: int) -> int:
    return n


def test_entrypoint_is_recorded_on_the_template():
    assert main_task.entrypoint is True
    assert helper.entrypoint is False  # the reference's default
    assert helper.override(entrypoint=True).entrypoint is True
    assert main_task.override(retries=1).entrypoint is True  # None keeps the current value
    assert flyte.run(main_task, 4).outputs() == (8,)


def test_entrypoint_must_be_a_bool():
    with pytest.raises(TypeError, match="Task 'ep.bad': entrypoint must be True or False"):

        @ep_env.task(entrypoint="yes")  # type: ignore[arg-type]
        async def bad() -> None: ...
