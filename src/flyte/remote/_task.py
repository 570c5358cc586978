"""Deployed tasks: ``flyte.remote.Task.get`` references one version; ``TaskDetails`` describes it.

``Task.get("env.task", version=...)`` (or ``auto_version="latest"``) returns a :class:`LazyEntity`:
nothing is fetched until it is called, overridden or inspected. Called (``await ref(x=1)``)
inside a task running on the control plane it becomes a child action that runs the *deployed*
version -- its own code bundle, image and settings, as registered by ``flyte deploy`` -- and
``flyte.run(ref, ...)`` starts a run of it. Its inputs are bound and encoded against the deployed
interface first, so a wrong call fails before any action exists, naming the task's own inputs.

A deployed task is rebuilt here as a :class:`DeployedTaskTemplate`: a ``TaskTemplate`` whose
interface comes from the deployed spec (types rebuilt by ``flyte._internal.typespec``) and whose
``wire_ref()`` is the registered ``TaskRef`` plus what ``.override(...)`` changed. It cannot run in
this process: outside the control plane calling it raises ``RemoteTaskUsageError``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import inspect
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import flyte.errors as errors
from flyte._cache import Cache
from flyte._context import current_frame
from flyte._initialize import get_init_config
from flyte._interface import NativeInterface
from flyte._internal.controllers._wire import b64e, q, template_ref
from flyte._internal.typespec import rebuild
from flyte._retry import retry_from
from flyte._syncify import blocking_classmethod, syncify
from flyte._task import TaskTemplate
from flyte._timeout import Timeout
from flyte.types import TypeEngine, TypeTransformerFailedError

AutoVersioning = Literal["latest", "current"]

_OVERRIDABLE = (
    "resources",
    "cache",
    "retries",
    "timeout",
    "env_vars",
    "secrets",
    "max_inline_io_bytes",
    "queue",
    "interruptible",
    "pod_template",
    "short_name",
)
_WIRE_SETTINGS = (
    "retries",
    "timeout",
    "cache",
    "env_vars",
    "secrets",
    "resources",
    "backoff",
    "max_queued_time",
    "deadline",
)


WORKER_ENDPOINT_ENV = "FLYTE_WORKER_ENDPOINT"
"""Set by a control-plane worker for the processes it starts (tasks that run in a process of their
own): the endpoint they look deployed tasks up on, with the worker's ``FLYTE_API_KEY``."""

_worker_clients: dict[str, Any] = {}


def _client() -> Any:
    """The control plane to ask: the one the current worker talks to (also from a task's own
    worker process), else ``flyte.init``'s."""
    frame = current_frame()
    client = getattr(getattr(frame, "controller", None), "client", None) if frame is not None else None
    if client is not None and hasattr(client, "call"):
        return client
    from flyte.remote._remote_run import client_from_config

    endpoint = os.environ.get(WORKER_ENDPOINT_ENV)
    if frame is not None and endpoint and get_init_config().endpoint is None:
        from flyte.remote._client import ApiClient

        found = _worker_clients.get(endpoint)
        if found is None:
            found = _worker_clients[endpoint] = ApiClient(endpoint, os.environ.get("FLYTE_API_KEY"))
        return found
    return client_from_config()


def _not_here(name: str) -> Any:
    async def deployed_task(*args: Any, **kwargs: Any) -> Any:
        raise errors.RemoteTaskUsageError(
            f"Remote task '{name}' runs on the control plane only: call it from a task running there, or "
            "start it with flyte.run after flyte.init(endpoint=...)"
        )

    # named after the task, but still "<locals>" in its qualified name: a worker process of its own
    # then receives the template by value (it cannot be imported), as any template built at run time
    deployed_task.__name__ = name.rsplit(".", 1)[-1]
    return deployed_task


def _timeout(ref: dict[str, Any]) -> Timeout | None:
    bounds = (ref.get("timeout"), ref.get("max_queued_time"), ref.get("deadline"))
    if not any(bounds):
        return None
    return Timeout(max_runtime=bounds[0], max_queued_time=bounds[1], deadline=bounds[2])


def _cache(ref: dict[str, Any]) -> Cache:
    spec = ref.get("cache") or {}
    behavior = spec.get("behavior") or "disable"
    if behavior == "disable":
        return Cache(behavior="disable")
    return Cache(
        behavior="override",
        version_override=spec.get("version") or None,
        serialize=bool(spec.get("serialize")),
        ignored_inputs=tuple(spec.get("ignored_inputs") or ()),
    )


