"""Runs on a control plane: ``run_remote`` submits one; ``RemoteRun`` / ``RemoteAction`` read them.

``run_remote`` bundles the code the client has loaded (``flyte._internal.bundle``), uploads the
bundle once, encodes the inputs and ``POST``s the run; it returns at once with a handle whose
``wait()`` / ``outputs()`` block until the run ends. The handles subclass ``flyte.remote.Run``
and ``Action`` and answer the same calls from the API instead of the local run store;
``get_run``, ``list_runs`` and ``get_action`` are the API versions of ``Run.get``,
``Run.listall`` and ``Action.get``.

The user-facing calls use the sync HTTP client (on a thread when called from async code), so a
handle works from any thread and any event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from flyte._initialize import get_init_config
from flyte._internal.bundle import build_bundle, relative_file, upload_bundle
from flyte._internal.controllers._wire import b64d, b64e, error_of, q, task_file, task_ref
from flyte._internal.run_config import run_labels
from flyte._internal.runtime.convert import encode_inputs
from flyte._syncify import syncify
from flyte.errors import CodeBundleError, InitializationError, RuntimeUserError, user_error_of
from flyte.models import ActionPhase
from flyte.remote._client import ApiClient
from flyte.remote._data import ActionInputs, ActionOutputs, ordered_outputs
from flyte.remote._run import Action, Run
from flyte.types import TypeEngine

if TYPE_CHECKING:
    from flyte._internal.run_config import RunConfig
    from flyte._task import TaskTemplate

WAIT_SECONDS = 30.0
"""Server-side timeout of one long-poll (``wait``, ``watch``)."""
RUNNING_POLL_SECONDS = 0.2

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


def _phase(data: dict[str, Any]) -> ActionPhase:
    return ActionPhase(data["phase"])


def _untyped(data: bytes | None) -> dict[str, Any]:
    values = TypeEngine.decode_values(data, {}) if data else {}
    values.pop("_artifacts", None)  # flyte.artifacts records, not an output
    return values


def _outputs(data: bytes | None, task: TaskTemplate[Any, Any] | None) -> ActionOutputs:
    if task is not None:
        values = TypeEngine.decode_values(data, task.interface.outputs) if data else {}
        names = list(task.interface.outputs)
        return ActionOutputs(tuple(values[k] for k in names), names=names)
    return ordered_outputs(_untyped(data))


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
) -> RemoteRun:
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
    if config.notifications:  # sent by the server when the run ends (flyte.notify._wire)
        from flyte.notify._wire import to_wire

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
        "recover_from": config.recover_from,
    }
    try:
        record = client.call("POST", "/api/v1/runs", json=body)
    except RuntimeUserError as e:  # our own earlier try got through before its answer was lost
        if e.code != "Conflict" or not getattr(e, "retried", False):
            raise
        record = client.call("GET", f"/api/v1/runs/{q(config.name)}")
    return RemoteRun(client, record, task)


async def run_remote(
    task: TaskTemplate[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], config: RunConfig
) -> RemoteRun:
    """``flyte.run`` in remote mode: submit the run and return its handle without waiting."""
    return await asyncio.to_thread(submit_run, task, args, kwargs, config)


def rerun_remote(run_name: str, recover: bool = False, name: str | None = None) -> RemoteRun:
    """A new run of ``run_name``'s task and inputs (``recover``: reuse what it finished)."""
    client = client_from_config()
    record = client.call("POST", f"/api/v1/runs/{q(run_name)}/rerun", json={"recover": recover, "name": name})
    return RemoteRun(client, record)


# -- lookups ------------------------------------------------------------------------------------------


def get_run(name: str) -> RemoteRun:
    client = client_from_config()
    return RemoteRun(client, client.call("GET", f"/api/v1/runs/{q(name)}"))


def list_runs(
    in_phase: tuple[ActionPhase | str, ...] = (), task_name: str | None = None, limit: int = 100
) -> Iterator[RemoteRun]:
    client = client_from_config()
    params: dict[str, Any] = {"limit": limit}
    if in_phase:
        params["phase"] = ",".join(ActionPhase(p).value for p in in_phase)
    if task_name:
        params["task"] = task_name
    for record in client.call("GET", "/api/v1/runs", params=params) or []:
        yield RemoteRun(client, record)


