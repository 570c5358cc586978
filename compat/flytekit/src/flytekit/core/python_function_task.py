"""``@task``, ``@dynamic`` and ``@eager``: flytekit tasks as flyte TaskTemplates.

A flytekit task *is* a ``flyte`` TaskTemplate (a subclass), held in the implicit environment of
its module, so the engine runs it like any Flyte 2 task: each call inside a run is an action with
its cache, retries, timeout, resources, secrets and env vars; workers and the devbox find it by
name in its module. Only three things differ from a plain template, all in this module:

- calling it is routed by :func:`route_call` (a node while a workflow is defined; a plain
  function call outside any run, as in flytekit);
- ``execute`` adapts flytekit conventions around the user function: NamedTuple outputs travel as
  separate named outputs; ``Annotated`` metadata (StructuredDataset columns, HashMethod) applies;
- ``@dynamic`` runs its body under a graph builder and then executes that graph, and ``@eager``
  marks its frame so that the calls it makes return awaitables.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flyte._interface import NativeInterface
from flyte._task import TaskTemplate
from flytekit.core._compile import GraphBuilder, compiling
from flytekit.core.base_task import _eager_frame, register_in_environment, route_call
from flytekit.core.cache import to_flyte_cache
from flytekit.core.node import outputs_of_return
from flytekit.core.resources import Resources, to_flyte_resources


@dataclass(kw_only=True, eq=False)
class PythonFunctionTask(TaskTemplate[Any, Any]):
    """A flytekit ``@task`` (``fk_kind="task"``), ``@dynamic`` or ``@eager`` function."""

    runs_execute: ClassVar[bool] = True
    fk_kind: str = "task"
    fk_outputs: dict[str, Any] = field(default_factory=dict)
    fk_output_tuple: Any = None
    task_config: Any = None
    container_image: Any = None
    """The image as the program gave it (a URI or an ImageSpec), recorded."""
    fk_annotated: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """Input and output names whose annotation carries ``Annotated`` metadata, and that metadata."""

    # -- flytekit entity protocol -------------------------------------------------------------
    @property
    def fk_name(self) -> str:
        return self.name

    @property
    def fk_inputs(self) -> dict[str, tuple[Any, Any]]:
        return self.interface.inputs

    @property
    def python_interface(self) -> NativeInterface:
        return self.interface

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return route_call(
            self,
            args,
            kwargs,
            plain=lambda: self._plain(args, kwargs),
            in_run=lambda: TaskTemplate.__call__(self, *args, **kwargs),
        )

    def _plain(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.fk_kind == "eager":  # an eager task outside a run starts a run (awaitable)
            from flytekit.core.workflow import run_on_engine_async

            return run_on_engine_async(self, args, kwargs)
        return self.func(*args, **kwargs)

    async def fk_run(self, kwargs: dict[str, Any], overrides: dict[str, Any]) -> Any:
        """Run as a child action of the running action and return flytekit's view of the result."""
        task = apply_overrides(self, overrides)
        return self.fk_from_engine(await TaskTemplate.aio(task, **kwargs))

    # -- the engine's hook ----------------------------------------------------------------------
    def execute(self, **kwargs: Any) -> Any:
        """One attempt: a value for sync tasks, a coroutine for async, dynamic and eager ones."""
        kwargs = self._annotate_inputs(kwargs)
        if self.fk_kind == "dynamic":
            return self._run_dynamic(kwargs)
        if self.fk_kind == "eager":
            return self._run_eager(kwargs)
        if self.is_async:
            return self._run_async(kwargs)
        return self.fk_to_engine(self.func(**kwargs))

    async def _run_async(self, kwargs: dict[str, Any]) -> Any:
        return self.fk_to_engine(await self.func(**kwargs))

    async def _run_eager(self, kwargs: dict[str, Any]) -> Any:
        from flyte._context import current_frame

        token = _eager_frame.set(current_frame())
        try:
            return self.fk_to_engine(await self.func(**kwargs))
        finally:
            _eager_frame.reset(token)

    async def _run_dynamic(self, kwargs: dict[str, Any]) -> Any:
        from flytekit.core.condition import open_sections_to_nodes
        from flytekit.core.workflow import execute_graph, output_bindings

        builder = GraphBuilder(self.name)
        with compiling(builder):
            returned = self.func(**kwargs)
            open_sections_to_nodes(builder)
        bindings = output_bindings(self, returned)
        outputs = await execute_graph(builder.nodes, {}, bindings)
        return self.fk_to_engine(_pack(self, outputs))

    # -- flytekit conventions around the function -------------------------------------------
    def _annotate_inputs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        for name, meta in self.fk_annotated.items():
            value = kwargs.get(name)
            hook = getattr(value, "_fk_annotate", None)
            if hook is not None:
                kwargs[name] = hook(meta)
        return kwargs

    def fk_to_engine(self, value: Any) -> Any:
        """The function's return value in the shape the engine's interface expects."""
        if self.fk_annotated:
            named = dict(zip(self.fk_outputs, _as_tuple(self, value), strict=False))
            for name, meta in self.fk_annotated.items():
                if name in named:
                    apply_output_meta(named[name], meta)
        if self.fk_output_tuple is not None:
            return value[0] if len(self.fk_outputs) == 1 else tuple(value)
        return value

    def fk_from_engine(self, value: Any) -> Any:
        """What a caller gets back from the engine's outputs (a NamedTuple when one was declared)."""
        if self.fk_output_tuple is not None:
            return self.fk_output_tuple(value) if len(self.fk_outputs) == 1 else self.fk_output_tuple(*value)
        return value


