"""Group commit for the server: state changes become durable in order, many per transaction.

The scheduler changes its in-memory state on the event loop and hands the matching SQL to
:meth:`DurableWriter.write`, which returns once that SQL is committed. One thread applies
everything pending in a single transaction, so writes never block the event loop, keep the
order in which they were made, and a burst of reports costs one commit instead of hundreds.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from flyte._internal.store import RunStore

logger = logging.getLogger("flyte.server")

Statement = tuple[str, Sequence[Any]]
MAX_BATCH = 512


def apply(conn: Any, statements: Sequence[Statement]) -> None:
    for sql, args in statements:
        conn.execute(sql, args)


class DurableWriter:
    """Applies lists of ``(sql, args)`` in submission order from one thread."""

    def __init__(self, store: RunStore):
        self.store = store
        self._queue: queue.SimpleQueue[tuple[Callable[[Any], None], asyncio.Future[None]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="flyte-server-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    async def write(self, statements: Sequence[Statement]) -> None:
        """Return once ``statements`` are committed (raises what the database raised)."""
        if statements:
            await self.call(lambda conn: apply(conn, statements))

    async def call(self, fn: Callable[[Any], None]) -> None:
        """Run ``fn(connection)`` inside a write transaction; return once it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((fn, future))
        await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._commit(batch)

    def _commit(self, batch: list[tuple[Callable[[Any], None], asyncio.Future[None]]]) -> None:
        try:

            def apply_all(conn: Any) -> None:
                for fn, _ in batch:
                    fn(conn)

            self.store.execute_write(apply_all)
            outcomes: list[BaseException | None] = [None] * len(batch)
        except Exception as e:
            if len(batch) == 1:
                outcomes = [e]
            else:  # one bad change must not fail the others: apply them one by one
                outcomes = []
                for fn, _ in batch:
                    try:
                        self.store.execute_write(fn)
                        outcomes.append(None)
                    except Exception as single:
                        outcomes.append(single)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if outcome is not None:
                logger.error("flyte server: a state change could not be written: %s", outcome)
            try:
                future.get_loop().call_soon_threadsafe(_settle, future, outcome)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                pass


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
