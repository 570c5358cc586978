"""The conformance driver: one small interface over every backend that runs actions.

A scenario only calls :meth:`Backend.run` (or :meth:`Backend.start` to abort a run) and reads the
:class:`Outcome` it returns: what a user of ``flyte.run`` sees (outputs, or the error
``outputs()`` raises) and what the public readers show afterwards (``flyte.remote.Run.actions()``
with phases, attempts, cache statuses, groups, error messages and logs, ``flyte get ...``).

A backend is ``flyte.init`` arguments plus ``flyte.with_runcontext`` options: everything else
is the same code path a user takes. Adding a backend is writing one :class:`Backend` (see
``README.md``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flyte
from flyte._internal.run_config import new_run_name
from flyte._internal.secrets import SecretStore
from flyte._task import TaskTemplate

WORKFLOWS = Path(__file__).parent / "workflows"
WF_FILE = WORKFLOWS / "conformance_wf.py"


@dataclass(frozen=True)
class ErrorSeen:
    """The error ``Run.outputs()`` raised: its class name, ``code`` and message."""

    type: str
    code: str | None
    message: str


@dataclass(frozen=True)
class ActionSeen:
    """One action as ``flyte.remote.Run.actions()`` shows it once the run has ended."""

    name: str
    task: str
    phase: str
    attempts: int
    cache_status: str | None
    group: str | None
    error: str | None
    logs: tuple[str, ...]
    phases: tuple[str, ...] = ()
    """The phases it went through, in order (its history without repeats)."""


@dataclass
class Outcome:
    """Everything a scenario may assert about one run."""

    run_name: str
    phase: str
    outputs: tuple[Any, ...] | None
    error: ErrorSeen | None
    actions: list[ActionSeen] = field(default_factory=list)

    @property
    def value(self) -> Any:
        """The single output (most scenario tasks have one)."""
        assert self.error is None, f"the run failed: {self.error}"
        assert self.outputs is not None
        return self.outputs[0]

    def by_task(self, short: str) -> list[ActionSeen]:
        """The actions of task ``<env>.<short>`` (any environment), in action-name order."""
        return sorted((a for a in self.actions if a.task.split(".", 1)[-1] == short), key=lambda a: a.name)

    def one(self, short: str) -> ActionSeen:
        [found] = self.by_task(short)
        return found

    def phases(self) -> Counter[tuple[str, str]]:
        """``(task short name, phase)`` -> how many actions: the shape of the run's tree."""
        return Counter((a.task.split(".", 1)[-1], a.phase) for a in self.actions)


def _phases(record: Any) -> tuple[str, ...]:
    seen: list[str] = []
    for event in record.history:
        if not seen or seen[-1] != event.phase.value:
            seen.append(event.phase.value)
    return tuple(seen)


def _error_seen(e: BaseException) -> ErrorSeen:
    return ErrorSeen(type(e).__name__, getattr(e, "code", None), str(e))


