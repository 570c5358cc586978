"""Value objects shared by the SDK, the controllers, the run store and the server.

Phases are the one vocabulary every part of the engine uses to describe where an action is.
"""

from __future__ import annotations

import enum
import hashlib
import os
import pathlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from flyte._checkpoint import Checkpoint

MAX_INLINE_IO_BYTES = 10 * 1024 * 1024
"""Default upper bound for the encoded size of a task's inputs or outputs (10 MiB)."""

RunMode = Literal["local", "remote", "hybrid"]

CHECKPOINT_CACHE_KEY = "__flyte_sync_checkpoint__"  # same value as flyte._checkpoint.CHECKPOINT_CACHE_KEY


class ActionPhase(str, enum.Enum):
    """Where an action is in its life.

    Allowed transitions::

        queued -> waiting_for_resources -> initializing -> running -> {succeeded, failed, timed_out}
        running -> queued                      (a failed attempt that will be retried)
        any non-terminal -> aborted            (the run or an ancestor was aborted or failed)
        running -> paused -> running           (waiting on an external event)

    The last four members and ``succeeded`` are terminal.
    """

    QUEUED = "queued"
    WAITING_FOR_RESOURCES = "waiting_for_resources"
    INITIALIZING = "initializing"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"
    TIMED_OUT = "timed_out"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset({ActionPhase.SUCCEEDED, ActionPhase.FAILED, ActionPhase.ABORTED, ActionPhase.TIMED_OUT})


@dataclass(frozen=True, kw_only=True)
class ActionID:
    """Identity of one action inside a run. The root action of every run is named ``a0``."""

    name: str
    run_name: str | None = None
    project: str | None = None
    domain: str | None = None
    org: str | None = None

    def __post_init__(self) -> None:
        if self.run_name is None:
            object.__setattr__(self, "run_name", self.name)

    def new_sub_action(self, name: str) -> ActionID:
        return self._with_name(name)

    def new_sub_action_from(
        self, task_call_seq: int, task_hash: str, input_hash: str, group: str | None
    ) -> ActionID:
        """A child id that is a pure function of where and how the child was called.

        Re-running the same code with the same inputs reproduces the same ids, which is what
        replay, recovery and trace checkpoints rely on.
        """
        key = f"{self.name}|{task_hash}|{input_hash}|{task_call_seq}|{group or ''}"
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        return self._with_name(digest.hex())

    def _with_name(self, name: str) -> ActionID:
        # The frozen-dataclass constructor costs ~3 us; this runs once per action on the hot path.
        new = object.__new__(ActionID)
        new.__dict__.update(self.__dict__, name=name)
        return new


@dataclass(frozen=True)
class GroupData:
    """The ``flyte.group`` an action was called in."""

    name: str


@dataclass(frozen=True, kw_only=True)
class RawDataPath:
    """Where an action may write raw data (files, directories, dataframes)."""

    path: str


@dataclass(frozen=True)
class CheckpointPaths:
    """Where the previous checkpoint is (None when there is none) and where this attempt saves its own."""

    prev_checkpoint_path: str | None
    checkpoint_path: str | None


Checkpoints = CheckpointPaths
"""The older name of :class:`CheckpointPaths`."""


@dataclass(frozen=True, kw_only=True)
class CodeBundle:
    """A packaged copy of the user's code: a ``.tgz`` of source files or a ``.pkl`` of the task.

    ``computed_version`` is the content hash of the code; ``destination`` is where the bundle is
    unpacked; ``downloaded_path`` is set at run time once it has been fetched and unpacked.
    """

    computed_version: str
    destination: str = "."
    tgz: str | None = None
    pkl: str | None = None
    downloaded_path: pathlib.Path | None = None
    files: list[str] | None = None

    def __post_init__(self) -> None:
        if self.tgz is None and self.pkl is None:
            raise ValueError("CodeBundle: give either tgz (a source archive) or pkl (a pickled task)")

    def with_downloaded_path(self, path: pathlib.Path) -> CodeBundle:
        """A copy that records where the bundle was unpacked."""
        return replace(self, downloaded_path=path)


