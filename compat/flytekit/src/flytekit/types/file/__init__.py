"""``FlyteFile``: a file passed between tasks, on top of ``flyte.io.File``."""

from __future__ import annotations

import os
import typing
from contextlib import contextmanager
from typing import Any

from flyte.io import File
from flytekit.types._refs import RefConverter, RefMixin


class FlyteFile(RefMixin, File):  # type: ignore[misc]
    """``FlyteFile(path)``: returned from a task, the local file is copied into the blob store;
    received by a task, ``os.fspath(f)``, ``open(f)`` or ``f.download()`` give a local path.
    ``FlyteFile["csv"]`` (or ``FlyteFile[typing.TypeVar("csv")]``) records the format."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        downloader: Any = None,
        remote_path: Any = None,
        metadata: Any = None,
    ) -> None:
        File.__init__(self, path=os.fspath(path), format=self.extension)
        self._fk_remote_path = remote_path if isinstance(remote_path, str) else None
        self._fk_stored = False
        self._fk_local: str | None = None

    @classmethod
    def _init_ref(cls, obj: Any, path: str) -> None:
        File.__init__(obj, path=path)
        obj._fk_remote_path = None
        obj._fk_local = None

    def _stored_path(self) -> str:
        stored: Any = File.from_local_sync(self.path, remote_destination=self._fk_remote_path)
        if not self._hash_pinned:
            self.hash = stored.hash
        self.name = stored.name
        return stored.path

    @contextmanager
    def open(self, mode: str = "rb", **kwargs: Any) -> typing.Iterator[typing.IO[Any]]:  # type: ignore[override]
        """A plain (blocking) file object, as flytekit's ``FlyteFile.open`` gives."""
        with File.open_sync(self, mode, **kwargs) as fh:
            yield fh

    @classmethod
    def new_remote_file(cls, name: str | None = None, alt: str | None = None) -> FlyteFile:
        ref: Any = File.new_remote(name)
        obj = cls._from_wire(ref._to_wire())
        return obj  # type: ignore[no-any-return]

    @classmethod
    def from_source(cls, source: str | os.PathLike[str]) -> FlyteFile:
        obj = cls._from_wire({"path": os.fspath(source), "name": None, "format": cls.extension, "hash": None})
        return obj  # type: ignore[no-any-return]


def _register() -> None:
    from flyte.types import TypeEngine

    TypeEngine.register(RefConverter(FlyteFile, File), first=True)


_register()

HTMLPage: Any = FlyteFile.__class_getitem__("html")
JPEGImageFile: Any = FlyteFile.__class_getitem__("jpeg")
PNGImageFile: Any = FlyteFile.__class_getitem__("png")
PDFFile: Any = FlyteFile.__class_getitem__("pdf")
CSVFile: Any = FlyteFile.__class_getitem__("csv")
PythonNotebook: Any = FlyteFile.__class_getitem__("ipynb")

__all__ = ["CSVFile", "FlyteFile", "HTMLPage", "JPEGImageFile", "PDFFile", "PNGImageFile", "PythonNotebook"]