class Backend:
    """A place where runs execute. Subclasses say how to reach it (``init``) and which run options
    select it (``run_options``); the rest is the public API, shared by every backend."""

    name = "base"
    remote = False

    def init(self) -> None:
        """Point ``flyte`` at this backend (called before every scenario)."""
        flyte.init(root_dir=WORKFLOWS)

    def run_options(self) -> dict[str, Any]:
        """Extra ``flyte.with_runcontext`` options that select this backend."""
        return {}

    def secret_store(self) -> SecretStore:
        """The secret store the backend's attempts read."""
        return SecretStore()

    def put_secret(self, key: str, value: str) -> None:
        self.secret_store().put(key, value)

    def files_written(self) -> list[Path]:
        """Every file the backend's own service wrote (a local backend: the run store's home)."""
        from flyte._internal.run_config import flyte_home

        return [p for p in flyte_home().rglob("*") if p.is_file()]

    # -- running --------------------------------------------------------------------------------------

    def _context(self, **options: Any) -> Any:
        return flyte.with_runcontext(**{**self.run_options(), **options})

    def run(
        self, task: TaskTemplate[Any, Any], *, options: dict[str, Any] | None = None, **inputs: Any
    ) -> Outcome:
        """Run ``task(**inputs)`` to its end and read what a user would see.

        A local ``flyte.run`` raises the run's error itself, a remote one returns a handle whose
        ``outputs()`` raises it (as in the reference): both count as "the error the user got"."""
        options = dict(options or {})
        name = options.setdefault("name", new_run_name())
        try:
            handle = self._context(**options).run(task, **inputs)
        except Exception as e:
            return self.observe(name, error=_error_seen(e))
        return self.observe(name, handle)

    def start(
        self, task: TaskTemplate[Any, Any], name: str, *, options: dict[str, Any] | None = None, **inputs: Any
    ) -> Callable[[], Outcome]:
        """Start ``task(**inputs)`` as run ``name`` without waiting; returns a function that waits
        for its end and reads the outcome. (A local ``flyte.run`` blocks, so it runs on a thread.)"""
        box: dict[str, Any] = {}

        def go() -> None:
            try:
                box["handle"] = self._context(name=name, **(options or {})).run(task, **inputs)
            except Exception as e:
                box["error"] = _error_seen(e)

        thread = threading.Thread(target=go, daemon=True)
        thread.start()

        def finish() -> Outcome:
            thread.join(60)
            assert not thread.is_alive(), f"run {name} did not end"
            return self.observe(name, box.get("handle"), box.get("error"))

        return finish

    def observe(self, name: str, handle: Any = None, error: ErrorSeen | None = None) -> Outcome:
        """Wait for run ``name`` to end and read it through ``flyte.remote``."""
        outputs = None
        if handle is not None:
            try:
                outputs = tuple(handle.outputs())
            except Exception as e:
                error = _error_seen(e)
        run = flyte.remote.Run.get(name)  # the public reader, as another process would use it
        run.wait()
        actions = [
            ActionSeen(
                name=a.name,
                task=a.task_name,
                phase=a.phase.value,
                attempts=a.attempts,
                cache_status=a.cache_status,
                group=a.group,
                error=a.error_message,
                logs=tuple(a.logs()),
                phases=_phases(a.record),
            )
            for a in run.actions()
        ]
        return Outcome(name, run.phase.value, outputs, error, actions)

    def wait_for_running(self, name: str, tasks: int, timeout: float = 30.0) -> None:
        """Block until run ``name`` has at least ``tasks`` actions running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                actions = flyte.remote.Run.get(name).actions()
            except Exception:
                actions = []
            if sum(a.phase.value == "running" for a in actions) >= tasks:
                return
            time.sleep(0.05)
        raise AssertionError(f"run {name} never had {tasks} running actions")

    def abort(self, name: str, reason: str) -> None:
        flyte.remote.Run.get(name).abort(reason)

    def cli_run_args(self) -> tuple[list[str], dict[str, str]]:
        """How a user starts a run of this backend from a shell: ``flyte`` arguments before the
        workflow file, and extra environment variables."""
        return ["run", "--local", *(["--isolate"] if self.run_options().get("isolate") else [])], {}

    def cli(self, *args: str) -> tuple[int, str]:
        """``flyte ARGS`` in this process, against this backend (exit code and output)."""
        from click.testing import CliRunner

        from flyte.cli.main import main

        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    def cli_json(self, *args: str) -> Any:
        code, out = self.cli(*args, "-of", "json")
        assert code == 0, out
        return json.loads(out)


class LocalBackend(Backend):
    """``flyte.run`` in this process: async tasks on the event loop, sync ones on threads."""

    name = "local"


class IsolatedBackend(Backend):
    """``flyte run --local --isolate``: every action in a local worker process."""

    name = "isolate"

    def run_options(self) -> dict[str, Any]:
        return {"isolate": True}


@dataclass
class DevboxService:
    """A running devbox (``flyte start devbox``) the conformance session shares."""

    endpoint: str
    api_key: str
    home: Path
    database: str
    db_url: str | None = None


class DevboxBackend(Backend):
    """A devbox on this machine: the control plane in a subprocess and its worker processes."""

    remote = True

    def __init__(self, service: DevboxService, name: str | None = None):
        self.service = service
        self.name = name or f"devbox-{service.database}"

    def init(self) -> None:
        flyte.init(endpoint=self.service.endpoint, api_key=self.service.api_key, root_dir=WORKFLOWS)

    def secret_store(self) -> SecretStore:
        return SecretStore(self.service.home / "secrets")  # the workers' FLYTE_HOME

    def cli_run_args(self) -> tuple[list[str], dict[str, str]]:
        return ["--endpoint", self.service.endpoint, "run", "--follow"], {
            "FLYTE_API_KEY": self.service.api_key
        }

    def files_written(self) -> list[Path]:
        return [p for p in self.service.home.rglob("*") if p.is_file()]
