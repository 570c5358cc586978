"""``flyte.remote.Condition``: find the conditions a run waits for, and answer them.

```python
cond = flyte.remote.Condition.get("approve", run_name="r1a2b3")
cond.signal(True)
```

With a control plane configured (``flyte.init(endpoint=...)``) the server answers (through the
client's blocking calls, in a helper thread: the methods may run on any event loop); otherwise the
run store under ``FLYTE_HOME`` does, so a local run waiting in another terminal is answered the
same way. A value of the wrong type for the condition raises
``flyte.errors.RuntimeDataValidationError`` before anything is sent; answering a condition that
was already answered (or has ended) raises ``flyte.errors.ConditionAlreadyExistsError``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Optional, Union
from urllib.parse import quote

from flyte._initialize import get_init_config
from flyte._internal import conditions as cstore
from flyte._internal.conditions import ConditionRecord
from flyte._syncify import syncify, syncify_classmethod
from flyte.errors import (
    ActionNotFoundError,
    ConditionAlreadyExistsError,
    ConditionFailedError,
    RuntimeUserError,
)
from flyte.models import ActionPhase

ConditionPayload = Union[bool, int, float, str]


def _q(name: str) -> str:
    return quote(name, safe="")


def _remote() -> Any:
    """The API client when a control plane is configured, else None (the local store)."""
    if not get_init_config().is_remote:
        return None
    from flyte.remote._remote_run import client_from_config

    return client_from_config()


def _local_store() -> Any:
    from flyte._internal.run_config import flyte_home
    from flyte._internal.store import open_store

    db = open_store(flyte_home())
    db.reap_dead_runs()
    return db


def _local_current(db: Any, record: ConditionRecord) -> ConditionRecord:
    return cstore.refresh(db, record)


@dataclass
class Condition:
    """A condition of a run: what it asks, its type, whether it was answered, and with what."""

    record: ConditionRecord

    @property
    def name(self) -> str:
        """The condition's name (as given to ``flyte.new_condition``)."""
        return self.record.name

    @property
    def action_name(self) -> str:
        """The name of the condition action standing for it in the run."""
        return self.record.action

    @property
    def run_name(self) -> str:
        return self.record.run_name

    @property
    def parent(self) -> str:
        """The action that created the condition and waits for it."""
        return self.record.parent

    @property
    def phase(self) -> str:
        """``PAUSED`` while it waits; ``SUCCEEDED``, ``TIMED_OUT`` or ``ABORTED`` once it ended."""
        return self.record.phase.name

    @property
    def prompt(self) -> str:
        return self.record.prompt

    @property
    def expected_type(self) -> type:
        """The Python type an answer must have (``bool``, ``int``, ``float`` or ``str``)."""
        return cstore.DATA_TYPES[self.record.data_type]

    @property
    def value(self) -> Optional[ConditionPayload]:
        """The answer once signaled (None before)."""
        if self.record.phase is not ActionPhase.SUCCEEDED:
            return None
        return cstore.coerce(self.record.value, self.record.data_type, self.record.name)

    def to_dict(self) -> dict[str, Any]:
        return self.record.to_dict()

    def __repr__(self) -> str:
        return (
            f"Condition(name={self.name!r}, action={self.action_name!r}, run={self.run_name!r}, "
            f"phase={self.phase!r}, type={self.record.data_type!r}, value={self.record.value!r})"
        )

    @syncify_classmethod
    async def listall(
        cls: Any, /, run_name: str, action_name: Optional[str] = None, limit: int = 100
    ) -> list[Condition]:
        """The conditions of ``run_name`` (only those created by ``action_name`` when given)."""
        return [cls(r) for r in await list_records(_remote(), run_name, action_name, limit)]

    @syncify_classmethod
    async def get(
        cls: Any, name: str, /, run_name: str, action_name: Optional[str] = None
    ) -> Optional[Condition]:
        """The condition ``name`` of ``run_name`` (by its condition action's name or its own name;
        of several with that name, the newest one still waiting), or None."""
        client = _remote()
        if action_name is None:
            found = await find_record(client, run_name, name)
            return cls(found) if found is not None else None
        matches = [r for r in await list_records(client, run_name, action_name) if name in (r.name, r.action)]
        waiting = [r for r in matches if r.phase is ActionPhase.PAUSED]
        chosen = waiting or matches
        return cls(chosen[-1]) if chosen else None

    @syncify
    async def signal(self, payload: ConditionPayload, by: str = "flyte.remote") -> None:
        """Answer the condition with ``payload`` (converted to its type; text is parsed).

        :raises flyte.errors.RuntimeDataValidationError: ``payload`` is not of the condition's type.
        :raises flyte.errors.ConditionAlreadyExistsError: it was answered already, or has ended.
        """
        self.record = await signal_record(_remote(), self.record, payload, by)

    @syncify
    async def wait(self, timeout: Optional[float] = None, poll: float = 0.2) -> Condition:
        """Wait until the condition is answered or ends (for scripts that drive a run)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.record.phase is ActionPhase.PAUSED:
            if deadline is not None and time.monotonic() >= deadline:
                raise ConditionFailedError(f"Condition '{self.name}' still waits after {timeout:g}s")
            await asyncio.sleep(poll)
            fresh = await find_record(_remote(), self.run_name, self.action_name)
            if fresh is not None:
                self.record = fresh
        return self


# -- the same, against an explicit source (``client`` None: the local run store) --------------------


async def list_records(
    client: Any, run_name: str, parent: Optional[str] = None, limit: int = 100
) -> list[ConditionRecord]:
    if client is not None:
        from flyte._condition import record_of

        params: dict[str, Any] = {"run": run_name, "limit": limit}
        if parent is not None:
            params["parent"] = parent
        return [
            record_of(c)
            for c in await asyncio.to_thread(client.call, "GET", "/api/v1/conditions", params=params)
        ]

    def read() -> list[ConditionRecord]:
        db = _local_store()
        if db.get_run(run_name) is None:
            raise ActionNotFoundError(f"No run named '{run_name}'")
        return [_local_current(db, r) for r in cstore.list_conditions(db, run_name, parent)[:limit]]

    return await asyncio.to_thread(read)


async def find_record(client: Any, run_name: str, key: str) -> Optional[ConditionRecord]:
    """The condition of ``run_name`` whose action or name is ``key`` (None when there is none)."""
    if client is not None:
        from flyte._condition import record_of

        try:
            return record_of(
                await asyncio.to_thread(client.call, "GET", f"/api/v1/conditions/{_q(run_name)}/{_q(key)}")
            )
        except ActionNotFoundError:
            return None

    def read() -> Optional[ConditionRecord]:
        db = _local_store()
        found = cstore.find_condition(db, run_name, key)
        return _local_current(db, found) if found is not None else None

    return await asyncio.to_thread(read)


def _ended(rec: ConditionRecord, current: ConditionRecord) -> ConditionAlreadyExistsError:
    where = f"Condition '{rec.name}' (action '{rec.action}' of run '{rec.run_name}')"
    if current.phase is ActionPhase.SUCCEEDED:
        return ConditionAlreadyExistsError(f"{where} was already answered with {current.value!r}")
    why = f": {current.resolved_by}" if current.resolved_by else ""
    return ConditionAlreadyExistsError(
        f"{where} has ended ({current.phase.value}{why}); it can no longer be answered"
    )


async def signal_record(client: Any, rec: ConditionRecord, payload: Any, by: str) -> ConditionRecord:
    """Answer ``rec`` with ``payload`` (checked against its type first); the condition after it."""
    value = cstore.coerce(payload, rec.data_type, rec.name)
    if client is not None:
        from flyte._condition import record_of

        path = f"/api/v1/conditions/{_q(rec.run_name)}/{_q(rec.action)}/signal"
        try:
            return record_of(
                await asyncio.to_thread(client.call, "POST", path, json={"value": value, "by": by})
            )
        except RuntimeUserError as e:
            if e.code == "Conflict":
                raise ConditionAlreadyExistsError(str(e).split(": ", 1)[-1]) from None
            raise

    def write() -> ConditionRecord:
        db = _local_store()
        current = _local_current(db, cstore.get_condition(db, rec.run_name, rec.action) or rec)
        if current.phase is ActionPhase.PAUSED and cstore.resolve(
            db, current, ActionPhase.SUCCEEDED, value=value, by=by
        ):
            return cstore.get_condition(db, rec.run_name, rec.action) or current
        raise _ended(rec, cstore.get_condition(db, rec.run_name, rec.action) or current)

    return await asyncio.to_thread(write)
