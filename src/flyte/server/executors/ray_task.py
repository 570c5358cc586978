"""The body of the Ray tasks the Ray executor submits: one attempt of one action.

:func:`run_attempt` runs the assignment with the process worker's own
:class:`~flyte._bin.worker.AttemptRunner` (one attempt runner for every executor), which submits
child actions and ships logs over the executor API of the control plane, exactly as a worker
process does. The outcome does not go to the server from here: the Ray task hands back the report
of its attempt (the body of ``/api/v1/executor/report``, once the attempt's logs and traces are
sent) with the seconds the attempt ran, and the dispatcher sends the reports of many Ray tasks in
one request. The server records each attempt once, whoever reports it first (the dispatcher
also reports the attempts whose Ray task died).

:func:`run_attempts` runs several attempts of one quick task one after the other in one Ray task
(a generator task: the reports are handed back as the attempts end, a few milliseconds' worth
at a time), so that Ray's cost per task is paid once for all of them.

A Ray worker process runs one task at a time and keeps one runner (an API client, the bundle
cache, an event loop on a thread) for every attempt it runs later, so a warm Ray worker starts
an attempt at little cost.

Cancellation: ``ray.cancel`` raises ``KeyboardInterrupt`` in the task; the attempt is then
cancelled as the process worker cancels an aborted action (its children are cancelled, nothing is
reported) and the interrupt propagates, so that Ray records the task as cancelled. A sync task's
thread cannot be stopped, so the executor cancels those with ``force=True`` (the Ray worker
process is killed).

This module is imported in Ray worker processes; it imports neither Ray nor the server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flyte._bin.worker import AttemptRunner
from flyte._internal.run_guard import mark_action_executor
from flyte.remote._client import ApiClient

__all__ = ["AttemptActor", "Handed", "WorkerConfig", "run_attempt", "run_attempts"]

Handed = tuple[dict[str, Any] | None, float]
"""What a Ray task hands back per attempt: its report (None when aborted), and the seconds it ran."""

HAND_BACK_SECONDS = 0.005
"""How long the reports of a batch's ended attempts may wait to be handed back together."""
CANCEL_GRACE_SECONDS = 10.0
"""How long a cancelled attempt gets to cancel its children before the Ray task gives up on it."""


@dataclass(frozen=True)
class WorkerConfig:
    """How a Ray task reaches the control plane. Sent to Ray once (``ray.put``) as a task argument,
    not in a runtime environment, which Ray records in its job table."""

    endpoint: str
    worker_id: str
    """The dispatcher's worker name: the lease holder the attempts report under."""
    api_key: str | None = field(default=None, repr=False)
    home: str | None = None
    """FLYTE_HOME for the attempt runner (bundle cache, secrets); None: the Ray worker's own."""


class _ProcessRunner:
    """The attempt runner of this Ray worker process, on an event loop of its own thread."""

    def __init__(self, config: WorkerConfig):
        self._running: dict[tuple[str, str], tuple[threading.Event, Any]] = {}
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="flyte-attempts", daemon=True)
        self._thread.start()
        self.runner = asyncio.run_coroutine_threadsafe(self._make(config), self.loop).result()

    @staticmethod
    async def _make(config: WorkerConfig) -> AttemptRunner:
        client = ApiClient(config.endpoint, config.api_key, first_contact_for=30.0)
        home = Path(config.home) if config.home else None
        runner = AttemptRunner(client, config.worker_id, home, hand_back_reports=True)
        runner.start()
        return runner

    def run(self, assignment: dict[str, Any]) -> Handed:
        """Run the attempt to its end, or until interrupted or aborted; its report (None when
        aborted), for the dispatcher to send, and the seconds it ran."""
        started = time.perf_counter()
        aborted = threading.Event()
        finished = threading.Event()
        key = (assignment["run"], assignment["action"])

        async def attempt() -> dict[str, Any] | None:
            try:
                return await self.runner.run_assignment(assignment, aborted.is_set)
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(attempt(), self.loop)
        self._running[key] = (aborted, future)
        try:
            # a short wait in a loop: Ray's interrupt reaches this thread between two waits
            while not finished.wait(0.25):
                pass
        except BaseException:  # KeyboardInterrupt from ray.cancel
            self.abort(*key)
            finished.wait(CANCEL_GRACE_SECONDS)
            raise
        finally:
            if self._running.get(key, (None, None))[1] is future:
                del self._running[key]
        report = None if future.cancelled() else future.result()
        return report, time.perf_counter() - started

    def abort(self, run: str, action: str) -> None:
        """Cancel the attempt of ``run``/``action`` running here, without reporting it."""
        entry = self._running.get((run, action))
        if entry is not None:
            entry[0].set()
            entry[1].cancel()


_runners: dict[tuple[str, str, str | None], _ProcessRunner] = {}
_lock = threading.Lock()


def _runner_for(config: WorkerConfig) -> _ProcessRunner:
    key = (config.endpoint, config.worker_id, config.home)
    with _lock:
        found = _runners.get(key)
        if found is None:
            mark_action_executor()  # a bundle's module-level flyte.run must not submit runs from here
            if config.home:  # secrets and the bundle cache of the attempts are found under it
                os.environ["FLYTE_HOME"] = config.home
            for noisy in ("httpx", "httpcore"):
                logging.getLogger(noisy).setLevel(logging.WARNING)
            found = _runners[key] = _ProcessRunner(config)
        return found


class AttemptActor:
    """A warm replica of a reusable environment (``flyte.ReusePolicy``), as a Ray actor.

    It runs attempts with the same runner as :func:`run_attempt`, up to the policy's
    ``concurrency`` at once (a threaded actor with one more thread, kept free for :meth:`abort`:
    Ray cannot interrupt a running call of a threaded actor).
    """

    def __init__(self, config: WorkerConfig):
        self._config = config

    def run(self, assignment: dict[str, Any]) -> Handed:
        return run_attempt(self._config, assignment)

    def abort(self, run: str, action: str) -> None:
        _runner_for(self._config).abort(run, action)


def run_attempt(config: WorkerConfig, assignment: dict[str, Any]) -> Handed:
    """The Ray task: run one attempt of the assigned action; its report (the body of
    ``/api/v1/executor/report``, None when aborted) for the dispatcher to send, and the seconds
    it ran."""
    return _runner_for(config).run(assignment)


def run_attempts(config: WorkerConfig, assignments: list[dict[str, Any]]) -> Iterator[list[Handed]]:
    """The Ray task of a batch (a generator task): run the attempts one after the other, handing
    back their reports as they end: those of the attempts that ended within ``HAND_BACK_SECONDS``
    together (each item handed back costs Ray as much as a trivial attempt). Cancelled
    (``ray.cancel``), it stops where it is: the dispatcher runs the attempts it did not get back
    again."""
    runner = _runner_for(config)
    ended: list[Handed] = []
    since = time.perf_counter()
    for assignment in assignments:
        ended.append(runner.run(assignment))
        if time.perf_counter() - since >= HAND_BACK_SECONDS:
            yield ended
            ended, since = [], time.perf_counter()
    if ended:
        yield ended
