"""TaskEnvironment: shared settings (image, resources, secrets, env vars...) for a group of tasks."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, overload

from flyte._cache import cache_from_request
from flyte._secret import secrets_from_request
from flyte._task import TaskTemplate, make_task
from flyte.models import MAX_INLINE_IO_BYTES

if TYPE_CHECKING:
    from flyte._resources import Resources

_NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$")


def _check_env_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or ("_" in name and "-" in name):
        raise ValueError(
            f"TaskEnvironment name {name!r} is not valid: use snake_case or kebab-case "
            "(lowercase letters, digits and '_' or '-', starting and ending with a letter or digit), "
            "e.g. 'my_env' or 'my-env'"
        )
    return name


@dataclass
class Environment:
    """Settings shared by everything defined in an environment."""

    name: str
    depends_on: list[Environment] = field(default_factory=list)
    pod_template: Any = None
    description: str | None = None
    secrets: Any = None
    env_vars: dict[str, str] | None = None
    resources: Resources | None = None
    interruptible: bool = False
    image: Any = "auto"

    def __post_init__(self) -> None:
        _check_env_name(self.name)
        self._check_types()
        if self.env_vars is not None:
            for key, value in self.env_vars.items():
                if not isinstance(key, str) or not isinstance(value, str):
                    raise TypeError(
                        f"TaskEnvironment '{self.name}': env_vars must map str to str, got {key!r}: {value!r}"
                    )
        for dep in self.depends_on:
            if not isinstance(dep, Environment):
                raise TypeError(f"TaskEnvironment '{self.name}': depends_on takes environments, got {dep!r}")

    def _check_types(self) -> None:
        """The argument types the reference SDK checks, refused with a TypeError naming the argument."""

        def wrong(arg: str, expected: str, value: Any) -> TypeError:
            return TypeError(
                f"{type(self).__name__} '{self.name}': {arg} must be {expected}, "
                f"got {type(value).__name__}: {value!r}"
            )

        if self.image is not None and not isinstance(self.image, str):
            from flyte._image import Image

            if not isinstance(self.image, Image):
                raise wrong("image", "an image URI (str), a flyte.Image or 'auto'", self.image)
        if self.secrets and not isinstance(self.secrets, (str, list, tuple)):
            from flyte._secret import Secret

            if not isinstance(self.secrets, Secret):
                raise wrong("secrets", "a secret key (str), a flyte.Secret or a list of those", self.secrets)
        if self.resources is not None:
            from flyte._resources import Resources

            if not isinstance(self.resources, Resources):
                raise wrong("resources", "a flyte.Resources", self.resources)
        if self.env_vars is not None and not isinstance(self.env_vars, dict):
            raise wrong("env_vars", "a dict of str to str", self.env_vars)
        if self.pod_template is not None and not isinstance(self.pod_template, str):
            from flyte._pod import PodTemplate

            if not isinstance(self.pod_template, PodTemplate):
                raise wrong(
                    "pod_template", "a pod template name (str) or a flyte.PodTemplate", self.pod_template
                )
        if not isinstance(self.depends_on, (list, tuple)):
            raise wrong("depends_on", "a list of environments", self.depends_on)
        if self.description is not None and not isinstance(self.description, str):
            raise wrong("description", "a str", self.description)

    def add_dependency(self, *env: Environment) -> None:
        """Declare that this environment's tasks call tasks of ``env`` (deployed together)."""
        for e in env:
            if not isinstance(e, Environment):
                raise TypeError(f"add_dependency takes environments, got {e!r}")
            if e is self:
                raise ValueError(f"TaskEnvironment '{self.name}' cannot depend on itself")
            if e not in self.depends_on:
                self.depends_on.append(e)


