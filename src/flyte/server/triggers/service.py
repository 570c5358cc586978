"""The trigger service: fires the active triggers of deployed tasks, each tick once.

Every pass (a fraction of a second of wall time) reads the active triggers and, for each, the
last tick in ``(last fired, now]`` of its schedule in trigger time (:mod:`.clock`). A due tick is
claimed in the database first (:meth:`Registry.claim_fire`) and only the process whose claim
won starts the run, so two servers on one database never fire a tick twice.

Missed ticks (the server was down, or the pass came late) collapse into one: only the latest
due tick is fired, once, and the ticks before it are skipped. The run of a tick is named after the
trigger and the tick, labelled ``trigger=<name>`` and ``trigger_time=<ISO time>``, and its inputs
are the trigger's, with ``flyte.TriggerTime`` inputs set to the tick's scheduled time.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import msgpack

from flyte.errors import RuntimeSystemError
from flyte.server.errors import ApiError
from flyte.server.models import RunCreate, TaskRef
from flyte.server.triggers.clock import Clock
from flyte.server.triggers.models import TriggerSpec
from flyte.server.triggers.registry import Registry
from flyte.server.triggers.schedule import latest_tick
from flyte.types import TypeEngine

if TYPE_CHECKING:
    from flyte.server.submit import Submitter

logger = logging.getLogger("flyte.server.triggers")

MIN_POLL_SECONDS = 0.1
MAX_POLL_SECONDS = 1.0
POLL_TRIGGER_SECONDS = 10.0
"""A pass every this many seconds of trigger time (within the wall-time bounds above)."""


def fire_run_name(task_name: str, trigger_name: str, scheduled_at: float) -> str:
    """The run name of one tick: readable (trigger, UTC time) and the same in every server."""
    slug = re.sub(r"[^a-z0-9]+", "-", trigger_name.lower()).strip("-")[:24] or "trigger"
    stamp = datetime.fromtimestamp(scheduled_at, timezone.utc).strftime("%Y%m%d%H%M%S")
    digest = hashlib.blake2b(
        f"{task_name}|{trigger_name}|{scheduled_at!r}".encode(), digest_size=3
    ).hexdigest()
    return f"{slug}-{stamp}-{digest}"


def fire_inputs(trigger: TriggerSpec, scheduled_at: float) -> str:
    """The encoded inputs of a tick's run: the trigger's own, plus the scheduled time."""
    raw = base64.b64decode(trigger.inputs_b64 or "")
    values: dict[Any, Any] = msgpack.unpackb(raw, raw=False, strict_map_key=False) if raw else {}
    if trigger.trigger_time_inputs:
        when = datetime.fromtimestamp(scheduled_at, timezone.utc)
        names = trigger.trigger_time_inputs
        encoded = TypeEngine.encode_values(dict.fromkeys(names, when), dict.fromkeys(names, datetime))
        values.update(msgpack.unpackb(encoded, raw=False, strict_map_key=False))
    return base64.b64encode(msgpack.packb(values, use_bin_type=True)).decode() if values else ""


class TriggerService:
    """Fires triggers for one server process (``start``/``stop`` with the app; ``tick`` for tests)."""

    def __init__(self, registry: Registry, submitter: Submitter, clock: Clock):
        self.registry = registry
        self.submitter = submitter
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self.fired = 0

    @property
    def poll_seconds(self) -> float:
        return min(MAX_POLL_SECONDS, max(MIN_POLL_SECONDS, self.clock.real_seconds(POLL_TRIGGER_SECONDS)))

    async def start(self) -> None:
        if getattr(self.clock, "manual", False):  # a hand-moved clock: passes only when tick() is called
            return
        self._task = asyncio.create_task(self._loop(), name="flyte-triggers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except RuntimeSystemError as e:  # the database is away for a moment: next pass
                logger.warning("flyte server: triggers not checked: %s", e)
            except Exception:
                logger.exception("flyte server: the trigger pass failed")
            await asyncio.sleep(self.poll_seconds)

    async def tick(self) -> list[str]:
        """One pass: fire what is due; returns the names of the runs this process started."""
        rows = await asyncio.to_thread(self.registry.trigger_rows)
        now = self.clock.now()
        started = []
        for task_name, name, version, spec, anchor, last in rows:
            trigger = TriggerSpec.model_validate_json(spec)
            due = latest_tick(trigger.automation, anchor if last is None else last, now, anchor)
            if due is None:
                continue
            run_name = fire_run_name(task_name, name, due)
            if not await asyncio.to_thread(self.registry.claim_fire, task_name, name, due, run_name):
                continue
            if await self._fire(task_name, version, trigger, due, run_name):
                started.append(run_name)
        return started

    async def _fire(
        self, task_name: str, version: str, trigger: TriggerSpec, due: float, run_name: str
    ) -> bool:
        deployed = await asyncio.to_thread(self.registry.get, task_name, version)
        if deployed is None:
            logger.error(
                "flyte server: trigger '%s' names task '%s' version '%s', which is gone",
                trigger.name,
                task_name,
                version,
            )
            return False
        when = datetime.fromtimestamp(due, timezone.utc).isoformat()
        request = RunCreate(
            name=run_name,
            task=_with_run_notifications(deployed.spec.task, trigger),
            inputs_b64=fire_inputs(trigger, due),
            env_vars=dict(trigger.env_vars),
            custom_context=dict(trigger.custom_context),
            overwrite_cache=trigger.overwrite_cache,
            max_action_concurrency=trigger.max_action_concurrency,
            labels={**trigger.labels, "trigger": trigger.name, "trigger_time": when, "task_version": version},
        )
        try:
            await self.submitter.create_run(request)
        except ApiError as e:  # e.g. the run exists: another server got there between claim and create
            logger.warning(
                "flyte server: trigger '%s' of '%s' at %s: %s", trigger.name, task_name, when, e.detail
            )
            return False
        self.fired += 1
        logger.info(
            "flyte server: trigger '%s' of '%s' fired for %s: run %s", trigger.name, task_name, when, run_name
        )
        return True


def _with_run_notifications(task: TaskRef, trigger: TriggerSpec) -> TaskRef:
    """The deployed task's ref, carrying the trigger's notifications for the run it starts."""
    if not trigger.notifications:
        return task
    return TaskRef.model_validate({**task.model_dump(), "run_notifications": trigger.notifications})
