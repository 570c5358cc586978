"""Rule 3: the one cache key, computed from the encoded inputs by the local cache and the server."""

from __future__ import annotations

import hashlib
from collections.abc import Collection

import msgpack

from flyte._cache import cache_key_inputs


def without_inputs(inputs: bytes, ignored: Collection[str]) -> bytes:
    """The encoded inputs minus the ``ignored`` names; the other values stay as encoded.

    Inputs are one msgpack map (``TypeEngine.encode_values``), so dropping its keys gives the
    bytes that encoding only the kept values would give.
    """
    if not ignored:
        return inputs
    try:
        values = msgpack.unpackb(inputs, raw=False, strict_map_key=False)
    except Exception:  # not ours to judge here: key on the bytes as they are
        return inputs
    if not isinstance(values, dict):
        return inputs
    kept = {k: v for k, v in values.items() if k not in ignored}
    return msgpack.packb(kept, use_bin_type=True)


def cache_key(task_name: str, version: str, inputs: bytes, ignored: Collection[str] = ()) -> str:
    """SHA-256 over the task name, its cache version and the inputs as the cache sees them."""
    h = hashlib.sha256()
    h.update(task_name.encode())
    h.update(b"\0")
    h.update(version.encode())
    h.update(b"\0")
    h.update(cache_key_inputs(without_inputs(inputs, ignored)))
    return h.hexdigest()