def get_action(run_name: str, name: str) -> RemoteAction:
    client = client_from_config()
    return RemoteAction(client, client.call("GET", f"/api/v1/runs/{q(run_name)}/actions/{q(name)}"))


# -- handles ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunEvent:
    """A phase change of an action, or a log line it printed (``Run.watch``)."""

    seq: int
    kind: Literal["phase", "log"]
    action: str
    at: float
    phase: str | None = None
    line: str | None = None
    stream: str | None = None


class RemoteAction(Action):
    """An action of a run on the control plane."""

    def __init__(self, client: ApiClient, data: dict[str, Any], task: TaskTemplate[Any, Any] | None = None):
        super().__init__(data["run_name"])
        self._client = client
        self._data = data
        self._task = task

    def _path(self) -> str:
        return f"/api/v1/runs/{q(self.run_name)}/actions/{q(self._data['name'])}"

    def _fresh(self) -> dict[str, Any]:  # type: ignore[override]
        if not _phase(self._data).is_terminal:
            self._data = self._client.call("GET", self._path())
        return self._data

    name = property(lambda self: self._data["name"])
    task_name = property(lambda self: self._data["task_name"])
    group = property(lambda self: self._data.get("group"))
    phase = property(lambda self: _phase(self._fresh()))
    attempts = property(lambda self: int(self._fresh().get("attempts") or 0))
    cache_status = property(lambda self: self._fresh().get("cache_status"))
    report_path = property(lambda self: None)

    @property
    def error(self) -> BaseException | None:  # type: ignore[override]
        data = self._fresh()
        failed = _phase(data).is_terminal and _phase(data) is not ActionPhase.SUCCEEDED
        return error_of(data) if failed else None

    @property
    def error_message(self) -> str | None:  # type: ignore[override]
        data = self._fresh()
        return (
            None if data.get("error_type") is None else f"{data['error_type']}: {data.get('error_message')}"
        )

    @property
    def duration(self) -> float | None:  # type: ignore[override]
        data = self._fresh()
        started = data.get("started_at")
        return None if started is None else (data.get("ended_at") or time.time()) - started

    @property
    def children(self) -> list[Action]:  # type: ignore[override]
        found = self._client.call("GET", f"/api/v1/runs/{q(self.run_name)}/actions") or []
        return [RemoteAction(self._client, a) for a in found if a.get("parent") == self.name]

    def _io(self) -> tuple[bytes | None, bytes | None]:
        io = self._client.call("GET", f"{self._path()}/io") or {}
        return b64d(io.get("inputs_b64")), b64d(io.get("outputs_b64"))

    def inputs(self) -> ActionInputs:
        return ActionInputs(_untyped(self._io()[0]))

    def outputs(self) -> ActionOutputs:
        if self.phase is not ActionPhase.SUCCEEDED:
            raise RuntimeUserError(
                "NoOutputs", f"Action '{self.name}' has no outputs: it is {self.phase.value}"
            )
        return _outputs(self._io()[1], self._task)

    def logs(self) -> list[str]:
        lines = self._client.call(
            "GET", f"/api/v1/runs/{q(self.run_name)}/logs", params={"action": self.name}
        )
        return [f"[{line['stream']}] {line['line']}" for line in lines or []]


