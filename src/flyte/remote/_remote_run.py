"""Runs on a control plane: ``run_remote`` submits one; ``get_run`` and friends look them up.

``run_remote`` bundles the code the client has loaded (``flyte._internal.bundle``), uploads the
bundle once, encodes the inputs and ``POST``s the run; it returns at once with a handle whose
``wait()`` / ``outputs()`` block until the run ends. The handle is a plain ``flyte.remote.Run``
reading an ``HttpSource`` (``flyte.remote._records``); ``get_run``, ``list_runs`` and
``get_action`` are ``Run.get``, ``Run.listall`` and ``Action.get`` on the configured control
plane.

The sources use the sync HTTP client (on a thread when called from async code), so a handle
works from any thread and any event loop.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyte._initialize import get_init_config
from flyte._internal.bundle import build_bundle, relative_file, upload_bundle
from flyte._internal.controllers._wire import b64e, q, task_file, task_ref
from flyte._internal.run_config import run_labels
from flyte._internal.runtime.convert import encode_inputs
from flyte.errors import ActionNotFoundError, CodeBundleError, InitializationError, RuntimeUserError
from flyte.models import ActionPhase
from flyte.remote._client import ApiClient
from flyte.remote._records import HttpSource, _run
from flyte.remote._run import Action, Run
from flyte.remote._source import RunEvent

if TYPE_CHECKING:
    from flyte._internal.run_config import RunConfig
    from flyte._task import TaskTemplate

RemoteRun = Run
"""A run on a control plane is a ``Run`` reading an ``HttpSource`` (the name is kept for callers)."""
RemoteAction = Action

__all__ = ["RemoteAction", "RemoteRun", "RunEvent", "client_from_config", "get_action", "get_run",
           "list_runs", "rerun_remote", "run_remote", "submit_run"]  # fmt: skip

_clients: dict[tuple[str, str | None, bool], ApiClient] = {}


@atexit.register
def close_clients() -> None:
    """Close the clients made by :func:`client_from_config` (their pooled connections)."""
    for client in _clients.values():
        client.close()
    _clients.clear()


def client_from_config() -> ApiClient:
    """The client for the endpoint and key given to ``flyte.init`` (one per endpoint and key)."""
    cfg = get_init_config()
    if cfg.endpoint is None:
        raise InitializationError(
            "NoEndpoint",
            "user",
            "No control plane is configured: call flyte.init(endpoint=...) or flyte.init_from_config(), "
            "or run `flyte create config --devbox` after `flyte start devbox`.",
        )
    key = (cfg.endpoint, cfg.api_key, cfg.insecure)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = ApiClient(cfg.endpoint, cfg.api_key, insecure=cfg.insecure)
    return client


# -- submitting -------------------------------------------------------------------------------------


def bundle_root(task: TaskTemplate[Any, Any], root: Path) -> tuple[Path, str]:
    """The bundle root for ``task`` and its file relative to it: ``root``, or the task file's
    directory when the file lies outside ``root`` (as ``flyte run /elsewhere/wf.py`` loads it)."""
    qualname = getattr(task.func, "__qualname__", "")
    if "<locals>" in qualname:
        raise CodeBundleError(
            f"Task '{task.name}' is defined inside a function, so a worker cannot import it; "
            "define it at module level to run it on a control plane"
        )
    file = task_file(task)
    if file is None:
        raise CodeBundleError(
            f"Task '{task.name}' has no source file (defined interactively?); define it in a module or "
            "script to run it on a control plane"
        )
    rel = relative_file(file, root)
    if rel is None:
        root = Path(file).absolute().parent
        rel = Path(file).name
    return root, rel


def submit_run(
    task: TaskTemplate[Any, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    config: RunConfig,
    client: ApiClient | None = None,
) -> Run:
    """Bundle, upload and start a run of ``task(*args, **kwargs)``; returns once it is queued."""
    client = client or client_from_config()
    data = encode_inputs(task, task.interface.bind(task.name, args, kwargs))
    if getattr(task, "wire_ref", None) is not None:  # a deployed task: its registered bundle and settings
        ref = task_ref(task, "", get_init_config().root_dir)
    else:
        root, rel = bundle_root(task, get_init_config().root_dir)
        key = upload_bundle(client, build_bundle(root, extra=[rel]))
        ref = task_ref(task, key, root)
    ref.update(project=config.project, domain=config.domain)  # carried to every action of the run
    if config.notifications:  # sent by the server when the run ends (flyte.notify._spec)
        from flyte.notify._spec import to_wire

        ref["run_notifications"] = to_wire(config.notifications)
    body = {
        "name": config.name,
        "task": ref,
        "labels": run_labels(config),
        "inputs_b64": b64e(data),
        "env_vars": dict(config.env_vars),
        "custom_context": dict(config.custom_context),
        "overwrite_cache": config.overwrite_cache,
        "disable_run_cache": config.disable_run_cache,
        "max_action_concurrency": config.max_action_concurrency,
        "raw_data_path": config.raw_data_path,
        "recover_from": config.recover_from,
    }
    try:
        record = client.call("POST", "/api/v1/runs", json=body)
    except RuntimeUserError as e:  # our own earlier try got through before its answer was lost
        if e.code != "Conflict" or not getattr(e, "retried", False):
            raise
        record = client.call("GET", f"/api/v1/runs/{q(config.name)}")
    return _handle(client, record, task)


def _handle(client: ApiClient, record: dict[str, Any], task: TaskTemplate[Any, Any] | None = None) -> Run:
    return Run(HttpSource(client), record["name"], _run(record), task)


async def run_remote(
    task: TaskTemplate[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], config: RunConfig
) -> Run:
    """``flyte.run`` in remote mode: submit the run and return its handle without waiting."""
    return await asyncio.to_thread(submit_run, task, args, kwargs, config)


def rerun_remote(run_name: str, recover: bool = False, name: str | None = None) -> Run:
    """A new run of ``run_name``'s task and inputs (``recover``: reuse what it finished)."""
    client = client_from_config()
    record = client.call("POST", f"/api/v1/runs/{q(run_name)}/rerun", json={"recover": recover, "name": name})
    return _handle(client, record)


# -- lookups ------------------------------------------------------------------------------------------


def get_run(name: str) -> Run:
    """Run ``name`` on the configured control plane (``ActionNotFoundError`` when it has none)."""
    source = HttpSource(client_from_config())
    record = source.get_run(name)
    if record is None:
        raise ActionNotFoundError(f"No run named '{name}' on {source.label}")
    return Run(source, name, record)


def list_runs(
    in_phase: tuple[ActionPhase | str, ...] = (), task_name: str | None = None, limit: int = 100
) -> Iterator[Run]:
    """Runs of the configured control plane, newest first."""
    source = HttpSource(client_from_config())
    phases = [ActionPhase(p) for p in in_phase]
    for record in source.list_runs(phases=phases, task_name=task_name, limit=limit):
        yield Run(source, record.name, record)


def get_action(run_name: str, name: str) -> Action:
    """One action of a run on the configured control plane."""
    source = HttpSource(client_from_config())
    record = source.get_action(run_name, name)
    if record is None:
        raise ActionNotFoundError(f"Run '{run_name}' has no action named '{name}' on {source.label}")
    return Action(source, record)