def _interface(spec: dict[str, Any]) -> NativeInterface:
    iface = spec.get("interface") or {}
    types = {i["name"]: rebuild(i["type"]) for i in iface.get("inputs", [])}
    raw = base64.b64decode(iface.get("defaults_b64") or "")
    defaults: dict[str, Any] = {}
    if raw:
        wanted = {i["name"]: types[i["name"]] for i in iface.get("inputs", []) if not i.get("required", True)}
        try:
            defaults = TypeEngine.decode_values(raw, wanted)
        except TypeTransformerFailedError:  # a default this client cannot rebuild: keep its wire value
            defaults = TypeEngine.decode_values(raw, {})
    inputs = {}
    for i in iface.get("inputs", []):
        name = i["name"]
        inputs[name] = (
            types[name],
            defaults.get(name, inspect.Parameter.empty)
            if not i.get("required", True)
            else inspect.Parameter.empty,
        )
    outputs = {o["name"]: rebuild(o["type"]) for o in iface.get("outputs", [])}
    return NativeInterface(inputs=inputs, outputs=outputs)


@dataclass(kw_only=True, eq=False)
class DeployedTaskTemplate(TaskTemplate[Any, Any]):
    """A deployed task version as a template: callable in runs on the control plane only."""

    deployed_ref: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    _base: Any = field(default=None, repr=False)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> DeployedTaskTemplate:
        ref = dict(spec["task"])
        name = spec["name"]
        template = cls(
            func=_not_here(name),
            name=name,
            short_name=spec.get("short_name") or name.rsplit(".", 1)[-1],
            env_name=spec.get("environment") or name.rsplit(".", 1)[0],
            interface=_interface(spec),
            is_async=True,
            cache=_cache(ref),
            retries=retry_from(int(ref.get("retries") or 0)),
            timeout=_timeout(ref),
            env_vars=dict(ref.get("env_vars") or {}),
            image=spec.get("image") or "auto",
            deployed_ref=ref,
            version=spec.get("version", ""),
        )
        template._base = dataclasses.replace(template)
        return template

    def __repr__(self) -> str:
        return f"DeployedTaskTemplate({self.name}@{self.version}{self.interface!r})"

    def override(self, **changes: Any) -> DeployedTaskTemplate:  # type: ignore[override]
        cache = changes.get("cache")
        behavior = (
            "auto" if cache is True else cache if isinstance(cache, str) else getattr(cache, "behavior", None)
        )
        if behavior == "auto":
            raise ValueError(
                f"Remote task '{self.name}': cache behavior 'auto' hashes the task's code, which is not "
                "here; use Cache(behavior='override', version_override=...) or 'disable'"
            )
        return cast(DeployedTaskTemplate, super().override(**changes))

    def wire_ref(self) -> dict[str, Any]:
        """The registered ``TaskRef``, with the settings ``.override(...)`` changed."""
        ref = dict(self.deployed_ref)
        base = self._base
        changed = {
            f: getattr(self, f) for f in _OVERRIDABLE if base is None or getattr(self, f) != getattr(base, f)
        }
        if not changed:
            return ref
        fresh = template_ref(self, ref.get("bundle_key") or "", Path("."))
        before = template_ref(base, ref.get("bundle_key") or "", Path(".")) if base is not None else {}
        for key in _WIRE_SETTINGS:
            if key in fresh and fresh[key] != before.get(key):
                ref[key] = fresh[key]
        ref["overrides_b64"] = b64e(pickle.dumps(changed, protocol=pickle.HIGHEST_PROTOCOL))
        return ref