@dataclass
class TaskEnvironment(Environment):
    """A named group of tasks sharing an image, resources, secrets, env vars and cache policy.

    ``@env.task`` (bare or with options) turns a function into a task named ``<name>.<function>``.
    """

    include: tuple[str, ...] = ()
    cache: Any = "disable"
    reusable: Any = None
    plugin_config: Any = None
    queue: str | None = None
    _tasks: dict[str, TaskTemplate[Any, Any]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        try:  # validate now, not at the first task
            cache_from_request(self.cache)
            secrets_from_request(self.secrets)
        except (TypeError, ValueError) as e:
            raise type(e)(f"TaskEnvironment '{self.name}': {e}") from None
        if self.reusable is not None:
            from flyte._reusable_environment import ReusePolicy

            if not isinstance(self.reusable, ReusePolicy):
                raise TypeError(
                    f"TaskEnvironment '{self.name}': reusable must be a flyte.ReusePolicy or None, "
                    f"got {type(self.reusable).__name__}: {self.reusable!r}"
                )
            if self.plugin_config is not None:
                raise ValueError(
                    f"TaskEnvironment '{self.name}': plugin_config cannot be set on a reusable environment; "
                    "drop reusable= or plugin_config="
                )
        if isinstance(self.include, str):
            raise TypeError(
                f"TaskEnvironment '{self.name}': include must be a list of paths, got the single str "
                f"{self.include!r}; write include=[{self.include!r}]"
            )
        self.include = tuple(self.include or ())
        for item in self.include:
            if not isinstance(item, str):
                raise TypeError(
                    f"TaskEnvironment '{self.name}': include entries must be str paths, got "
                    f"{type(item).__name__}: {item!r}"
                )

    @property
    def tasks(self) -> dict[str, TaskTemplate[Any, Any]]:
        """The tasks defined in this environment, by fully qualified name."""
        return dict(self._tasks)

    def add_task(self, task: Any) -> Any:
        """Add an already-built task (a container task, a sandboxed orchestrator...) to this
        environment under its own name, e.g. so that deploying the environment includes it."""
        name = getattr(task, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"TaskEnvironment '{self.name}'.add_task: expected a task, got {task!r}")
        if name in self._tasks:
            raise ValueError(f"TaskEnvironment '{self.name}' already has a task named '{name}'")
        self._tasks[name] = task
        return task

    @classmethod
    def from_task(cls, name: str, *tasks: Any) -> TaskEnvironment:
        """An environment named ``name`` that holds tasks built elsewhere (container tasks,
        ``@flyte.sandbox.orchestrator`` templates...). It takes the first task's image; the tasks
        keep their names. Other environments list it in ``depends_on`` to deploy it with them."""
        if not tasks:
            raise ValueError(f"TaskEnvironment.from_task('{name}'): give at least one task")
        image = getattr(tasks[0], "image", None)
        env = cls(name=name, image=image if isinstance(image, str) or _is_image(image) else "auto")
        for task in tasks:
            env.add_task(task)
        return env

    @property
    def sandbox(self) -> Any:
        """``@env.sandbox.orchestrator``: tasks of this environment whose code runs in the Monty
        sandbox (see :mod:`flyte.sandbox`)."""
        from flyte.sandbox._environment import SandboxNamespace  # optional feature, loaded on use

        return SandboxNamespace(self)

    def clone_with(
        self,
        name: str,
        image: Any = None,
        resources: Resources | None = None,
        env_vars: dict[str, str] | None = None,
        secrets: Any = None,
        depends_on: list[Environment] | None = None,
        description: str | None = None,
        **kwargs: Any,
    ) -> TaskEnvironment:
        """A new environment with the same settings but the given ones replaced (and no tasks)."""
        allowed = {"cache", "reusable", "plugin_config", "queue", "interruptible", "pod_template", "include"}
        unknown = set(kwargs) - allowed
        if unknown:
            raise TypeError(f"clone_with() got unknown option(s): {', '.join(sorted(unknown))}")
        changes: dict[str, Any] = {"name": name, **kwargs}
        for key, value in (
            ("image", image),
            ("resources", resources),
            ("env_vars", env_vars),
            ("secrets", secrets),
            ("depends_on", depends_on),
            ("description", description),
        ):
            if value is not None:
                changes[key] = value
        changes.setdefault("depends_on", list(self.depends_on))
        return replace(self, **changes)

    @overload
    def task(self, _func: Callable[..., Any]) -> TaskTemplate[Any, Any]: ...

    @overload
    def task(
        self,
        _func: None = None,
        *,
        short_name: str | None = None,
        cache: Any = None,
        retries: Any = 0,
        timeout: Any = 0,
        docs: Any = None,
        pod_template: Any = None,
        report: bool = False,
        interruptible: bool | None = None,
        max_inline_io_bytes: int = MAX_INLINE_IO_BYTES,
        queue: str | None = None,
        triggers: Any = (),
        links: Any = (),
        notifications: Any = None,
        produces_artifacts: Any = False,
        entrypoint: bool = False,
    ) -> Callable[[Callable[..., Any]], TaskTemplate[Any, Any]]: ...

    def task(
        self,
        _func: Callable[..., Any] | None = None,
        *,
        short_name: str | None = None,
        cache: Any = None,
        retries: Any = 0,
        timeout: Any = 0,
        docs: Any = None,
        pod_template: Any = None,
        report: bool = False,
        interruptible: bool | None = None,
        max_inline_io_bytes: int = MAX_INLINE_IO_BYTES,
        queue: str | None = None,
        triggers: Any = (),
        links: Any = (),
        notifications: Any = None,
        produces_artifacts: Any = False,
        entrypoint: bool = False,
    ) -> Any:
        """Turn a function into a task of this environment; use bare or with options."""

        def decorate(func: Callable[..., Any]) -> TaskTemplate[Any, Any]:
            template = make_task(
                func,
                env_name=self.name,
                short_name=short_name,
                cache=self.cache if cache is None else cache,
                retries=retries,
                timeout=timeout,
                max_inline_io_bytes=max_inline_io_bytes,
                resources=self.resources,
                secrets=secrets_from_request(self.secrets),
                env_vars=dict(self.env_vars or {}),
                image=self.image,
                docs=docs,
                pod_template=self.pod_template if pod_template is None else pod_template,
                report=report,
                interruptible=self.interruptible if interruptible is None else interruptible,
                queue=self.queue if queue is None else queue,
                triggers=tuple(triggers) if isinstance(triggers, (list, tuple)) else (triggers,),
                links=tuple(links) if isinstance(links, (list, tuple)) else (links,),
                reusable=self.reusable,
                plugin_config=self.plugin_config,
                notifications=notifications or (),
                produces_artifacts=produces_artifacts,
                entrypoint=entrypoint,
            )
            if template.name in self._tasks:
                raise ValueError(
                    f"TaskEnvironment '{self.name}' already has a task named '{func.__name__}'; "
                    "task function names must be unique within an environment"
                )
            self._tasks[template.name] = template
            return template

        if _func is not None:
            return decorate(_func)
        return decorate


def _is_image(value: Any) -> bool:
    from flyte._image import Image

    return isinstance(value, Image)