class RemoteRun(Run):
    """A run on the control plane; ``outputs()`` and ``wait()`` block until it ends."""

    def __init__(self, client: ApiClient, data: dict[str, Any], task: TaskTemplate[Any, Any] | None = None):
        super().__init__(data["name"], task=task, url=f"{client.endpoint}/runs/{q(data['name'])}")
        self._client = client
        self._data = data

    def _fresh(self) -> dict[str, Any]:  # type: ignore[override]
        if not _phase(self._data).is_terminal or self._data.get("ended_at") is None:
            self._data = self._client.call("GET", f"/api/v1/runs/{q(self.name)}")
        return self._data

    @property
    def phase(self) -> ActionPhase:  # type: ignore[override]
        return _phase(self._fresh())

    @property
    def task_name(self) -> str:  # type: ignore[override]
        return self._data["task_name"]

    @property
    def error_message(self) -> str | None:  # type: ignore[override]
        data = self._fresh()
        return (
            None if data.get("error_type") is None else f"{data['error_type']}: {data.get('error_message')}"
        )

    @property
    def action(self) -> RemoteAction:  # type: ignore[override]
        return RemoteAction(
            self._client, self._client.call("GET", f"/api/v1/runs/{q(self.name)}/actions/a0"), self._task
        )

    def actions(self) -> list[Action]:  # type: ignore[override]
        found = self._client.call("GET", f"/api/v1/runs/{q(self.name)}/actions") or []
        return [RemoteAction(self._client, a, self._task if a["name"] == "a0" else None) for a in found]

    def done(self) -> bool:
        return self.phase.is_terminal

    def _wait_sync(self, wait_for: str, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        path = f"/api/v1/runs/{q(self.name)}/actions/a0/wait"
        while True:
            phase = self.phase
            if phase.is_terminal or (wait_for == "running" and phase is not ActionPhase.QUEUED):
                return
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"Run '{self.name}' is still {phase.value} after {timeout}s")
            if wait_for == "running":
                time.sleep(min(RUNNING_POLL_SECONDS, left or RUNNING_POLL_SECONDS))
                continue
            poll = WAIT_SECONDS if left is None else max(0.0, min(WAIT_SECONDS, left))
            self._client.call("GET", path, params={"timeout": poll}, poll=poll)

    @syncify
    async def wait(
        self,
        quiet: bool = False,
        wait_for: Literal["terminal", "running"] = "terminal",
        timeout: float | None = None,
    ) -> None:
        """Block until the run ends (or starts running, with ``wait_for="running"``)."""
        await asyncio.to_thread(self._wait_sync, wait_for, timeout)

    def _outputs_sync(self) -> ActionOutputs:
        self._wait_sync("terminal", None)
        root = self._client.call("GET", f"/api/v1/runs/{q(self.name)}/actions/a0")
        if _phase(root) is not ActionPhase.SUCCEEDED:
            module = getattr(getattr(self._task, "func", None), "__module__", None)
            raise user_error_of(error_of(root, near=(module,) if module else ()))
        outputs = RemoteAction(self._client, root, self._task).outputs()
        if self._task is not None and not self._task.interface.outputs:
            return ActionOutputs((None,))  # as a local run's outputs(): a task returning None gives (None,)
        return outputs

    @syncify
    async def outputs(self) -> ActionOutputs:
        """The root task's outputs, once the run has ended; raises its error if it failed."""
        return await asyncio.to_thread(self._outputs_sync)

    @syncify
    async def inputs(self) -> ActionInputs:
        """The root task's inputs by name."""
        action = await asyncio.to_thread(lambda: self.action)
        data = (await asyncio.to_thread(action._io))[0]
        if self._task is not None and data:
            return ActionInputs(TypeEngine.decode_values(data, self._task.interface.input_types))
        return ActionInputs(_untyped(data))

    @syncify
    async def abort(self, reason: str = "aborted by the user") -> None:
        """Stop the run: its unfinished actions end as aborted."""
        path = f"/api/v1/runs/{q(self.name)}/abort"
        self._data = await asyncio.to_thread(self._client.call, "POST", path, json={"reason": reason})

    def watch(self) -> Iterator[RunEvent]:
        """Phase changes and log lines of every action as they happen, until the run ends."""
        since, ending = 0, False
        path = f"/api/v1/runs/{q(self.name)}/watch"
        while True:
            poll = 0.0 if ending else WAIT_SECONDS
            answer = self._client.call("GET", path, params={"since": since, "timeout": poll}, poll=poll) or {}
            since = answer.get("seq", since)
            events = answer.get("events") or []
            for e in events:
                event = RunEvent(
                    e["seq"], e["kind"], e["action"], e["at"], e.get("phase"), e.get("line"), e.get("stream")
                )
                if event.kind == "phase" and event.action == "a0" and ActionPhase(event.phase).is_terminal:
                    ending = True
                yield event
            if answer.get("done") or (ending and not events):
                return
            if not events and not ending and self.phase.is_terminal:
                ending = True

    def __repr__(self) -> str:
        return f"RemoteRun(name={self.name!r}, phase={self._data.get('phase')!r}, url={self.url!r})"