def _as_tuple(entity: Any, value: Any) -> tuple[Any, ...]:
    if len(entity.fk_outputs) == 1 and entity.fk_output_tuple is None:
        return (value,)
    return tuple(value) if isinstance(value, tuple) else (value,)


def _pack(entity: Any, outputs: dict[str, Any]) -> Any:
    from flytekit.core._runner import pack_outputs

    return pack_outputs(entity, outputs)


def apply_output_meta(value: Any, meta: tuple[Any, ...]) -> None:
    """``Annotated[FlyteFile, HashMethod(fn)]`` and friends: give the value its declared hash."""
    from flytekit.core.hash import HashMethod

    for item in meta:
        if isinstance(item, HashMethod) and hasattr(value, "hash"):
            value.hash = item.calculate(value)
            value._hash_pinned = True


def apply_overrides(task: Any, overrides: dict[str, Any]) -> Any:
    """A copy of ``task`` with a node's ``with_overrides(...)`` settings."""
    if not overrides:
        return task
    changes: dict[str, Any] = {}
    o = dict(overrides)
    requests, limits, resources = o.pop("requests", None), o.pop("limits", None), o.pop("resources", None)
    if requests or limits or resources:
        changes["resources"] = to_flyte_resources(requests, limits, resources)
    if "retries" in o:
        changes["retries"] = o.pop("retries")
    if "timeout" in o:
        changes["timeout"] = o.pop("timeout")
    if "interruptible" in o:
        changes["interruptible"] = o.pop("interruptible")
    if "cache" in o or "cache_version" in o:
        changes["cache"] = to_flyte_cache(
            o.pop("cache", True), o.pop("cache_version", None), o.pop("cache_serialize", False), ()
        )
    if "environment" in o:
        changes["env_vars"] = dict(o.pop("environment") or {})
    image = o.pop("container_image", None)
    for ignored in ("name", "node_name", "task_config", "accelerator", "shared_memory", "cache_serialize"):
        o.pop(ignored, None)
    if o:
        raise TypeError(f"with_overrides() got unknown option(s): {', '.join(sorted(o))}")
    copy = task.override(**changes) if changes else task
    if image is not None:
        copy = dataclasses.replace(copy, container_image=image, image=_image_of(image))
    return copy


def _image_of(image: Any) -> Any:
    if image is None:
        return "auto"
    if isinstance(image, str):
        return image
    uri = getattr(image, "image_name", None)
    return uri() if callable(uri) else "auto"


def _annotated_meta(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) is typing.Annotated:
        return tuple(typing.get_args(tp)[1:])
    return None


