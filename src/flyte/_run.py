"""``flyte.run`` and ``flyte.with_runcontext``: start a run of a task."""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from flyte._custom_context import get_custom_context
from flyte._initialize import get_init_config
from flyte._internal.controllers.local import LocalController
from flyte._internal.logs import capture
from flyte._internal.redaction import redact_error
from flyte._internal.run_config import RunConfig, check_run_name, flyte_home, new_run_name, run_labels
from flyte._internal.run_guard import refuse_run_during_import
from flyte._internal.runtime.gc_policy import during_run
from flyte._internal.store import Replay, StoreRecorder, TaskCache, open_store
from flyte._internal.store.liveness import this_process_owner
from flyte._syncify import syncify
from flyte._task import TaskTemplate
from flyte.errors import ActionAbortedError, InitializationError, user_error_of
from flyte.remote import Run

Mode = Literal["local", "remote", "hybrid"]

_REFERENCE_OPTIONS = frozenset(
    {
        "service_account",
        "version",
        "copy_style",
        "dry_run",
        "copy_bundle_to",
        "interactive_mode",
        "metadata_path",
        "run_base_dir",
        "run_start_time",
        "interruptible",
        "log_level",
        "log_format",
        "user_log_level",
        "reset_root_logger",
        "queue",
        "cache_lookup_scope",
        "preserve_original_types",
        "debug",
    }
)
"""Options of the reference SDK's with_runcontext that only matter for remote runs."""


@contextmanager
def process_env(env: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a local run, then restore them."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _check_task(task: Any) -> TaskTemplate:
    template_of = getattr(task, "template", None)  # a flyte.remote.Task.get(...) reference
    if not isinstance(task, TaskTemplate) and callable(template_of):
        task = template_of()
    if not isinstance(task, TaskTemplate):
        what = getattr(task, "__name__", type(task).__name__)
        raise TypeError(f"flyte.run expects a task defined with @env.task, got {what!r}")
    return task


class _Runner:
    """Run settings bound by ``with_runcontext``; ``.run(task, ...)`` starts a run with them."""

    def __init__(
        self,
        mode: Mode | None = None,
        *,
        name: str | None = None,
        env_vars: dict[str, str] | None = None,
        custom_context: dict[str, str] | None = None,
        overwrite_cache: bool = False,
        disable_run_cache: bool = False,
        raw_data_path: str | None = None,
        max_action_concurrency: int | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        isolate: bool = False,
        recover_from: str | None = None,
        strict_resources: bool = False,
        notifications: Any = None,
        project: str | None = None,
        domain: str | None = None,
        **reference_only: Any,
    ):
        if name is not None:
            check_run_name(name)
        if mode not in (None, "local", "remote", "hybrid"):
            raise ValueError(f"with_runcontext: mode must be 'local', 'remote' or 'hybrid', got {mode!r}")
        if max_action_concurrency is not None and (
            not isinstance(max_action_concurrency, int) or max_action_concurrency < 1
        ):
            got = max_action_concurrency
            raise ValueError(f"with_runcontext: max_action_concurrency must be a positive int, got {got!r}")
        for key, value in (env_vars or {}).items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"with_runcontext: env_vars must map str to str, got {key!r}: {value!r}")
        unknown = set(reference_only) - _REFERENCE_OPTIONS
        if unknown:
            raise TypeError(f"with_runcontext() got unknown option(s): {', '.join(sorted(unknown))}")
        self._mode = mode
        self._name = name
        self._env_vars = dict(env_vars or {})
        self._custom_context = dict(custom_context or {})
        self._overwrite_cache = overwrite_cache
        self._disable_run_cache = disable_run_cache
        self._raw_data_path = raw_data_path
        self._max_action_concurrency = max_action_concurrency
        self._labels = dict(labels or {})
        self._annotations = dict(annotations or {})
        self._reference_only = reference_only
        self._recover_from = recover_from
        self._isolate = isolate
        self._strict_resources = strict_resources
        self._project = project
        self._domain = domain
        self._notifications = _notifications_of(notifications)

    def _effective_mode(self) -> Mode:
        if self._mode is not None:
            return self._mode
        return "remote" if get_init_config().is_remote else "local"

    def _config(self) -> RunConfig:
        return RunConfig(
            name=self._name or new_run_name(),
            env_vars=self._env_vars,
            custom_context={**get_custom_context(), **self._custom_context},
            overwrite_cache=self._overwrite_cache,
            disable_run_cache=self._disable_run_cache,
            raw_data_path=self._raw_data_path,
            max_action_concurrency=self._max_action_concurrency,
            labels=self._labels,
            annotations=self._annotations,
            recover_from=self._recover_from,
            persist=os.environ.get("FLYTE_LOCAL_PERSISTENCE", "1") not in ("0", "false", "no"),
            isolate=self._isolate or _env_flag("FLYTE_LOCAL_ISOLATE"),
            strict_resources=self._strict_resources or _env_flag("FLYTE_STRICT_RESOURCES"),
            project=self._project or get_init_config().project,
            domain=self._domain or get_init_config().domain,
            notifications=self._notifications,
        )

    @syncify
    async def run(self, task: TaskTemplate, *args: Any, **kwargs: Any) -> Run:
        """Run ``task(*args, **kwargs)`` and return the Run (local runs return once finished)."""
        task = _check_task(task)
        refuse_run_during_import(task.name)  # a worker re-importing an unguarded script: no new run
        mode = self._effective_mode()
        if mode == "remote":
            from flyte.remote._remote_run import run_remote  # the HTTP client loads only for remote runs

            return await run_remote(task, args, kwargs, self._config())
        if mode != "local":
            raise InitializationError(
                "RemoteNotAvailable",
                "user",
                f"Cannot run '{task.name}' in {mode} mode: no control-plane client is available in this "
                "version. Use mode='local' or flyte.init() without an endpoint.",
            )
        if getattr(task, "wire_ref", None) is not None:  # flyte.remote.Task.get(...): deployed code
            from flyte.errors import RemoteTaskUsageError

            raise RemoteTaskUsageError(
                f"Remote task '{task.name}' runs on the control plane only; it cannot run in a local run"
            )
        return await run_local(task, args, kwargs, self._config())


