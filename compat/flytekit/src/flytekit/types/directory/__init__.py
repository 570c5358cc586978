"""``FlyteDirectory``: a directory passed between tasks, on top of ``flyte.io.Dir``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flyte.io import Dir
from flytekit.types._refs import RefConverter, RefMixin


class FlyteDirectory(RefMixin, Dir):  # type: ignore[misc]
    """``FlyteDirectory(path)``: returned from a task, the local directory is copied into the blob
    store; received, ``os.fspath(d)`` / ``d.download()`` is a local directory."""

    def __init__(
        self, path: str | os.PathLike[str], downloader: Any = None, remote_directory: Any = None
    ) -> None:
        Dir.__init__(self, path=os.fspath(path), format=self.extension)
        self._fk_remote = remote_directory if isinstance(remote_directory, str) else None
        self._fk_stored = False
        self._fk_local: str | None = None

    @classmethod
    def _init_ref(cls, obj: Any, path: str) -> None:
        Dir.__init__(obj, path=path)
        obj._fk_remote = None
        obj._fk_local = None

    def _stored_path(self) -> str:
        stored: Any = Dir.from_local_sync(self.path, remote_destination=self._fk_remote)
        self.hash = stored.hash
        return str(stored.path)

    def listdir(self) -> list[str]:
        return sorted(str(p) for p in Path(self.download()).iterdir())

    @classmethod
    def new_remote(cls, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        ref: Any = Dir.new_remote(*args, **kwargs)
        return cls._from_wire(ref._to_wire())


def _register() -> None:
    from flyte.types import TypeEngine

    TypeEngine.register(RefConverter(FlyteDirectory, Dir), first=True)


_register()

TensorboardLogs: Any = FlyteDirectory.__class_getitem__("tensorboard")
TFRecordsDirectory: Any = FlyteDirectory.__class_getitem__("tfrecord")

__all__ = ["FlyteDirectory", "TFRecordsDirectory", "TensorboardLogs"]
