"""Conditions: a running task pauses until someone outside the run answers it (human in the loop).

```python
@env.task
async def publish(report: str) -> str:
    approval = await flyte.new_condition("approve", prompt=f"Publish {report}?", data_type=bool,
                                         timeout=timedelta(hours=24))
    if not await approval.wait():        # paused here until `flyte signal condition RUN approve true`
        return "rejected"
    ...
```

``new_condition`` records a *condition action* under the calling action (``flyte get action RUN``
shows it ``paused``); ``wait()`` returns the answer converted to ``data_type`` (``bool``, ``int``,
``float`` or ``str``), raises ``flyte.errors.ConditionTimedoutError`` once ``timeout`` has passed,
and ``flyte.errors.ConditionFailedError`` when the condition was aborted. Both calls work awaited
(in async tasks) and plainly (in sync tasks), and have ``.aio`` forms.

Where a condition lives follows the run: a local run keeps it in the run store under
``FLYTE_HOME`` (``flyte signal`` from another terminal writes the answer there; the waiting run
polls for it every ``LOCAL_POLL_SECONDS``); a run on a control plane keeps it on the server, which
POSTs the ``webhook`` when the condition is created. The condition action's name is derived from
the parent action and the condition's name, so a recovered run (``--recover``) meets its earlier
conditions again and replays the answers they were given instead of asking again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, Literal, Optional, TypeVar, Union
from urllib.parse import quote

from flyte._context import current_frame
from flyte._internal import conditions as cstore
from flyte.errors import (
    ConditionFailedError,
    ConditionTimedoutError,
    NotInTaskContextError,
)
from flyte.models import ActionPhase

if TYPE_CHECKING:
    from flyte._context import Frame
    from flyte._internal.conditions import ConditionRecord

T = TypeVar("T")
ConditionType = TypeVar("ConditionType", bool, int, float, str)
PromptType = Literal["text", "markdown"]

LOCAL_POLL_SECONDS = 0.2
"""How often a local run waiting on a condition looks for its answer in the run store."""
REMOTE_WAIT_SECONDS = 30.0
"""One long-poll of a worker waiting on a condition on the server."""

logger = logging.getLogger("flyte")


@dataclass
class ConditionWebhook:
    """Where to announce a new condition: ``payload`` is POSTed (as JSON) to ``url`` when the
    condition is created. Every ``{callback_uri}`` in a string of ``payload`` is replaced with the
    address that answers the condition (on a server: ``POST {callback_uri}`` with
    ``{"value": ...}``); ``{run_name}``, ``{action_name}``, ``{condition}`` and ``{prompt}`` are
    replaced too. Without a payload, one describing the condition is sent."""

    url: str
    payload: Optional[dict[str, Any]] = None

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise ValueError(f"ConditionWebhook: url must be an http(s) URL, got {self.url!r}")

    def to_wire(self) -> dict[str, Any]:
        return {"url": self.url, "payload": self.payload}


class _dual(Generic[T]):
    """Call it from async code and await the result, or from sync code and get the value.

    The reference's ``new_condition`` and ``wait`` are used both ways (``await
    flyte.new_condition(...)`` in an async task, a plain call in a sync one); ``.aio`` is always
    the coroutine function.
    """

    def __init__(self, fn: Callable[..., Coroutine[Any, Any, T]]):
        self.aio = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        coro = self.aio(*args, **kwargs)
        if asyncio._get_running_loop() is not None:
            return coro  # async caller: it awaits
        frame = current_frame()
        run_blocking = getattr(frame.controller, "run_blocking", None) if frame is not None else None
        if run_blocking is not None:  # a sync task's thread: the controller's loop does the work
            return run_blocking(coro)
        from flyte._syncify import run_sync

        return run_sync(coro)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return _dual(functools.partial(self.aio, obj))


def _seconds(timeout: Union[timedelta, int, float, None]) -> float | None:
    if timeout is None:
        return None
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    if not seconds > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return seconds


@dataclass
class Condition(Generic[ConditionType]):
    """A condition a running task waits for; made by :func:`new_condition`."""

    name: str
    prompt: str = "Approve?"
    prompt_type: PromptType = "text"
    data_type: type = bool
    description: str = ""
    timeout: Union[timedelta, int, float, None] = None
    webhook: Optional[ConditionWebhook] = None
    _record: Optional[ConditionRecord] = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("new_condition: the condition's name must be a non-empty string")
        self._type = cstore.type_name(self.data_type)
        if self.prompt_type not in ("text", "markdown"):
            raise ValueError(
                f"new_condition: prompt_type must be 'text' or 'markdown', got {self.prompt_type!r}"
            )
        self._timeout_seconds = _seconds(self.timeout)
        if isinstance(self.webhook, str):
            self.webhook = ConditionWebhook(self.webhook)
        if self.webhook is not None and not isinstance(self.webhook, ConditionWebhook):
            raise TypeError(f"new_condition: webhook takes a flyte.ConditionWebhook, got {self.webhook!r}")

    @property
    def action_name(self) -> str | None:
        """The condition action's name in its run (None before it was registered in a task)."""
        return self._record.action if self._record is not None else None

    @property
    def run_name(self) -> str | None:
        return self._record.run_name if self._record is not None else None

    @_dual
    async def wait(self) -> ConditionType:
        """Wait until the condition is signaled and return its value as ``data_type``.

        :raises flyte.errors.ConditionTimedoutError: not signaled within ``timeout``.
        :raises flyte.errors.ConditionFailedError: the condition was aborted.
        """
        frame = current_frame()
        if frame is None or self._record is None:
            raise NotInTaskContextError(
                "NotInTaskContext",
                f"Condition '{self.name}' can only be awaited inside the task that created it "
                "(create it with flyte.new_condition inside a running task)",
            )
        backend = _backend_for(frame)
        controller, node = frame.controller, frame.action
        _park(controller, node)
        try:
            record = await backend.wait(self._record)
        except asyncio.CancelledError:
            await asyncio.shield(backend.abort(self._record, "the waiting action was cancelled"))
            raise
        finally:
            await _unpark(controller, node)
        self._record = record
        return _outcome(record)  # type: ignore[return-value]


