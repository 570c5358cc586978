"""Notifications sent by the control plane: when an action or a run of the server ends.

A scheduler listener (see ``Scheduler.listeners``) looks at every committed change: for each
action that just ended, the notifications of its task (``TaskRef.notifications``) and, for a
root action, the run's (``TaskRef.run_notifications``) that name the phase it ended in are sent
in the background, at most ``CONCURRENT`` at once, with the retries of ``flyte.notify._sender``.
Nothing here can delay the scheduler or change an outcome: a failed delivery is logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from flyte.models import ActionPhase
from flyte.notify._render import PhaseEvent
from flyte.notify._sender import deliver_all
from flyte.notify._spec import from_wire

if TYPE_CHECKING:
    from flyte.server.settings import ServerSettings
    from flyte.server.state import ActiveAction, Changes

CONCURRENT = 8
"""Deliveries in flight at once; more wait their turn (in memory)."""

logger = logging.getLogger("flyte.server")


def _wanted(a: ActiveAction) -> tuple[Any, ...]:
    extra = a.task.model_extra or {}
    raw = list(extra.get("notifications") or ())
    if a.name == "a0":
        raw += list(extra.get("run_notifications") or ())
    if not raw:
        return ()
    return tuple(n for n in from_wire(raw) if a.phase in getattr(n, "phases", (a.phase,)))


class ServerNotifier:
    """Sends the notifications of the server's runs; ``listen`` is the scheduler listener."""

    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self._jobs: set[asyncio.Task[Any]] = set()
        self._slots: asyncio.Semaphore | None = None

    def _base(self) -> str:
        return self.settings.endpoint  # the public URL when configured

    def listen(self, ch: Changes) -> None:
        for a in ch.finished:
            if not (a.task.model_extra or {}).get("notifications") and a.name != "a0":
                continue  # the common case: one dict lookup per finished action
            wanted = _wanted(a)
            if wanted:
                self._start(wanted, self._event(a))

    def _event(self, a: ActiveAction) -> PhaseEvent:
        extra = a.task.model_extra or {}
        error = ""
        if a.phase is not ActionPhase.SUCCEEDED and (a.error_type or a.error_message):
            error = f"{a.error_type}: {a.error_message}" if a.error_type else str(a.error_message)
        return PhaseEvent(
            run_name=a.run, action_name=a.name, task_name=a.task.name, phase=a.phase, error=error,
            started_at=a.started_at or a.created_at, ended_at=a.ended_at, url=f"{self._base()}/runs/{a.run}",
            project=str(extra.get("project") or ""), domain=str(extra.get("domain") or ""),
        )  # fmt: skip

    def _start(self, notifications: tuple[Any, ...], event: PhaseEvent) -> None:
        job = asyncio.ensure_future(self._send(notifications, event))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _send(self, notifications: tuple[Any, ...], event: PhaseEvent) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(CONCURRENT)
        async with self._slots:
            try:
                for d in await deliver_all(notifications, event):
                    if not d.sent:
                        logger.warning(
                            "flyte server: %s notification of run %s (%s) not delivered: %s",
                            d.kind, event.run_name, d.phase, d.detail,
                        )  # fmt: skip
            except Exception:  # never let a delivery bug escape into the event loop
                logger.exception("flyte server: sending notifications of run %s failed", event.run_name)

    async def stop(self, grace: float = 10.0) -> None:
        """Let deliveries in flight finish (for at most ``grace`` seconds), then cancel the rest."""
        if not self._jobs:
            return
        _, pending = await asyncio.wait(list(self._jobs), timeout=grace)
        for job in pending:
            job.cancel()