_TASK_OPTIONS = frozenset(
    {
        "deprecated",
        "execution_mode",
        "node_dependency_hints",
        "task_resolver",
        "docs",
        "disable_deck",
        "deck_fields",
        "accelerator",
        "pickle_untyped",
        "shared_memory",
        "labels",
        "annotations",
        "pod_template_name",
    }
)


def build_task(
    func: Callable[..., Any],
    kind: str,
    *,
    task_config: Any = None,
    cache: Any = False,
    cache_version: str = "",
    cache_serialize: bool = False,
    cache_ignore_input_vars: Any = (),
    retries: int = 0,
    interruptible: bool | None = None,
    timeout: Any = 0,
    container_image: Any = None,
    environment: dict[str, str] | None = None,
    requests: Resources | None = None,
    limits: Resources | None = None,
    resources: Resources | None = None,
    secret_requests: Any = None,
    enable_deck: bool | None = None,
    pod_template: Any = None,
    **options: Any,
) -> PythonFunctionTask:
    """Build the template for ``func`` from flytekit's decorator arguments."""
    unknown = set(options) - _TASK_OPTIONS
    if unknown:
        raise TypeError(f"@{kind} got unknown option(s): {', '.join(sorted(unknown))}")
    if not callable(func):
        raise TypeError(f"@{kind} must decorate a function, got {func!r}")
    module = func.__module__
    from flytekit.core.base_task import implicit_environment

    env = implicit_environment(module)
    hints = typing.get_type_hints(func, include_extras=True)
    outputs, tuple_type = outputs_of_return(hints.get("return", inspect.signature(func).return_annotation))
    base = NativeInterface.from_callable(func)
    interface = NativeInterface(inputs=base.inputs, outputs=outputs, docstring=base.docstring)
    annotated: dict[str, tuple[Any, ...]] = {}
    for name, tp in [*((n, hints.get(n)) for n in base.inputs), *outputs.items()]:
        meta = _annotated_meta(tp)
        if meta:
            annotated[name] = meta
    secrets = tuple(s.to_flyte() if hasattr(s, "to_flyte") else s for s in (secret_requests or ()))
    if pod_template is None and options.get("pod_template_name"):
        pod_template = options["pod_template_name"]
    is_async = kind in ("dynamic", "eager") or inspect.iscoroutinefunction(func)
    if kind == "eager" and not inspect.iscoroutinefunction(func):
        raise TypeError(f"@eager must decorate an 'async def' function, got '{func.__qualname__}'")
    task = PythonFunctionTask(
        func=func,
        name=f"{env.name}.{func.__name__}",
        short_name=func.__name__,
        env_name=env.name,
        interface=interface,
        is_async=is_async,
        cache=_cache(cache, cache_version, cache_serialize, cache_ignore_input_vars),
        retries=_retries(retries),
        timeout=_timeout(timeout),
        resources=to_flyte_resources(requests, limits, resources),
        secrets=secrets,
        env_vars=dict(environment or {}),
        image=_image_of(container_image),
        docs=options.get("docs"),
        pod_template=pod_template,
        report=bool(enable_deck),
        interruptible=bool(interruptible),
        fk_kind=kind,
        fk_outputs=outputs,
        fk_output_tuple=tuple_type,
        task_config=task_config,
        container_image=container_image,
        fk_annotated=annotated,
    )
    register_in_environment(task)
    return task


def _cache(cache: Any, version: str, serialize: bool, ignore: Any) -> Any:
    from flyte._cache import cache_from_request

    return cache_from_request(to_flyte_cache(cache, version or None, serialize, ignore))


def _retries(value: Any) -> Any:
    from flyte._retry import retry_from

    return retry_from(value)


def _timeout(value: Any) -> Any:
    from flyte._timeout import timeout_from

    return timeout_from(value)


def _decorator(kind: str) -> Callable[..., Any]:
    def decorator(_task_function: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        if _task_function is not None:
            return build_task(_task_function, kind, **kwargs)
        return lambda func: build_task(func, kind, **kwargs)

    decorator.__name__ = kind
    decorator.__doc__ = f"flytekit's @{kind}: bare or with options (cache, retries, requests, ...)."
    return decorator


task = _decorator("task")
dynamic = _decorator("dynamic")
eager = _decorator("eager")
