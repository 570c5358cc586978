"""Cache and recovery lookups, decided by the server when an action is created.

The cache key follows the local ``TaskCache``: SHA-256 over the task name, the cache version the
client computed (``TaskRef.cache.version``) and the encoded inputs, without ``ignored_inputs``.
Entries live in the run store's ``cache`` table. Recovery replays an action of the run being
recovered when it succeeded there with the same task and the same inputs.
"""

from __future__ import annotations

import hashlib
import time

import msgpack

from flyte._cache import cache_key_inputs
from flyte._internal.store import RunStore
from flyte._internal.store.sqlite import CACHE_UPSERT
from flyte.server.models import TaskRef
from flyte.server.writer import Statement

_DISABLED = ("disable", "disabled", "off", "none", "false")


def _without(inputs: bytes, ignored: list[str]) -> bytes:
    """The encoded inputs minus the ``ignored`` names (the values themselves stay as encoded)."""
    try:
        values = msgpack.unpackb(inputs, raw=False, strict_map_key=False)
    except Exception:
        return inputs
    if not isinstance(values, dict):
        return inputs
    kept = {k: v for k, v in values.items() if k not in ignored}
    return msgpack.packb(kept, use_bin_type=True)


def cache_key(task: TaskRef, inputs: bytes) -> str | None:
    """The cache key of a call, or None when the task is not cached."""
    spec = task.cache
    if spec is None or spec.behavior.lower() in _DISABLED or not spec.version:
        return None
    if spec.ignored_inputs:
        inputs = _without(inputs, spec.ignored_inputs)
    h = hashlib.sha256()
    h.update(task.name.encode())
    h.update(b"\0")
    h.update(spec.version.encode())
    h.update(b"\0")
    h.update(cache_key_inputs(inputs))
    return h.hexdigest()


def cached_outputs(store: RunStore, key: str) -> bytes | None:
    rows = store.execute_read("SELECT outputs, outputs_ref FROM cache WHERE key = ?", (key,))
    if not rows:
        return None
    return store.load(_bytes(rows[0][0]), rows[0][1])


def cache_put(
    key: str, task: TaskRef, outputs: tuple[bytes | None, str | None], run: str, action: str
) -> Statement:
    version = task.cache.version if task.cache else ""
    return CACHE_UPSERT, (key, task.name, version, outputs[0], outputs[1], time.time(), run, action)


def recovered_outputs(
    store: RunStore, source_run: str, name: str, task_name: str, inputs: bytes
) -> bytes | None:
    """The outputs ``name`` produced in ``source_run`` if it succeeded with this task and these inputs."""
    rows = store.execute_read(
        "SELECT task_name, inputs, inputs_ref, outputs, outputs_ref FROM actions"
        " WHERE run_name = ? AND name = ? AND phase = 'succeeded'",
        (source_run, name),
    )
    if not rows:
        return None
    recorded_task, inline, ref, outputs, outputs_ref = rows[0]
    if recorded_task != task_name or store.load(_bytes(inline), ref) != inputs:
        return None
    return store.load(_bytes(outputs), outputs_ref)


def _bytes(value: object) -> bytes | None:
    """Row bytes as ``bytes`` (PostgreSQL drivers may hand out memoryviews)."""
    if value is None or isinstance(value, bytes):
        return value
    return bytes(value)  # type: ignore[call-overload]
