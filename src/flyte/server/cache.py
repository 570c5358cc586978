"""Cache and recovery lookups, decided by the server when an action is created.

The cache key is the action core's (rule 3 of ``flyte._internal.core``), as for the local
``TaskCache``: the task name, the cache version the client computed (``TaskRef.cache.version``)
and the encoded inputs as the cache sees them, without ``ignored_inputs``.
Entries live in the run store's ``cache`` table. Recovery replays an action of the run being
recovered when it succeeded there with the same task and the same inputs.
"""

from __future__ import annotations

import time

from flyte._internal.core import cache_key as core_cache_key
from flyte._internal.core import replays
from flyte._internal.store import RunStore
from flyte._internal.store.sqlite import CACHE_UPSERT
from flyte.server.models import TaskRef
from flyte.server.writer import Statement

_DISABLED = ("disable", "disabled", "off", "none", "false")


def cache_key(task: TaskRef, inputs: bytes) -> str | None:
    """The cache key of a call (``flyte._internal.core.cache_key``), or None when the task is not cached."""
    spec = task.cache
    if spec is None or spec.behavior.lower() in _DISABLED or not spec.version:
        return None
    return core_cache_key(task.name, spec.version, inputs, spec.ignored_inputs)


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
    if not replays(recorded_task, store.load(_bytes(inline), ref), task_name, inputs):
        return None
    return store.load(_bytes(outputs), outputs_ref)


def _bytes(value: object) -> bytes | None:
    """Row bytes as ``bytes`` (PostgreSQL drivers may hand out memoryviews)."""
    if value is None or isinstance(value, bytes):
        return value
    return bytes(value)  # type: ignore[call-overload]