@dataclass
class SerializationContext:
    """What is known while a task is turned into its deployable form (at deploy or at run time).

    ``input_path`` and ``output_path`` default to the placeholders the platform fills in for
    each action; ``interpreter_path`` is the Python inside the task's image.
    """

    version: str
    project: str | None = None
    domain: str | None = None
    org: str | None = None
    code_bundle: CodeBundle | None = None
    input_path: str = "{{.input}}"
    output_path: str = "{{.outputPrefix}}"
    interpreter_path: str = "/opt/venv/bin/python"
    image_cache: Any = None
    root_dir: pathlib.Path | None = None

    def get_entrypoint_path(self, interpreter_path: str | None = None) -> str:
        """The task runner script next to the interpreter (``<bin dir>/runtime.py``)."""
        return os.path.join(os.path.dirname(interpreter_path or self.interpreter_path), "runtime.py")


@dataclass(frozen=True, kw_only=True)
class TaskContext:
    """What a running task can know about its own execution; returned by ``flyte.ctx()``.

    ``attempt_number`` counts from 0 (the first attempt) and grows by one with every retry.
    ``custom_context`` is passed on to every child action and never enters cache keys.
    ``checkpoint_paths`` (``checkpoints`` is its older name; either may be given) locates the
    attempt's checkpoint; ``checkpoint`` is the ready-to-use :class:`flyte.Checkpoint`.
    """

    action: ActionID
    version: str = ""
    raw_data_path: RawDataPath | None = None
    input_path: str | None = None
    output_path: str = ""
    run_base_dir: str = ""
    report: Any = None
    group_data: GroupData | None = None
    checkpoint_paths: CheckpointPaths | None = None
    checkpoints: CheckpointPaths | None = None
    code_bundle: Any = None
    compiled_image_cache: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    mode: RunMode = "local"
    interactive_mode: bool = False
    custom_context: dict[str, str] = field(default_factory=dict)
    attempt_number: int = 0
    task_name: str = ""

    def __post_init__(self) -> None:
        paths = self.checkpoint_paths or self.checkpoints
        object.__setattr__(self, "checkpoint_paths", paths)
        object.__setattr__(self, "checkpoints", paths)

    @property
    def checkpoint(self) -> Checkpoint | None:
        """This attempt's checkpoint: load what an earlier attempt saved, save progress.

        None when the attempt has no checkpoint location (no ``checkpoint_paths`` with a
        destination, and no run directory to keep one in). The same object is returned on every
        access within the attempt.
        """
        cached = self.data.get(CHECKPOINT_CACHE_KEY)
        if cached is not None:
            return cached
        from flyte._checkpoint import Checkpoint, local_checkpoint

        paths = self.checkpoint_paths or self.checkpoints
        if paths is not None:
            dest = (paths.checkpoint_path or "").strip()
            checkpoint = Checkpoint(dest, paths.prev_checkpoint_path) if dest else None
        else:
            checkpoint = local_checkpoint(self)
        if checkpoint is not None:
            self.data[CHECKPOINT_CACHE_KEY] = checkpoint
        return checkpoint

    def replace(self, **kwargs: Any) -> TaskContext:
        return replace(self, **kwargs)

    def derive(self, **changes: Any) -> TaskContext:
        """A copy with ``changes`` applied, without re-validation: the per-action fast path
        (a frozen-dataclass constructor with this many fields costs ~4 us)."""
        new = object.__new__(TaskContext)
        new.__dict__.update(self.__dict__, **changes)
        return new

    def __getitem__(self, key: str) -> Any:
        return self.data.get(key)

    def is_in_cluster(self) -> bool:
        return self.mode == "remote"


def __getattr__(name: str) -> Any:
    # NativeInterface lives with the interface code; loaded on first use so this module stays light.
    if name == "NativeInterface":
        from flyte._interface import NativeInterface

        return NativeInterface
    raise AttributeError(f"module 'flyte.models' has no attribute {name!r}")