_Condition = Condition
"""The reference's name for the condition class."""


def _outcome(record: ConditionRecord) -> Any:
    if record.phase is ActionPhase.SUCCEEDED:
        return cstore.coerce(record.value, record.data_type, record.name)
    if record.phase is ActionPhase.TIMED_OUT:
        raise ConditionTimedoutError(cstore.timeout_message(record))
    raise ConditionFailedError(
        f"Condition '{record.name}' (action '{record.action}' of run '{record.run_name}') ended as "
        f"{record.phase.value} without a value" + (f" ({record.resolved_by})" if record.resolved_by else "")
    )


def _park(controller: Any, node: Any) -> None:
    """A parent waiting on a person gives its concurrency slot back, as when it waits on children."""
    park = getattr(controller, "_park", None)
    if park is not None and hasattr(node, "children"):
        park(node)


async def _unpark(controller: Any, node: Any) -> None:
    unpark = getattr(controller, "_unpark", None)
    if unpark is not None and hasattr(node, "children"):
        result = unpark(node)
        if inspect.isawaitable(result):
            await result


@_dual
async def new_condition(
    name: str,
    /,
    prompt: str = "Approve?",
    prompt_type: PromptType = "text",
    data_type: type = bool,
    description: str = "",
    timeout: Union[timedelta, int, float, None] = None,
    webhook: Optional[ConditionWebhook] = None,
) -> Condition:
    """Create a condition that the calling task can wait for (``await condition.wait()``).

    :param name: the condition's name within the calling action (``flyte signal condition RUN
        NAME VALUE`` finds it by this name, or by its action's name)
    :param prompt: what the person answering is asked
    :param prompt_type: ``"text"`` or ``"markdown"``
    :param data_type: the type of the answer: ``bool`` (default), ``int``, ``float`` or ``str``
    :param description: a longer explanation shown with the prompt
    :param timeout: seconds or a ``timedelta``; ``wait()`` raises ``ConditionTimedoutError`` after it
    :param webhook: a :class:`ConditionWebhook` (or a URL) POSTed when the condition is created
    """
    condition = Condition(name, prompt, prompt_type, data_type, description, timeout, webhook)
    frame = current_frame()
    if frame is None:  # as in the reference: made outside a task, it is only a description
        return condition
    tctx = frame.tctx
    parent_id = tctx.action
    group = tctx.group_data.name if tctx.group_data else None
    task_hash = cstore.TASK_PREFIX + name
    node = frame.action
    seq = (
        node.next_seq(task_hash, "", group) if hasattr(node, "next_seq") else _next_seq(parent_id, task_hash)
    )
    action = parent_id.new_sub_action_from(seq, task_hash, "", group).name
    record = cstore.ConditionRecord(
        run_name=parent_id.run_name or "",
        action=action,
        parent=parent_id.name,
        name=name,
        prompt=prompt,
        prompt_type=prompt_type,
        description=description,
        data_type=condition._type,
        timeout=condition._timeout_seconds,
        created_at=time.time(),
        phase=ActionPhase.PAUSED,
        webhook=condition.webhook.to_wire() if condition.webhook is not None else None,
    )
    condition._record = await _backend_for(frame).create(record, group)
    return condition


_SEQ: dict[tuple[str, str, str], int] = {}


