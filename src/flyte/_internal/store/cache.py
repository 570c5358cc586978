"""The local task cache: keys from task, version and inputs; entries in the run store.

``serialize=True`` makes concurrent identical calls execute once: inside a process they wait on
one asyncio lock per key; across processes on a lock row in the store (its owner is checked for
liveness, so a crashed holder never blocks others for good).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from flyte._cache import VersionParameters
from flyte._internal.core.cache import cache_key
from flyte._internal.store.dialects import Connection
from flyte._internal.store.liveness import owner_alive, this_process_owner
from flyte._internal.store.sqlite import CACHE_UPSERT, RunStore

if TYPE_CHECKING:
    from flyte._task import TaskTemplate

LOCK_POLL_SECONDS = 0.05
MEMO_ENTRIES = 50_000

# Entries this process has read or written, per store. Valid while the store's cache generation
# (bumped by every clear) is unchanged; checked once per run, when a TaskCache is made.
_memos: dict[str, tuple[int, dict[str, bytes]]] = {}


class TaskCache:
    """Cache lookups and writes for one run. Writes go out with the store's group commit, except
    under ``serialize=True`` where other processes wait on them."""

    def __init__(self, store: RunStore):
        self.store = store
        self._versions: weakref.WeakKeyDictionary[TaskTemplate, str] = weakref.WeakKeyDictionary()
        self._local_locks: dict[str, asyncio.Lock] = {}
        generation = self._generation()
        memo = _memos.get(store.identity)
        if memo is None or memo[0] != generation:
            memo = _memos[store.identity] = (generation, {})
        self._memo = memo[1]

    def _generation(self) -> int:
        rows = self.store.execute_read("SELECT generation FROM cache_meta WHERE id = 0")
        return rows[0][0] if rows else 0

    def _remember(self, key: str, outputs: bytes) -> None:
        if len(self._memo) >= MEMO_ENTRIES:
            self._memo.clear()
        self._memo[key] = outputs

    def version(self, task: TaskTemplate) -> str:
        version = self._versions.get(task)
        if version is None:
            version = task.cache.get_version(VersionParameters(func=task.func, image=task.image))
            self._versions[task] = version
        return version

    def key(self, task: TaskTemplate, encoded: bytes) -> str:
        """The call's cache key (``flyte._internal.core.cache_key``, the server's too)."""
        return cache_key(task.name, self.version(task), encoded, task.cache.get_ignored_inputs())

    def get(self, key: str) -> bytes | None:
        found = self._memo.get(key)
        if found is not None:
            return found
        rows = self.store.execute_read("SELECT outputs, outputs_ref FROM cache WHERE key = ?", (key,))
        if not rows:
            return None
        outputs = self.store.load(rows[0][0], rows[0][1])
        if outputs is not None:
            self._remember(key, outputs)
        return outputs

    def put(
        self, key: str, task: TaskTemplate, outputs: bytes, run_name: str, action: str, durable: bool
    ) -> None:
        """Record an entry: at once when ``durable`` (others wait on it), else with the next group commit."""
        self._remember(key, outputs)
        inline, ref = self.store.offload(outputs)
        row = (key, task.name, self.version(task), inline, ref, time.time(), run_name, action)
        if not durable:
            self.store.add_cache_row(row)
            return
        self.store.execute_write(lambda c: c.execute(CACHE_UPSERT, row))

    def clear(self) -> int:
        count: list[int] = []

        def delete(conn: Connection) -> None:
            count.append(conn.execute("DELETE FROM cache").rowcount)
            conn.execute("DELETE FROM cache_locks")
            conn.execute("UPDATE cache_meta SET generation = generation + 1 WHERE id = 0")

        self.store.flush()  # pending entries first, so that they are cleared too
        self.store.execute_write(delete)
        self._memo.clear()
        _memos.pop(self.store.identity, None)
        return count[0]

    @asynccontextmanager
    async def serialized(self, key: str) -> AsyncIterator[None]:
        """Hold the key's lock, in this process and across processes, for the block."""
        lock = self._local_locks.setdefault(key, asyncio.Lock())
        async with lock:
            while not self._try_lock(key):
                await asyncio.sleep(LOCK_POLL_SECONDS)
            try:
                yield
            finally:
                self._unlock(key)
                if not lock._waiters:  # type: ignore[attr-defined]
                    self._local_locks.pop(key, None)

    def _try_lock(self, key: str) -> bool:
        me = this_process_owner()
        got: list[bool] = []

        def attempt(conn: Connection) -> None:
            row = conn.execute("SELECT owner FROM cache_locks WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] != me and owner_alive(row[0]):
                got.append(False)
                return
            conn.execute(
                "INSERT INTO cache_locks (key, owner, acquired_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at",
                (key, me, time.time()),
            )
            got.append(True)

        self.store.execute_write(attempt)
        return got[0]

    def _unlock(self, key: str) -> None:
        me = this_process_owner()
        self.store.execute_write(
            lambda c: c.execute("DELETE FROM cache_locks WHERE key = ? AND owner = ?", (key, me))
        )
