"""Which store to use right now, and how paths and URIs map to local files."""

from __future__ import annotations

import os
import re
from pathlib import Path

from flyte.storage._store import LocalBlobStore

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def protocol_of(path: str | os.PathLike[str]) -> str:
    """The URI scheme of ``path`` (``"s3"``, ``"file"``...), ``"file"`` for plain paths."""
    match = _SCHEME.match(str(path))
    return match.group(1).lower() if match else "file"


def is_remote(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an object in a remote store rather than a local file."""
    return protocol_of(path) != "file"


def to_local_path(path: str | os.PathLike[str]) -> Path:
    """The local filesystem path for a plain path or a ``file://`` URI.

    Remote URIs (``s3://``, ``gs://``...) raise :class:`NotImplementedError`: this engine keeps
    data on the local filesystem only.
    """
    text = os.fspath(path)
    proto = protocol_of(text)
    if proto != "file":
        raise NotImplementedError(
            f"cannot access {text!r}: the {proto}:// protocol is not supported, only local paths"
        )
    if text.lower().startswith("file://"):
        text = text[len("file://") :]
    return Path(text).expanduser()


def default_store() -> LocalBlobStore:
    """The store for new data: inside a task the run's raw data directory, outside of any task
    ``<FLYTE_HOME>/data``."""
    from flyte._context import ctx

    tctx = ctx()
    if tctx is not None and tctx.raw_data_path is not None and tctx.raw_data_path.path:
        return LocalBlobStore(to_local_path(tctx.raw_data_path.path))
    from flyte._internal.run_config import flyte_home

    return LocalBlobStore(flyte_home() / "data")
