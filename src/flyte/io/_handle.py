"""File handles for File.open / File.open_sync on local storage."""

from __future__ import annotations

import asyncio
import bz2
import gzip
import lzma
from pathlib import Path
from typing import IO, Any

_COMPRESSORS = {"gzip": gzip.open, "gz": gzip.open, "bz2": bz2.open, "xz": lzma.open, "lzma": lzma.open}
_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".lzma": "lzma"}


def is_write_mode(mode: str) -> bool:
    return any(c in mode for c in "wax+")


def open_local(path: Path, mode: str = "rb", compression: str | None = None, **kwargs: Any) -> IO[Any]:
    """Open a local file; ``compression`` is None, ``"infer"`` (from the suffix), gzip, bz2 or xz."""
    if is_write_mode(mode):
        path.parent.mkdir(parents=True, exist_ok=True)
    if compression == "infer":
        compression = _SUFFIXES.get(path.suffix.lower())
    if compression:
        opener = _COMPRESSORS.get(compression.lower())
        if opener is None:
            raise ValueError(f"unsupported compression {compression!r}; use one of {sorted(_COMPRESSORS)}")
        if "b" not in mode and "t" not in mode:
            mode += "b"
        return opener(path, mode, **kwargs)  # type: ignore[operator]
    return open(path, mode, **kwargs)  # noqa: SIM115 -- returned to the caller


class AsyncFile:
    """An async view of an open file: ``read``, ``write`` and friends are awaited.

    The blocking calls run in a worker thread, so a large read does not stall the event loop.
    Other attributes (``name``, ``mode``, ``closed``...) are those of the underlying file.
    """

    def __init__(self, fh: IO[Any]) -> None:
        self._fh = fh

    @property
    def sync(self) -> IO[Any]:
        """The underlying blocking file object."""
        return self._fh

    async def read(self, size: int = -1) -> Any:
        return await asyncio.to_thread(self._fh.read, size)

    async def readline(self, size: int = -1) -> Any:
        return await asyncio.to_thread(self._fh.readline, size)

    async def readlines(self, hint: int = -1) -> list[Any]:
        return await asyncio.to_thread(self._fh.readlines, hint)

    async def write(self, data: Any) -> int:
        return await asyncio.to_thread(self._fh.write, data)

    async def writelines(self, lines: Any) -> None:
        await asyncio.to_thread(self._fh.writelines, list(lines))

    async def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    async def tell(self) -> int:
        return self._fh.tell()

    async def flush(self) -> None:
        self._fh.flush()

    async def close(self) -> None:
        self._fh.close()

    def __aiter__(self) -> AsyncFile:
        return self

    async def __anext__(self) -> Any:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line

    async def __aenter__(self) -> AsyncFile:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._fh, name)
