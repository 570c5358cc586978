"""Creating runs and actions: names, cache and recovery decisions, the first rows.

A new action is decided here, once: replayed from the run being recovered (``recovered``), served
from the cache (``hit``), or queued. A child named like an existing action of the run is that
action (names are deterministic), except that a parent's later attempt calling a child that failed
or was aborted in an earlier attempt gets it queued again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time

from flyte._internal.run_config import check_run_name, new_run_name
from flyte._internal.store import ActionRecord
from flyte.models import ActionPhase
from flyte.server.cache import cache_key, cached_outputs, recovered_outputs
from flyte.server.errors import ApiError, BadRequest, Conflict, NotFound
from flyte.server.models import Action, ActionCreate, RunCreate, TaskRef
from flyte.server.scheduler import Scheduler
from flyte.server.state import QUEUED, SUCCEEDED, ActiveAction, Changes, RunSpec, action_to_api, run_insert
from flyte.storage import validate_key

_RETRYABLE_ENDS = (ActionPhase.FAILED, ActionPhase.ABORTED, ActionPhase.TIMED_OUT)


def decode_b64(value: str | None, field: str) -> bytes:
    try:
        return base64.b64decode(value or "", validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{field} is not valid base64") from None


def _check_task(task: TaskRef) -> None:
    if task.bundle_key is not None:
        try:
            validate_key(task.bundle_key)
        except ValueError as e:
            raise BadRequest(f"task.bundle_key: {e}") from None


class Submitter:
    """Creates runs and actions on behalf of the API."""

    def __init__(self, scheduler: Scheduler):
        self.scheduler = scheduler
        self.store = scheduler.store
        self._creating: set[str] = set()

    async def _decide(
        self, spec: RunSpec, name: str, task: TaskRef, inputs: bytes
    ) -> tuple[bytes | None, str | None, str | None]:
        """(outputs, cache_status, cache_key): outputs when the action needs not run."""
        if spec.recover_from:
            found = await asyncio.to_thread(
                recovered_outputs, self.store, spec.recover_from, name, task.name, inputs
            )
            if found is not None:
                return found, "recovered", None
        key = None if spec.disable_run_cache else cache_key(task, inputs)  # no key: no read, no write
        if key is not None and not spec.overwrite_cache:
            found = await asyncio.to_thread(cached_outputs, self.store, key)
            if found is not None:
                return found, "hit", key
        return None, None, key

    async def _admit(self, ch: Changes, a: ActiveAction, inputs: bytes, spec: RunSpec) -> None:
        """Record ``a`` (already in memory) with its inputs, done at once when decided so."""
        outputs, status, a.cache_key = await self._decide(spec, a.name, a.task, inputs)
        stored_in = await self.scheduler.offload(inputs)
        stored_out = await self.scheduler.offload(outputs)
        ch.created.append(a)
        ch.events[a.run].append(
            {"kind": "phase", "action": a.name, "phase": "queued", "at": a.created_at, "line": None,
             "stream": None}
        )  # fmt: skip
        if outputs is None:
            ch.sql.extend(a.insert(stored_in, (None, None)))
            ch.queued.append(a)
            return
        ch.sql.extend(a.insert(stored_in, stored_out))
        a.cache_status, a.started_at = status, time.time()
        self.scheduler.finish(ch, a, SUCCEEDED, a.started_at, outputs=stored_out)

    # -- runs ---------------------------------------------------------------------------------------

    async def create_run(self, req: RunCreate) -> str:
        """Record a run and its root action ``a0``; returns the run's name."""
        name = req.name or new_run_name()
        try:
            check_run_name(name)
        except ValueError as e:
            raise BadRequest(str(e)) from None
        _check_task(req.task)
        inputs = decode_b64(req.inputs_b64, "inputs_b64")
        if name in self._creating or await asyncio.to_thread(self.store.get_run, name) is not None:
            raise Conflict(f"A run named '{name}' already exists; choose another name")
        if req.recover_from and await asyncio.to_thread(self.store.get_run, req.recover_from) is None:
            raise NotFound(f"No run named '{req.recover_from}' to recover from")
        self._creating.add(name)
        try:
            spec = RunSpec(name, req.task, dict(req.env_vars), dict(req.custom_context), req.overwrite_cache,
                           req.recover_from, disable_run_cache=req.disable_run_cache,
                           max_action_concurrency=req.max_action_concurrency,
                           raw_data_path=req.raw_data_path)  # fmt: skip
            now = time.time()
            root = ActiveAction(run=name, name="a0", parent=None, task=req.task, group=None,
                                custom_context=dict(req.custom_context), phase=QUEUED, attempts=0,
                                created_at=now, history=[[QUEUED.value, now, 0]], not_before=now)  # fmt: skip
            owner = self.scheduler.settings.owner
            ch = Changes(sql=[run_insert(spec, owner, now, dict(req.labels)), spec.insert()])
            self.scheduler.specs[name] = spec
            self.scheduler.add(root)
            try:
                await self._admit(ch, root, inputs, spec)
            except BaseException:
                self.scheduler.drop(root)
                raise
            await self.scheduler.commit(ch)
        finally:
            self._creating.discard(name)
        return name

    async def rerun(self, run: str, recover: bool, name: str | None) -> str:
        spec = await self.scheduler.spec(run)
        if spec is None:
            raise NotFound(f"No run named '{run}'")
        inputs, _ = await asyncio.to_thread(self.store.action_io, run, "a0")
        req = RunCreate(
            name=name, task=spec.task, inputs_b64=base64.b64encode(inputs or b"").decode(),
            env_vars=spec.env_vars, custom_context=spec.custom_context, recover_from=run if recover else None,
        )  # fmt: skip
        return await self.create_run(req)

    # -- actions ------------------------------------------------------------------------------------

    async def create_action(self, run: str, req: ActionCreate) -> tuple[Action, bool]:
        """The action ``req.name`` of ``run``: (it, True) when created now, (it, False) if it existed."""
        [outcome] = await self.create_actions(run, [req])
        if isinstance(outcome, ApiError):
            raise outcome
        return outcome

    async def create_actions(
        self, run: str, reqs: list[ActionCreate]
    ) -> list[tuple[Action, bool] | ApiError]:
        """Each child of ``reqs`` as :meth:`create_action` decides it, recorded in one commit.

        The answer is in the order of ``reqs``: (action, created) or the error the single-action
        route would have answered for that child (the others are created all the same). A name
        sent twice is created once; the second gets it as existing.
        """
        sched = self.scheduler
        inputs: list[bytes | ApiError] = []
        for req in reqs:
            try:
                _check_task(req.task)
                inputs.append(decode_b64(req.inputs_b64, "inputs_b64"))
            except ApiError as e:
                inputs.append(e)
        spec = await sched.spec(run)
        if spec is None:
            raise NotFound(f"No run named '{run}'")
        unknown = [r.name for r in reqs if (run, r.name) not in sched.active]
        records, priors = await asyncio.to_thread(self._load_existing, run, unknown)
        outcomes: list[tuple[Action, bool] | ApiError] = []
        ch, added = Changes(), list[ActiveAction]()
        try:
            for req, data in zip(reqs, inputs, strict=True):
                if isinstance(data, ApiError):
                    outcomes.append(data)
                    continue
                try:
                    outcomes.append(
                        await self._decide_child(ch, added, run, spec, req, data, records, priors)
                    )
                except ApiError as e:
                    outcomes.append(e)
        except BaseException:
            for a in added:
                sched.drop(a)
            raise
        if ch.sql:
            await sched.commit(ch)
        return outcomes

    def _load_existing(self, run: str, names: list[str]) -> tuple[dict[str, ActionRecord], dict[str, int]]:
        """The stored actions among ``names`` and their ``parent_attempt`` (a thread's work)."""
        records: dict[str, ActionRecord] = {}
        priors: dict[str, int] = {}
        for name in names:
            record = self.store.get_action(run, name)
            if record is None:  # the common case: a new child, nothing more to read
                continue
            records[name] = record
            prior = self.store.execute_read(
                "SELECT parent_attempt FROM server_actions WHERE run_name = ? AND name = ?", (run, name)
            )
            if prior:
                priors[name] = prior[0][0]
        return records, priors

    async def _decide_child(
        self,
        ch: Changes,
        added: list[ActiveAction],
        run: str,
        spec: RunSpec,
        req: ActionCreate,
        inputs: bytes,
        records: dict[str, ActionRecord],
        priors: dict[str, int],
    ) -> tuple[Action, bool]:
        """One child of a batch: the existing action, or a new (or restarted) one added to ``ch``."""
        sched = self.scheduler
        existing = sched.active.get((run, req.name))
        if existing is not None:
            return existing.to_api(), False
        record = records.get(req.name)
        prior = priors.get(req.name)
        parent = sched.active.get((run, req.parent))
        if record is not None and (
            parent is None or record.phase not in _RETRYABLE_ENDS or prior is None or parent.attempts <= prior
        ):
            return action_to_api(record), False
        if parent is None or parent.phase is not ActionPhase.RUNNING:
            if await asyncio.to_thread(self.store.get_action, run, req.parent) is None:
                raise NotFound(f"Run '{run}' has no action named '{req.parent}'")
            raise Conflict(
                f"parent action '{req.parent}' of run '{run}' is not running; it cannot start actions"
            )
        now = time.time()
        a = ActiveAction(run=run, name=req.name, parent=req.parent, task=req.task, group=req.group,
                         custom_context=dict(req.custom_context), phase=QUEUED, attempts=0, created_at=now,
                         history=[[QUEUED.value, now, 0]], not_before=now,
                         parent_attempt=parent.attempts)  # fmt: skip
        if record is not None:  # called again by a later attempt of its parent: run it again
            a.cache_key = cache_key(a.task, inputs)
            records.pop(req.name)  # a second copy in the batch finds it active
            self._restart(ch, a, record)
            added.append(a)
            return a.to_api(), True
        sched.add(a)
        added.append(a)
        try:
            await self._admit(ch, a, inputs, spec)
        except BaseException:
            sched.drop(a)
            raise
        return a.to_api(), True

    def _restart(self, ch: Changes, a: ActiveAction, record: ActionRecord) -> None:
        """Queue (in ``ch``) an action that ended unsuccessfully in an earlier attempt of its parent."""
        a.created_at = record.created_at
        a.attempts = record.attempts
        a.history = [[e.phase.value, e.at, e.attempt] for e in record.history]
        a.not_before = time.time()
        self.scheduler.add(a)
        ch.sql.append(
            ("UPDATE actions SET ended_at = NULL, error_type = NULL, error_message = NULL, outputs = NULL,"
             " outputs_ref = NULL WHERE run_name = ? AND name = ?", (a.run, a.name))
        )  # fmt: skip
        self.scheduler.requeue(ch, a, a.not_before, a.not_before)