def _next_seq(parent: Any, key: str) -> int:
    """Call sequence of a condition where the action has no tree node (a local worker process)."""
    slot = (parent.run_name or "", parent.name, key)
    seq = _SEQ.get(slot, 0)
    _SEQ[slot] = seq + 1
    return seq


# -- where conditions live ----------------------------------------------------------------------------


class _LocalBackend:
    """Conditions of a local run: rows in the run store under FLYTE_HOME, polled while waited for."""

    def __init__(self) -> None:
        from flyte._internal.run_config import flyte_home
        from flyte._internal.store import open_store

        self.store = open_store(flyte_home())

    async def create(self, record: ConditionRecord, group: str | None) -> ConditionRecord:
        return await asyncio.to_thread(self._create, record, group)

    def _create(self, record: ConditionRecord, group: str | None) -> ConditionRecord:
        run = self.store.get_run(record.run_name)
        source = run.source_run if run is not None else None
        if source:
            answered = cstore.get_condition(self.store, source, record.action)
            if answered is not None and answered.phase is ActionPhase.SUCCEEDED:
                record = dataclasses.replace(
                    record, phase=ActionPhase.SUCCEEDED, value=answered.value, resolved_at=time.time(),
                    resolved_by=f"recovered from run '{source}'",
                )  # fmt: skip
        stored, created = cstore.insert_condition(self.store, record, group)
        if created and stored.phase is ActionPhase.PAUSED and stored.webhook:
            from flyte.notify._condition_hook import announce_in_background

            command = f"flyte signal condition {stored.run_name} {stored.action} VALUE"
            announce_in_background(stored, command)
        return stored

    async def wait(self, record: ConditionRecord) -> ConditionRecord:
        while True:
            current = await asyncio.to_thread(self._current, record)
            if current.phase is not ActionPhase.PAUSED:
                return current
            await asyncio.sleep(LOCAL_POLL_SECONDS)

    def _current(self, record: ConditionRecord) -> ConditionRecord:
        current = cstore.get_condition(self.store, record.run_name, record.action) or record
        return cstore.expire(self.store, current)

    async def abort(self, record: ConditionRecord, reason: str) -> None:
        try:
            await asyncio.to_thread(
                cstore.resolve, self.store, record, ActionPhase.ABORTED, by=reason,
                error=("ActionAbortedError", reason),
            )  # fmt: skip
        except Exception as e:  # the run is ending anyway; the store may be gone
            logger.warning("flyte: could not record condition '%s' as aborted: %s", record.name, e)


class _RemoteBackend:
    """Conditions of a run on a control plane: ``/api/v1/conditions``, long-polled while waited for."""

    def __init__(self, client: Any):
        self.client = client

    async def create(self, record: ConditionRecord, group: str | None) -> ConditionRecord:
        body = {
            "run": record.run_name, "parent": record.parent, "action": record.action, "name": record.name,
            "prompt": record.prompt, "prompt_type": record.prompt_type, "description": record.description,
            "data_type": record.data_type, "timeout": record.timeout, "group": group,
            "webhook": record.webhook,
        }  # fmt: skip
        return record_of(await self.client.acall("POST", "/api/v1/conditions", json=body))

    async def wait(self, record: ConditionRecord) -> ConditionRecord:
        path = f"/api/v1/conditions/{q(record.run_name)}/{q(record.action)}/wait"
        while True:
            answer = await self.client.acall(
                "GET", path, params={"timeout": REMOTE_WAIT_SECONDS}, poll=REMOTE_WAIT_SECONDS
            )
            current = record_of(answer)
            if current.phase is not ActionPhase.PAUSED:
                return current

    async def abort(self, record: ConditionRecord, reason: str) -> None:
        path = f"/api/v1/conditions/{q(record.run_name)}/{q(record.action)}/abort"
        try:
            await self.client.acall("POST", path, json={"reason": reason})
        except Exception as e:  # the server ends it with the run anyway
            logger.warning("could not abort condition '%s': %s", record.name, e)


def q(name: str) -> str:
    return quote(name, safe="")


def record_of(data: dict[str, Any]) -> ConditionRecord:
    """A condition as the API sends it."""
    return cstore.ConditionRecord(
        run_name=data["run_name"], action=data["action"], parent=data["parent"], name=data["name"],
        prompt=data.get("prompt", ""), prompt_type=data.get("prompt_type", "text"),
        description=data.get("description", ""), data_type=data["data_type"], timeout=data.get("timeout"),
        created_at=data["created_at"], phase=ActionPhase(data["phase"]), value=data.get("value"),
        resolved_at=data.get("resolved_at"), resolved_by=data.get("resolved_by"),
    )  # fmt: skip


def _backend_for(frame: Frame) -> _LocalBackend | _RemoteBackend:
    client = getattr(frame.controller, "client", None)
    if client is not None and hasattr(client, "acall"):
        return _RemoteBackend(client)
    return _LocalBackend()
