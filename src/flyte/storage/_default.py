"""Which store to use right now, and how paths and URLs map to stores.

The scheme of a URL picks the backend: plain paths and ``file://`` are a
:class:`~flyte.storage.LocalBlobStore`, ``s3://`` an :class:`~flyte.storage.ObjectBlobStore`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from flyte.storage._store import BlobStore, LocalBlobStore

if TYPE_CHECKING:
    from flyte.storage._object import ObjectBlobStore

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def protocol_of(path: str | os.PathLike[str]) -> str:
    """The URI scheme of ``path`` (``"s3"``, ``"file"``...), ``"file"`` for plain paths."""
    match = _SCHEME.match(str(path))
    return match.group(1).lower() if match else "file"


def is_remote(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an object in a remote store rather than a local file."""
    return protocol_of(path) != "file"


def _check_supported(text: str) -> None:
    from flyte.storage._object import OBJECT_SCHEMES

    proto = protocol_of(text)
    if proto != "file" and proto not in OBJECT_SCHEMES:
        raise NotImplementedError(
            f"cannot access {text!r}: the {proto}:// protocol is not supported; "
            f"use a local path or one of {', '.join(f'{s}://' for s in sorted(OBJECT_SCHEMES))}"
        )


def to_local_path(path: str | os.PathLike[str]) -> Path:
    """The local filesystem path for a plain path or a ``file://`` URI.

    Object-store URLs have no local path: they raise :class:`NotImplementedError`
    (callers that handle them check :func:`is_remote` first and use :func:`locate`).
    """
    text = os.fspath(path)
    proto = protocol_of(text)
    if proto != "file":
        _check_supported(text)
        raise NotImplementedError(f"{text!r} is in object storage and has no local path; download it first")
    if text.lower().startswith("file://"):
        text = text[len("file://") :]
    return Path(text).expanduser()


def store_for_url(url: str | os.PathLike[str]) -> BlobStore:
    """The store rooted at ``url``: a local directory or an object-store prefix."""
    text = os.fspath(url)
    if not is_remote(text):
        return LocalBlobStore(to_local_path(text))
    _check_supported(text)
    from flyte.storage._object import ObjectBlobStore

    return ObjectBlobStore(text)


def locate(url: str) -> tuple[ObjectBlobStore, str]:
    """For an object-store URL, the bucket's store and the object's key in it.

    The key is validated like every storage key: ``..`` segments and the like are refused.
    """
    _check_supported(url)
    from flyte.storage._object import ObjectBlobStore, split_url

    scheme, bucket, key = split_url(url)
    if not key:
        raise ValueError(f"{url!r} names a bucket, not an object in it")
    return ObjectBlobStore(f"{scheme}://{bucket}"), key


def default_store() -> BlobStore:
    """The store for new data: inside a task the run's raw data path (a directory or an
    ``s3://`` prefix), outside of any task ``<FLYTE_HOME>/data``."""
    from flyte._context import ctx

    tctx = ctx()
    if tctx is not None and tctx.raw_data_path is not None and tctx.raw_data_path.path:
        return store_for_url(tctx.raw_data_path.path)
    from flyte._internal.run_config import flyte_home

    return LocalBlobStore(flyte_home() / "data")
