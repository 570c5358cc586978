"""File handles for File.open / File.open_sync, on local files and object storage alike."""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Any

_COMPRESSORS = {"gzip": gzip.open, "gz": gzip.open, "bz2": bz2.open, "xz": lzma.open, "lzma": lzma.open}
_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".lzma": "lzma"}


def is_write_mode(mode: str) -> bool:
    return any(c in mode for c in "wax+")


def _compressor(compression: str | None, suffix: str) -> Any:
    if compression == "infer":
        compression = _SUFFIXES.get(suffix.lower())
    if not compression:
        return None
    opener = _COMPRESSORS.get(compression.lower())
    if opener is None:
        raise ValueError(f"unsupported compression {compression!r}; use one of {sorted(_COMPRESSORS)}")
    return opener


def open_local(path: Path, mode: str = "rb", compression: str | None = None, **kwargs: Any) -> IO[Any]:
    """Open a local file; ``compression`` is None, ``"infer"`` (from the suffix), gzip, bz2 or xz."""
    if is_write_mode(mode):
        path.parent.mkdir(parents=True, exist_ok=True)
    opener = _compressor(compression, path.suffix)
    if opener is not None:
        if "b" not in mode and "t" not in mode:
            mode += "b"
        return opener(path, mode, **kwargs)  # type: ignore[no-any-return]
    return open(path, mode, **kwargs)  # noqa: SIM115 -- returned to the caller


def open_remote(
    url: str, mode: str = "rb", compression: str | None = None, **kwargs: Any
) -> tuple[IO[Any], IO[bytes]]:
    """Open an object-store URL like :func:`open_local` opens a file (read or write, not both).

    Returns the handle and the binary object file under it: compressors do not close the file
    they wrap, and a written object only appears once its file is closed, so close both.
    """
    import io

    from flyte.storage._default import locate

    if "+" in mode or "a" in mode:
        raise ValueError(f"{url}: objects in object storage are read or written whole, not opened {mode!r}")
    store, key = locate(url)
    binary = store.open(key, "wb" if is_write_mode(mode) else "rb")
    opener = _compressor(compression, Path(key).suffix)
    if opener is not None:
        if "b" not in mode and "t" not in mode:
            mode += "b"
        return opener(binary, mode, **kwargs), binary
    if "b" in mode:
        return binary, binary
    return io.TextIOWrapper(binary, **kwargs), binary  # type: ignore[type-var]


class _Ready:
    """Mixin: a finished result that may also be awaited (``await x`` gives the plain value)."""

    __slots__ = ()
    _plain: type

    def __await__(self) -> Generator[Any, None, Any]:
        return self._plain(self)
        yield  # pragma: no cover -- makes this a generator


class _ReadyBytes(_Ready, bytes):
    __slots__ = ()
    _plain = bytes


class _ReadyStr(_Ready, str):
    __slots__ = ()
    _plain = str


class _ReadyInt(_Ready, int):
    __slots__ = ()
    _plain = int


class _ReadyList(_Ready, list):  # type: ignore[misc]
    _plain = list


class _ReadyNone:
    """What ``flush()``/``close()`` return: ignorable, or awaitable to ``None``."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return None
        yield  # pragma: no cover

    def __bool__(self) -> bool:
        return False


def _ready(value: Any) -> Any:
    if isinstance(value, bytes):
        return _ReadyBytes(value)
    if isinstance(value, str):
        return _ReadyStr(value)
    if isinstance(value, bool) or value is None:
        return _ReadyNone() if value is None else value
    if isinstance(value, int):
        return _ReadyInt(value)
    if isinstance(value, list):
        return _ReadyList(value)
    return value


class AsyncFile:
    """The handle ``File.open`` yields: each call works awaited *or* plain.

    Reference programs use both styles on the same handle (``data = await fh.read()`` and, since
    a local file is not async there, ``data = fh.read()``; ``for line in fh``). Local reads and
    writes are fast, so each call runs at once and returns a value that can also be awaited.
    Other attributes (``name``, ``mode``, ``closed``...) are those of the underlying file.
    """

    def __init__(self, fh: IO[Any]) -> None:
        self._fh = fh

    @property
    def sync(self) -> IO[Any]:
        """The underlying blocking file object."""
        return self._fh

    def read(self, size: int = -1) -> Any:
        return _ready(self._fh.read(size))

    def readline(self, size: int = -1) -> Any:
        return _ready(self._fh.readline(size))

    def readlines(self, hint: int = -1) -> Any:
        return _ReadyList(self._fh.readlines(hint))

    def write(self, data: Any) -> Any:
        return _ready(self._fh.write(data))

    def writelines(self, lines: Any) -> Any:
        self._fh.writelines(list(lines))
        return _ReadyNone()

    def seek(self, offset: int, whence: int = 0) -> Any:
        return _ready(self._fh.seek(offset, whence))

    def tell(self) -> Any:
        return _ready(self._fh.tell())

    def flush(self) -> Any:
        self._fh.flush()
        return _ReadyNone()

    def close(self) -> Any:
        self._fh.close()
        return _ReadyNone()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fh)

    def __next__(self) -> Any:
        return next(self._fh)

    def __aiter__(self) -> AsyncFile:
        return self

    async def __anext__(self) -> Any:
        line = self._fh.readline()
        if not line:
            raise StopAsyncIteration
        return line

    def __enter__(self) -> AsyncFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._fh.close()

    async def __aenter__(self) -> AsyncFile:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._fh.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._fh, name)