def _task_origin(task: TaskTemplate) -> tuple[str | None, str | None]:
    """Where the task is defined (module name, file), so that a rerun can load it again."""
    module = getattr(task.func, "__module__", None)
    try:
        file = inspect.getsourcefile(task.func)
    except TypeError:
        file = None
    return module, str(Path(file).resolve()) if file else None


async def run_local(
    task: TaskTemplate,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    config: RunConfig,
    *,
    raise_errors: bool = True,
    on_controller: Callable[[LocalController], None] | None = None,
) -> Run:
    """Execute a whole run in this process, recorded in the run store.

    With ``raise_errors=False`` a failed run is returned (its root action holding the error)
    instead of raising.
    """
    with during_run():  # fewer, cheaper garbage collections while the run allocates
        return await _run_local(task, args, kwargs, config, raise_errors, on_controller)


async def _run_local(
    task: TaskTemplate,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    config: RunConfig,
    raise_errors: bool,
    on_controller: Callable[[LocalController], None] | None,
) -> Run:
    services: dict[str, Any] = {}
    store = None
    if config.persist:
        store = open_store(flyte_home())
        module, file = _task_origin(task)
        await asyncio.to_thread(
            store.create_run,
            config.name,
            task.name,
            this_process_owner(),
            source_run=config.recover_from,
            task_module=module,
            task_file=file,
            root_dir=str(get_init_config().root_dir),
            labels=run_labels(config),
        )
        services["recorder"] = StoreRecorder(store)
        services["cache"] = TaskCache(store)
        if config.recover_from:
            services["replay"] = Replay(store, config.recover_from)
    controller = LocalController(config, **services)
    if on_controller is not None:
        on_controller(controller)
    if store is not None:
        loop = asyncio.get_running_loop()

        def abort_from_store(reason: str) -> None:
            loop.call_soon_threadsafe(controller.abort, reason)

        def abort_action_from_store(action: str, reason: str) -> None:
            loop.call_soon_threadsafe(controller.abort_action, action, reason)

        store.watch_abort(config.name, abort_from_store, on_action=abort_action_from_store)
        store.start_committer()
    url = Path(config.run_base_dir).as_uri()
    capture.start()
    try:
        with process_env({**task.env_vars, **config.env_vars}):
            await controller.run_root(task, args, kwargs)  # its outputs are read from the tree
    except asyncio.CancelledError:
        root = controller.root
        reason = root.abort_reason if root is not None and root.abort_reason else "cancelled"
        error: BaseException = ActionAbortedError(f"Run '{config.name}' was aborted: {reason}")
        if root is not None:
            root.error = error
        if raise_errors or root is None:
            raise error from None
    except Exception as e:
        if raise_errors or controller.root is None:
            raise redact_error(user_error_of(e)) from e.__cause__  # it leaves the run: no secrets
    finally:
        capture.stop()
        await controller.stop()
        if store is not None:
            store.unwatch_abort(config.name)
            await asyncio.to_thread(store.stop_committer)
            if controller.root is not None:  # a store failure here must surface, never pass as success
                await asyncio.to_thread(controller.recorder.run_finished, controller.root)
        if config.notifications or hasattr(controller, "_flyte_notify_pending"):
            from flyte.notify._local import notify_run_end

            await notify_run_end(config, task, controller)
    from flyte.remote._local_source import StoreSource, TreeSource

    assert controller.root is not None  # a run without a root raised above
    recorded = StoreSource(store, flyte_home()) if store is not None else None
    return Run(TreeSource(controller.root, recorded, url), config.name, task=task)


