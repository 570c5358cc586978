"""``/api/v1/conditions``: the conditions runs wait for (``flyte.new_condition``), and their answers.

A worker creates a condition for the action it runs (``POST``) and long-polls it (``GET
.../wait``); people and programs list, read and answer it (``GET``, ``POST .../signal``, also
``flyte signal condition`` and ``flyte.remote.Condition``). The rows are the run store's
``conditions`` and ``actions`` (``flyte._internal.conditions`` decides every change, as for
local runs). The server adds three things:

- the ``webhook`` of a new condition is POSTed in the background, with ``{callback_uri}`` set to
  this condition's ``.../signal`` URL;
- a waiter is woken as soon as the condition is answered, and a condition past its timeout is
  ended ``timed_out`` when it is next read or waited for;
- when a run ends, its conditions still waiting end ``aborted`` (a scheduler listener).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any, Literal, Union

from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from flyte._internal import conditions as cstore
from flyte._internal.conditions import ConditionRecord
from flyte.errors import RuntimeDataValidationError
from flyte.models import ActionPhase
from flyte.server.errors import BadRequest, Conflict, NotFound
from flyte.server.feed import phase_event
from flyte.server.models import ACTION_NAME, ApiModel
from flyte.server.routes import base_url, scheduler, store
from flyte.server.scheduler import Scheduler
from flyte.server.state import Changes

router = APIRouter(prefix="/conditions", tags=["conditions"])
logger = logging.getLogger("flyte.server")


class WebhookSpec(ApiModel):
    url: str = Field(pattern=r"^https?://", max_length=2000)
    payload: dict[str, Any] | None = None


class ConditionCreate(ApiModel):
    run: str
    parent: str = Field(pattern=ACTION_NAME)
    action: str = Field(pattern=ACTION_NAME)
    name: str = Field(min_length=1, max_length=200)
    prompt: str = Field(default="Approve?", max_length=10_000)
    prompt_type: Literal["text", "markdown"] = "text"
    description: str = Field(default="", max_length=10_000)
    data_type: Literal["bool", "int", "float", "str"] = "bool"
    timeout: float | None = Field(default=None, gt=0)
    group: str | None = None
    webhook: WebhookSpec | None = None


class Condition(ApiModel):
    run_name: str
    action: str
    parent: str
    name: str
    prompt: str
    prompt_type: str
    description: str
    data_type: str
    timeout: float | None = None
    created_at: float
    phase: str
    value: Union[StrictBool, StrictInt, StrictFloat, StrictStr, None] = None
    resolved_at: float | None = None
    resolved_by: str | None = None


class SignalRequest(ApiModel):
    value: Union[StrictBool, StrictInt, StrictFloat, StrictStr]
    """The answer: a JSON boolean, number or string (text is parsed as the condition's type)."""
    by: str = Field(default="api", max_length=200)


class ConditionAbort(ApiModel):
    reason: str = Field(default="aborted", max_length=2000)


class ConditionHub:
    """What the server keeps in memory about conditions: the waiters and the webhook deliveries."""

    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        self.deliveries: set[asyncio.Task[Any]] = set()

    # The scheduler's waiters: its shutdown wakes them, so that no long-poll holds the server up.
    async def wait(self, run: str, action: str, timeout: float) -> None:
        await self.sched.waiters.wait(("condition", run, action), timeout)

    def wake(self, run: str, action: str) -> None:
        self.sched.waiters.wake(("condition", run, action))

    def announce(self, record: ConditionRecord, callback_uri: str) -> None:
        from flyte.notify._condition_hook import announce

        job = asyncio.ensure_future(announce(record, callback_uri))
        self.deliveries.add(job)
        job.add_done_callback(self.deliveries.discard)

    def run_ended(self, ch: Changes) -> None:
        """Scheduler listener: the conditions of runs that just ended stop waiting (aborted)."""
        for run in ch.ended_runs:
            job = asyncio.ensure_future(self._abort_run(run))
            self.deliveries.add(job)
            job.add_done_callback(self.deliveries.discard)

    async def _abort_run(self, run: str) -> None:
        sched = self.sched
        try:
            waiting = [
                c for c in await asyncio.to_thread(cstore.list_conditions, sched.store, run)
                if c.phase is ActionPhase.PAUSED
            ]  # fmt: skip
            for c in waiting:
                ended = await asyncio.to_thread(
                    cstore.resolve, sched.store, c, ActionPhase.ABORTED, by="its run ended",
                    error=("ActionAbortedError", f"run '{run}' ended while condition '{c.name}' waited"),
                )  # fmt: skip
                if ended:
                    self.wake(run, c.action)
        except Exception as e:  # the store may be closing with the server
            logger.warning("flyte server: could not abort the conditions of run %s: %s", run, e)

    async def stop(self) -> None:
        if self.deliveries:
            await asyncio.wait(list(self.deliveries), timeout=5.0)


def install(app: FastAPI, sched: Scheduler) -> ConditionHub:
    """Keep a hub on the app and end a run's waiting conditions with the run."""
    hub = app.state.conditions = ConditionHub(sched)
    sched.listeners.append(hub.run_ended)
    return hub


def _hub(request: Request) -> ConditionHub:
    return request.app.state.conditions


def _api(record: ConditionRecord) -> Condition:
    return Condition(**record.to_dict())


def _current(request: Request, run: str, action: str) -> ConditionRecord:
    """The condition as it is now (a due timeout or an ended run applied first); 404 if none."""
    db = store(request)
    record = cstore.find_condition(db, run, action)
    if record is None:
        if db.get_run(run) is None:
            raise NotFound(f"No run named '{run}'")
        raise NotFound(f"Run '{run}' has no condition named '{action}' (by action or condition name)")
    record = cstore.refresh(db, record)
    return record


def _publish(request: Request, record: ConditionRecord) -> None:
    sched = scheduler(request)
    sched.feeds.publish(record.run_name, [phase_event(record.action, record.phase.value, time.time())])


@router.post("", status_code=201, response_model=Condition)
async def create_condition(request: Request, response: Response, body: ConditionCreate) -> Condition:
    """Create a condition under a running action (called by the action's worker); 200 with the
    existing one if that action already made it (a retried attempt keeps the answer given)."""
    sched = scheduler(request)
    db = store(request)
    spec = await sched.spec(body.run)
    if spec is None:
        raise NotFound(f"No run named '{body.run}'")
    existing = await asyncio.to_thread(cstore.get_condition, db, body.run, body.action)
    if existing is not None:
        response.status_code = 200
        return _api(existing)
    parent = sched.active.get((body.run, body.parent))
    if parent is None or parent.phase is not ActionPhase.RUNNING:
        raise Conflict(
            f"action '{body.parent}' of run '{body.run}' is not running; it cannot create conditions"
        )
    record = ConditionRecord(
        run_name=body.run, action=body.action, parent=body.parent, name=body.name, prompt=body.prompt,
        prompt_type=body.prompt_type, description=body.description, data_type=body.data_type,
        timeout=body.timeout, created_at=time.time(), phase=ActionPhase.PAUSED,
        webhook=body.webhook.model_dump() if body.webhook is not None else None,
    )  # fmt: skip
    if spec.recover_from:
        answered = await asyncio.to_thread(cstore.get_condition, db, spec.recover_from, body.action)
        if answered is not None and answered.phase is ActionPhase.SUCCEEDED:
            record = dataclasses.replace(
                record, phase=ActionPhase.SUCCEEDED, value=answered.value, resolved_at=time.time(),
                resolved_by=f"recovered from run '{spec.recover_from}'",
            )  # fmt: skip
    stored, created = await asyncio.to_thread(cstore.insert_condition, db, record, body.group)
    if not created:
        response.status_code = 200
        return _api(stored)
    _publish(request, stored)
    if stored.phase is ActionPhase.PAUSED and stored.webhook:
        callback = f"{base_url(request)}/api/v1/conditions/{stored.run_name}/{stored.action}/signal"
        _hub(request).announce(stored, callback)
    return _api(stored)


@router.get("", response_model=list[Condition])
def list_conditions(
    request: Request,
    run: str = Query(...),
    parent: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[Condition]:
    """The conditions of ``run`` (of one parent action when given), oldest first."""
    db = store(request)
    if db.get_run(run) is None:
        raise NotFound(f"No run named '{run}'")
    records = cstore.list_conditions(db, run, parent)[:limit]
    return [_api(_current(request, run, r.action)) for r in records]


@router.get("/{run}/{action}", response_model=Condition)
def get_condition(request: Request, run: str, action: str) -> Condition:
    """One condition, by its action's name or (the newest waiting one of) its name."""
    return _api(_current(request, run, action))


@router.post("/{run}/{action}/signal", response_model=Condition)
async def signal_condition(request: Request, run: str, action: str, body: SignalRequest) -> Condition:
    """Answer a waiting condition with a value of its type (400 if it is not; 409 once answered)."""
    record = await asyncio.to_thread(_current, request, run, action)
    try:
        value = cstore.coerce(body.value, record.data_type, record.name)
    except RuntimeDataValidationError as e:
        raise BadRequest(str(e)) from None
    if record.phase is not ActionPhase.PAUSED:
        raise Conflict(_already(record))
    won = await asyncio.to_thread(
        cstore.resolve, store(request), record, ActionPhase.SUCCEEDED, value=value, by=body.by
    )
    current = await asyncio.to_thread(_current, request, run, record.action)
    if not won:
        raise Conflict(_already(current))
    _hub(request).wake(run, record.action)
    _publish(request, current)
    return _api(current)


def _already(record: ConditionRecord) -> str:
    what = f"was already answered with {record.value!r}" if record.phase is ActionPhase.SUCCEEDED else (
        f"has ended ({record.phase.value})"
    )  # fmt: skip
    return f"Condition '{record.name}' (action '{record.action}' of run '{record.run_name}') {what}"


@router.get("/{run}/{action}/wait", response_model=Condition)
async def wait_condition(
    request: Request, run: str, action: str, timeout: float = Query(default=30.0, ge=0, le=300)
) -> Condition:
    """Long-poll: the condition once it is answered or has ended, or as it is after ``timeout``."""
    record = await asyncio.to_thread(_current, request, run, action)
    if record.phase is ActionPhase.PAUSED and not scheduler(request).closing:
        wait = timeout
        if record.deadline is not None:
            wait = min(wait, max(0.0, record.deadline - time.time()) + 0.01)
        await _hub(request).wait(run, record.action, wait)
        before = record.phase
        record = await asyncio.to_thread(_current, request, run, record.action)
        if record.phase is not before:
            _publish(request, record)
    return _api(record)


@router.post("/{run}/{action}/abort", response_model=Condition)
async def abort_condition(
    request: Request, run: str, action: str, body: ConditionAbort | None = None
) -> Condition:
    """End a waiting condition as aborted (its waiter went away); an ended one is returned as is."""
    record = await asyncio.to_thread(_current, request, run, action)
    reason = body.reason if body is not None else "aborted"
    if record.phase is ActionPhase.PAUSED:
        await asyncio.to_thread(
            cstore.resolve, store(request), record, ActionPhase.ABORTED, by=reason,
            error=("ActionAbortedError", reason),
        )  # fmt: skip
        _hub(request).wake(run, record.action)
        record = await asyncio.to_thread(_current, request, run, record.action)
        _publish(request, record)
    return _api(record)