@dataclass(frozen=True)
class TaskDetails:
    """One deployed task version: its interface, defaults, settings and triggers."""

    data: dict[str, Any]
    template: DeployedTaskTemplate

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> TaskDetails:
        return cls(data, DeployedTaskTemplate.from_spec(data["spec"]))

    @classmethod
    def get(
        cls,
        name: str,
        project: str | None = None,
        domain: str | None = None,
        version: str | None = None,
        auto_version: AutoVersioning | None = None,
    ) -> LazyEntity:
        """A lazy reference (see :meth:`Task.get`)."""
        return Task.get(name, project=project, domain=domain, version=version, auto_version=auto_version)

    @property
    def spec(self) -> dict[str, Any]:
        return self.data["spec"]

    name = property(lambda self: self.data["name"])
    version = property(lambda self: self.data["version"])
    created_at = property(lambda self: self.data.get("created_at"))
    environment = property(lambda self: self.spec.get("environment", ""))
    image = property(lambda self: self.spec.get("image"))
    task_type = property(lambda self: "python")

    @property
    def interface(self) -> NativeInterface:
        return self.template.interface

    @property
    def default_input_args(self) -> tuple[str, ...]:
        """Inputs that have a default."""
        return tuple(i["name"] for i in self.spec["interface"]["inputs"] if not i.get("required", True))

    @property
    def required_args(self) -> tuple[str, ...]:
        """Inputs a call must give."""
        return tuple(i["name"] for i in self.spec["interface"]["inputs"] if i.get("required", True))

    @property
    def cache(self) -> Cache:
        return self.template.cache

    @property
    def secrets(self) -> list[str]:
        return [s["key"] for s in self.spec["task"].get("secrets") or []]

    @property
    def resources(self) -> dict[str, Any]:
        """Requests and limits as registered: cpu in cores, memory and disk in bytes, gpu count."""
        return dict(self.spec["task"].get("resources") or {})

    @property
    def retries(self) -> int:
        return int(self.spec["task"].get("retries") or 0)

    @property
    def timeout(self) -> float | None:
        return self.spec["task"].get("timeout")

    @property
    def triggers(self) -> list[dict[str, Any]]:
        return list(self.spec.get("triggers") or [])

    def override(self, **changes: Any) -> TaskDetails:
        """A copy that runs with some settings replaced (the same options as ``TaskTemplate.override``)."""
        return TaskDetails(self.data, self.template.override(**changes))

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return await self.template.aio(*args, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    def __repr__(self) -> str:
        return f"TaskDetails(name={self.name!r}, version={self.version!r}, interface={self.interface!r})"


def _fetch(name: str, version: str | None, auto_version: AutoVersioning | None) -> TaskDetails:
    client = _client()
    if version is None and auto_version == "current":
        frame = current_frame()
        version = getattr(getattr(frame, "tctx", None), "version", None) if frame is not None else None
        if not version:
            raise errors.RemoteTaskUsageError(
                f"Task.get('{name}', auto_version='current') needs a deployed task calling it; use a version"
                " or auto_version='latest'"
            )
    params = {"version": version} if version else None
    try:
        data = client.call("GET", f"/api/v1/tasks/{q(name)}", params=params)
    except errors.ActionNotFoundError:
        which = f" version '{version}'" if version else ""
        raise errors.RemoteTaskNotFoundError(
            f"No deployed task '{name}'{which} on {client.endpoint}; deploy it with `flyte deploy`"
        ) from None
    return TaskDetails.from_api(data)


class LazyEntity:
    """A deployed task, fetched on first use (a call, ``fetch()``, ``override()``)."""

    def __init__(self, name: str, version: str | None = None, auto_version: AutoVersioning | None = None):
        self._name = name
        self._version = version
        self._auto_version = auto_version
        self._details: TaskDetails | None = None

    @property
    def name(self) -> str:
        return self._name

    def _fetch_sync(self) -> TaskDetails:
        if self._details is None:
            self._details = _fetch(self._name, self._version, self._auto_version)
        return self._details

    @syncify
    async def fetch(self) -> TaskDetails:
        """The task version's details (fetched once)."""
        if self._details is not None:
            return self._details
        return await asyncio.to_thread(self._fetch_sync)

    def override(self, **changes: Any) -> LazyEntity:
        """A reference that runs with some settings replaced (resources, retries, timeout, env_vars,
        secrets, cache, queue...)."""
        details = self._fetch_sync()
        other = LazyEntity(self._name, details.version)
        other._details = details.override(**changes)
        return other

    def template(self) -> DeployedTaskTemplate:
        """The deployed task as a template (what ``flyte.run`` and the controllers receive)."""
        return self._fetch_sync().template

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        details = await self.fetch.aio()
        return await details(*args, **kwargs)

    def __repr__(self) -> str:
        which = self._version or self._auto_version or "?"
        return f"LazyEntity(task={self._name!r}, version={which!r})"


class Task:
    """A deployed task (one row of ``flyte get task``)."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    name = property(lambda self: self.data["name"])
    version = property(lambda self: self.data["version"])
    created_at = property(lambda self: self.data.get("created_at"))

    @property
    def url(self) -> str:
        return f"/api/v1/tasks/{q(self.name)}?version={q(self.version)}"

    @classmethod
    def get(
        cls,
        name: str,
        project: str | None = None,
        domain: str | None = None,
        version: str | None = None,
        auto_version: AutoVersioning | None = None,
    ) -> LazyEntity:
        """A lazy reference to task ``name`` (``env.func``) at ``version``, or at the latest deployed
        version with ``auto_version="latest"`` (``"current"``: the version of the deployed task
        making the call). ``project`` and ``domain`` are accepted for compatibility."""
        if version is None and auto_version is None:
            raise ValueError("Task.get: give version=... or auto_version='latest'")
        if version is None and auto_version not in ("latest", "current"):
            raise ValueError(f"Task.get: auto_version must be 'latest' or 'current', got {auto_version!r}")
        return LazyEntity(name, version, auto_version)

    @blocking_classmethod
    def listall(
        cls: type[Task],
        by_task_name: str | None = None,
        by_task_env: str | None = None,
        project: str | None = None,
        domain: str | None = None,
        sort_by: tuple[str, Literal["asc", "desc"]] | None = None,
        limit: int = 100,
    ) -> Iterator[Task]:
        """Deployed tasks: with ``by_task_name``, every version of that task (newest first); else the
        latest version of each task (of environment ``by_task_env``)."""
        client = _client()
        params: dict[str, Any] = {"limit": limit}
        if by_task_name:
            params["name"] = by_task_name
        if by_task_env:
            params["environment"] = by_task_env
        found = [cls(d) for d in client.call("GET", "/api/v1/tasks", params=params) or []]
        if sort_by is not None:
            key, direction = sort_by
            found.sort(key=lambda t: t.data.get(key) or "", reverse=direction == "desc")
        yield from found

    def __repr__(self) -> str:
        return f"Task(name={self.name!r}, version={self.version!r})"