def with_runcontext(
    mode: Mode | None = None,
    *,
    name: str | None = None,
    env_vars: dict[str, str] | None = None,
    custom_context: dict[str, str] | None = None,
    overwrite_cache: bool = False,
    disable_run_cache: bool = False,
    raw_data_path: str | None = None,
    max_action_concurrency: int | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    strict_resources: bool = False,
    notifications: Any = None,
    project: str | None = None,
    domain: str | None = None,
    **reference_only: Any,
) -> _Runner:
    """Settings for the next run: ``flyte.with_runcontext(name="nightly").run(main, x=1)``.

    ``strict_resources=True`` (ours; also ``FLYTE_STRICT_RESOURCES=1``) makes a local run refuse
    a task whose Resources exceed this machine instead of clamping them with a warning.

    ``reference_only`` takes the reference SDK's remote-only options (service_account, project,
    domain, copy_style, queue, ...) so that code written for it runs unchanged; locally they
    have no effect.
    """
    return _Runner(
        mode,
        name=name,
        env_vars=env_vars,
        custom_context=custom_context,
        overwrite_cache=overwrite_cache,
        disable_run_cache=disable_run_cache,
        raw_data_path=raw_data_path,
        max_action_concurrency=max_action_concurrency,
        labels=labels,
        annotations=annotations,
        strict_resources=strict_resources,
        notifications=notifications,
        project=project,
        domain=domain,
        **reference_only,
    )


def _notifications_of(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    from flyte.notify._notifiers import normalize  # only runs that notify load flyte.notify

    return normalize(value, "with_runcontext")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes")


@syncify
async def run(task: TaskTemplate, *args: Any, **kwargs: Any) -> Run:
    """Run a task with default settings: ``flyte.run(main, n=10).outputs()``.

    Locally this executes the whole run before returning; a failed run raises the root task's
    error (with its original type) after the run has been recorded.
    """
    return await _Runner().run.aio(task, *args, **kwargs)
