"""Checkpoints: state an attempt saves so that the next attempt (a retry, or the same action in a
run that recovers this one) continues instead of starting over.

Inside a task, ``flyte.ctx().checkpoint`` is a :class:`Checkpoint` bound to two locations:
where this attempt saves (``remote_destination``) and where the previous checkpoint is
(``remote_source``). ``load`` / ``load_sync`` restore the previous checkpoint into a private local
workspace (``path``); ``save`` / ``save_sync`` store bytes, a file or a directory as this
attempt's checkpoint.

Locally, attempt ``n`` of an action saves to ``<run dir>/<action>/checkpoints/<n>`` (a file for
bytes or a single file, a directory tree for a directory). The previous checkpoint is the latest
one an earlier attempt saved, or, in a run that recovers another (``flyte.rerun(...,
recover=True)``), the latest one the same action saved there. A save becomes visible only once
completely written (it is renamed into place), so a crash mid-save leaves the previous one intact.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tarfile
import tempfile
import uuid
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyte.errors import NotInTaskContextError

if TYPE_CHECKING:
    from flyte.models import TaskContext

CHECKPOINT_CACHE_KEY = "__flyte_sync_checkpoint__"
"""Key under which ``TaskContext.checkpoint`` keeps its Checkpoint in ``TaskContext.data``."""

_PAYLOAD = "payload"  # name of a single-blob checkpoint inside the local workspace


def _local(uri: str | os.PathLike[str]) -> Path:
    from flyte.storage._default import to_local_path

    return to_local_path(uri)


def _attempt_entries(root: Path) -> list[tuple[int, Path]]:
    """The checkpoints under ``root``, one per attempt number, oldest first."""
    if not root.is_dir():
        return []
    return sorted((int(p.name), p) for p in root.iterdir() if p.name.isdigit())


def latest_checkpoint(
    root: Path | str,
    glob_pattern: str = "**/last.ckpt",
    *,
    key: Callable[[Path], Any] | None = None,
) -> Path | None:
    """The file under ``root`` matching ``glob_pattern`` that ranks highest by ``key``, or None.

    ``key`` defaults to the modification time, so the newest match wins. Useful on the tree
    restored by :meth:`Checkpoint.load` (e.g. a training framework's ``last.ckpt``).
    """
    base = Path(root)
    if glob_pattern.startswith("**/"):
        matches = list(base.rglob(glob_pattern[3:]))
    else:
        matches = list(base.glob(glob_pattern))
    if not matches:
        return None
    return max(matches, key=key if key is not None else (lambda p: p.stat().st_mtime))


class BaseCheckpoint(ABC):
    """What every checkpoint helper offers: a local workspace, and loading/saving to storage."""

    @property
    @abstractmethod
    def path(self) -> Path:
        """The local directory a loaded checkpoint is restored into."""

    @abstractmethod
    def prev_exists(self) -> bool:
        """Whether there is a previous checkpoint to continue from."""

    @abstractmethod
    async def load(self) -> Path | None:
        """Restore the previous checkpoint (async)."""

    @abstractmethod
    async def save(self, data: Path | str | bytes) -> None:
        """Store ``data`` as this attempt's checkpoint (async)."""

    @abstractmethod
    def load_sync(self) -> Path | None:
        """Restore the previous checkpoint (blocking, for ``def`` tasks)."""

    @abstractmethod
    def save_sync(self, data: Path | str | bytes) -> None:
        """Store ``data`` as this attempt's checkpoint (blocking, for ``def`` tasks)."""


class Checkpoint(BaseCheckpoint):
    """A task attempt's checkpoint: ``flyte.ctx().checkpoint`` inside a task.

    ``load()`` / ``load_sync()`` return None when there is no previous checkpoint; otherwise the
    restored data in :attr:`path`: ``path / "payload"`` for a checkpoint saved from bytes or a
    single file, ``path`` itself for one saved from a directory. They restore once; later calls
    return the same path. ``save(data)`` / ``save_sync(data)`` take bytes, a file path or a
    directory path, and replace what this attempt saved before.

    Args:
        checkpoint_dest: where this attempt's checkpoint is stored (a path or ``file://`` URI).
        checkpoint_src: where the previous checkpoint is, or None when there is none.
    """

    def __init__(self, checkpoint_dest: str, checkpoint_src: str | None = None):
        self._checkpoint_dest = str(checkpoint_dest)
        src = None if checkpoint_src is None else str(checkpoint_src).strip().strip('"')
        self._checkpoint_src = src or None
        self._workspace: Path | None = None
        self._restored = False
        self._result: Path | None = None

    @classmethod
    def current(cls) -> Checkpoint:
        """The running attempt's checkpoint (the same object as ``flyte.ctx().checkpoint``)."""
        from flyte._context import ctx

        tctx = ctx()
        checkpoint = None if tctx is None else tctx.checkpoint
        if checkpoint is None:
            raise NotInTaskContextError("NotInTask", "Checkpoints exist only inside a running task")
        return checkpoint

    @property
    def remote_destination(self) -> str:
        """Where :meth:`save` stores this attempt's checkpoint."""
        return self._checkpoint_dest

    @property
    def remote_source(self) -> str | None:
        """Where the previous checkpoint is, if there is one."""
        return self._checkpoint_src

    @property
    def path(self) -> Path:
        """The local workspace a loaded checkpoint is restored into (created on first use)."""
        if self._workspace is None:
            self._workspace = Path(tempfile.mkdtemp(prefix="flyte-cp-"))
            weakref.finalize(self, shutil.rmtree, str(self._workspace), True)
        return self._workspace

    def prev_exists(self) -> bool:
        """Whether there is a previous checkpoint (a retry, or a recovered run, saved one)."""
        return self._checkpoint_src is not None

    # -- loading ----------------------------------------------------------------------------------

    def load_sync(self) -> Path | None:
        if not self._restored:
            self._result = self._restore()
            self._restored = True
        return self._result

    async def load(self) -> Path | None:
        if self._restored:
            return self._result
        return await asyncio.to_thread(self.load_sync)

    def read_bytes(self) -> bytes | None:
        """The previous checkpoint's bytes when it was saved from bytes or one file; else None."""
        restored = self.load_sync()
        return restored.read_bytes() if restored is not None and restored.is_file() else None

    def _restore(self) -> Path | None:
        if self._checkpoint_src is None:
            return None
        source = _local(self._checkpoint_src)
        workspace = self.path
        for child in workspace.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        if source.is_dir():
            shutil.copytree(source, workspace, dirs_exist_ok=True, symlinks=True)
            return workspace
        if not source.is_file() or source.stat().st_size == 0:
            return None  # nothing was saved there: start from scratch, as on a first attempt
        if tarfile.is_tarfile(source):  # a directory checkpoint written as one archive
            with tarfile.open(source, "r:*") as archive:
                archive.extractall(workspace, filter="data")
            return workspace
        shutil.copyfile(source, workspace / _PAYLOAD)
        return workspace / _PAYLOAD

    # -- saving -----------------------------------------------------------------------------------

    async def save(self, data: Path | str | bytes) -> None:
        await asyncio.to_thread(self.save_sync, data)

    def save_sync(self, data: Path | str | bytes) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview, str, os.PathLike)):
            raise TypeError(
                "Checkpoint.save: expected bytes, or the path of a file or directory, "
                f"got {type(data).__name__}"
            )
        dest = _local(self._checkpoint_dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.part"
        try:
            if isinstance(data, (bytes, bytearray, memoryview)):
                staging.write_bytes(bytes(data))
            else:
                source = Path(data)
                if source.is_dir():
                    shutil.copytree(source, staging, symlinks=True)
                elif source.is_file():
                    shutil.copyfile(source, staging)
                else:
                    raise FileNotFoundError(f"Checkpoint.save: '{source}' does not exist")
            _replace(staging, dest)
        finally:
            if staging.exists():
                shutil.rmtree(staging) if staging.is_dir() else staging.unlink()


def _replace(new: Path, dest: Path) -> None:
    """Move ``new`` to ``dest`` so that a reader sees either the old or the new checkpoint."""
    if new.is_file() and not dest.is_dir():
        os.replace(new, dest)
        return
    old = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.old"
    if dest.exists():
        os.replace(dest, old)
    os.replace(new, dest)
    if old.exists():
        shutil.rmtree(old) if old.is_dir() else old.unlink()


def local_checkpoint(tctx: TaskContext) -> Checkpoint | None:
    """The checkpoint of an attempt run by this engine, derived from where its run keeps data."""
    if not tctx.run_base_dir:
        return None
    run_dir = Path(tctx.run_base_dir)
    root = run_dir / tctx.action.name / "checkpoints"
    attempt = tctx.attempt_number
    earlier = [p for n, p in _attempt_entries(root) if n < attempt]
    source = earlier[-1] if earlier else _recovered_source(run_dir, tctx)
    return Checkpoint(str(root / str(attempt)), None if source is None else str(source))


def _recovered_source(run_dir: Path, tctx: TaskContext) -> Path | None:
    """The same action's latest checkpoint in the run this one recovers, if any."""
    from flyte._internal.run_config import flyte_home

    home = flyte_home()
    if not (home / "runs.db").exists():  # persistence is off: nothing to recover from
        return None
    from flyte._internal.store import open_store

    record = open_store(home).get_run(tctx.action.run_name or "")
    if record is None or not record.source_run:
        return None
    saved = _attempt_entries(run_dir.parent / record.source_run / tctx.action.name / "checkpoints")
    return saved[-1][1] if saved else None
