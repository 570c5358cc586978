"""Checkpoints: state an attempt saves so that the next attempt (a retry, or the same action in a
run that recovers this one) continues instead of starting over.

Each attempt writes to ``<run dir>/<action>/checkpoints/<attempt>``; a checkpoint becomes visible
only once completely written (it is renamed into place), so a crash mid-save leaves the previous
checkpoint as the latest.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flyte._context import ctx
from flyte._internal.run_config import flyte_home
from flyte._internal.store import open_store
from flyte.errors import NotInTaskContextError
from flyte.models import TaskContext

PAYLOAD = "payload"


def _attempt_dirs(root: Path) -> list[tuple[int, Path]]:
    if not root.is_dir():
        return []
    found = [(int(p.name), p) for p in root.iterdir() if p.is_dir() and p.name.isdigit()]
    return sorted(found)


class Checkpoint:
    """The checkpoint of the running action attempt. Get it with ``Checkpoint.current()``."""

    def __init__(self, tctx: TaskContext):
        self._tctx = tctx
        run_dir = Path(tctx.run_base_dir)
        self._root = run_dir / tctx.action.name / "checkpoints"
        self._attempt = tctx.attempt_number
        self._source_root = self._recovered_root(run_dir, tctx)

    @staticmethod
    def _recovered_root(run_dir: Path, tctx: TaskContext) -> Path | None:
        """The same action's checkpoints in the run this one recovers, if any."""
        if not (flyte_home() / "runs.db").exists():  # persistence is off: nothing to recover from
            return None
        record = open_store(flyte_home()).get_run(tctx.action.run_name or "")
        if record is None or not record.source_run:
            return None
        return run_dir.parent / record.source_run / tctx.action.name / "checkpoints"

    @classmethod
    def current(cls) -> Checkpoint:
        tctx = ctx()
        if tctx is None:
            raise NotInTaskContextError("NotInTask", "Checkpoints exist only inside a running task")
        return cls(tctx)

    @property
    def path(self) -> Path:
        """Where this attempt's checkpoint is (or will be) stored."""
        return self._root / str(self._attempt)

    def previous(self) -> Path | None:
        """The directory of the latest checkpoint saved before this attempt, or None."""
        earlier = [p for n, p in _attempt_dirs(self._root) if n < self._attempt]
        if earlier:
            return earlier[-1]
        if self._source_root is not None:
            saved = _attempt_dirs(self._source_root)
            if saved:
                return saved[-1][1]
        return None

    def prev_exists(self) -> bool:
        return self.previous() is not None

    def load(self) -> Path | None:
        """The previous checkpoint's payload: the saved file, or the saved directory; None if none."""
        prev = self.previous()
        if prev is None:
            return None
        payload = prev / PAYLOAD
        return payload if payload.is_file() else prev

    def read_bytes(self) -> bytes | None:
        """The previous checkpoint's bytes, when it was saved from bytes or a single file."""
        payload = self.load()
        return payload.read_bytes() if payload is not None and payload.is_file() else None

    def save(self, data: bytes | str | Path) -> Path:
        """Save bytes, a file or a directory as this attempt's checkpoint (replacing an earlier save)."""
        self._root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self._attempt}-", dir=self._root))
        try:
            if isinstance(data, bytes):
                (staging / PAYLOAD).write_bytes(data)
            else:
                source = Path(data)
                if source.is_dir():
                    shutil.copytree(source, staging, dirs_exist_ok=True)
                elif source.is_file():
                    shutil.copy2(source, staging / PAYLOAD)
                else:
                    raise FileNotFoundError(f"Checkpoint.save: '{source}' does not exist")
            if self.path.exists():
                shutil.rmtree(self.path)
            staging.rename(self.path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.path


def latest_checkpoint() -> Path | None:
    """Inside a task: the previous attempt's checkpoint payload (see ``Checkpoint.load``), or None."""
    return Checkpoint.current().load()
