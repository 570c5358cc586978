"""The rows of deployed work: task versions, the triggers they declare, and the ticks fired.

A version is immutable: registering ``(name, version)`` again with the same spec is a no-op
(``created=False``), with another spec a conflict. Registering a version makes its triggers the
task's triggers: new ones are added (active if they auto-activate), changed ones replaced, and
the task's triggers the new version does not declare are deleted -- a redeploy without a
trigger stops it. An unchanged trigger keeps its state (active or not, its last tick).

``claim_fire`` is how a tick is fired at most once, whichever server process (and however many)
sees it due: the fire row's primary key ``(task, trigger, scheduled_at)`` lets one insert win.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flyte.server.errors import Conflict, NotFound
from flyte.server.triggers.models import DeployedTask, TaskDeploy, TriggerFire, TriggerSpec, TriggerState
from flyte.server.triggers.schedule import next_tick

_TASK_COLUMNS = "name, version, spec, created_at"
_TRIGGER_COLUMNS = (
    "task_name, name, task_version, spec, active, anchor, last_scheduled, created_at, updated_at"
)


def _spec_json(spec: TaskDeploy) -> str:
    return json.dumps(spec.model_dump(mode="json"), sort_keys=True)


def _task(row: tuple[Any, ...], created: bool = False) -> DeployedTask:
    name, version, spec, created_at = row
    return DeployedTask(
        name=name,
        version=version,
        created_at=created_at,
        spec=TaskDeploy.model_validate_json(spec),
        created=created,
    )


class Registry:
    """Deployed tasks and triggers in the run store's database (``server_tasks``, ``server_triggers``)."""

    def __init__(self, store: Any, now: Any = None):
        self.store = store
        self._trigger_now = now or time.time
        """Trigger time (the trigger clock), for activation anchors and next ticks."""

    # -- tasks -----------------------------------------------------------------------------------------

    def register(self, spec: TaskDeploy) -> DeployedTask:
        """Record one task version and make its triggers the task's (see the module docstring)."""
        text = _spec_json(spec)
        now = time.time()
        outcome: dict[str, Any] = {}

        def write(conn: Any) -> None:
            row = conn.execute(
                "SELECT spec FROM server_tasks WHERE name = ? AND version = ?", (spec.name, spec.version)
            ).fetchone()
            if row is not None:
                if json.loads(row[0]) != json.loads(text):
                    outcome["conflict"] = True
                    return
                outcome["created"] = False
            else:
                conn.execute(
                    "INSERT INTO server_tasks (name, version, spec, bundle_key, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (spec.name, spec.version, text, spec.task.bundle_key, now),
                )
                outcome["created"] = True
            self._sync_triggers(conn, spec, now)

        self.store.execute_write(write)
        if outcome.get("conflict"):
            raise Conflict(
                f"Task '{spec.name}' version '{spec.version}' is already deployed with other code or "
                "settings; deploy under a new version (or let flyte deploy compute one)"
            )
        found = self.get(spec.name, spec.version)
        assert found is not None
        return found.model_copy(update={"created": outcome["created"]})

    def _sync_triggers(self, conn: Any, spec: TaskDeploy, now: float) -> None:
        existing = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "SELECT name, spec, task_version FROM server_triggers WHERE task_name = ?", (spec.name,)
            ).fetchall()
        }
        wanted = {t.name: t for t in spec.triggers}
        for name in set(existing) - set(wanted):
            conn.execute("DELETE FROM server_triggers WHERE task_name = ? AND name = ?", (spec.name, name))
        trigger_now = self._trigger_now()
        for name, trigger in wanted.items():
            text = json.dumps(trigger.model_dump(mode="json"), sort_keys=True)
            old = existing.get(name)
            if old is not None and json.loads(old[0]) == json.loads(text):
                if old[1] != spec.version:  # same trigger, now starting runs of the new version
                    conn.execute(
                        "UPDATE server_triggers SET task_version = ?, updated_at = ?"
                        " WHERE task_name = ? AND name = ?",
                        (spec.version, now, spec.name, name),
                    )
                continue
            if old is not None:
                conn.execute(
                    "DELETE FROM server_triggers WHERE task_name = ? AND name = ?", (spec.name, name)
                )
            conn.execute(
                f"INSERT INTO server_triggers ({_TRIGGER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (spec.name, name, spec.version, text, int(trigger.auto_activate), trigger_now, now, now),
            )

    def get(self, name: str, version: str | None = None) -> DeployedTask | None:
        """One version of a task; without ``version``, the latest deployed."""
        if version is not None:
            rows = self.store.execute_read(
                f"SELECT {_TASK_COLUMNS} FROM server_tasks WHERE name = ? AND version = ?", (name, version)
            )
        else:
            rows = self.store.execute_read(
                f"SELECT {_TASK_COLUMNS} FROM server_tasks WHERE name = ?"
                " ORDER BY created_at DESC, version DESC LIMIT 1",
                (name,),
            )
        return _task(rows[0]) if rows else None

    def versions(self, name: str, limit: int = 100) -> list[DeployedTask]:
        rows = self.store.execute_read(
            f"SELECT {_TASK_COLUMNS} FROM server_tasks WHERE name = ?"
            " ORDER BY created_at DESC, version DESC LIMIT ?",
            (name, limit),
        )
        return [_task(r) for r in rows]

    def latest(self, environment: str | None = None, limit: int = 100) -> list[DeployedTask]:
        """The latest version of every task (optionally of one environment), by name."""
        rows = self.store.execute_read(
            f"SELECT {_TASK_COLUMNS} FROM server_tasks t WHERE created_at = "
            "(SELECT max(created_at) FROM server_tasks u WHERE u.name = t.name) ORDER BY name, version DESC"
        )
        seen: dict[str, DeployedTask] = {}
        for r in rows:
            task = _task(r)
            if task.name not in seen and (environment is None or task.spec.environment == environment):
                seen[task.name] = task
        return list(seen.values())[:limit]

    # -- triggers --------------------------------------------------------------------------------------

    def _state(self, row: tuple[Any, ...]) -> TriggerState:
        task_name, name, version, spec, active, anchor, last, created_at, updated_at = row
        trigger = TriggerSpec.model_validate_json(spec)
        upcoming = None
        if active:
            upcoming = next_tick(trigger.automation, max(last or anchor, anchor), anchor)
        return TriggerState(
            task_name=task_name,
            name=name,
            task_version=version,
            active=bool(active),
            automation=trigger.automation,
            description=trigger.description,
            last_scheduled=last,
            next_scheduled=upcoming,
            created_at=created_at,
            updated_at=updated_at,
        )

    def triggers(self, task_name: str | None = None, active_only: bool = False) -> list[TriggerState]:
        sql, args = f"SELECT {_TRIGGER_COLUMNS} FROM server_triggers", []
        where = []
        if task_name is not None:
            where.append("task_name = ?")
            args.append(task_name)
        if active_only:
            where.append("active = 1")
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [
            self._state(r) for r in self.store.execute_read(sql + " ORDER BY task_name, name", tuple(args))
        ]

    def trigger_rows(self) -> list[tuple[Any, ...]]:
        """Every active trigger as (task, name, version, spec, anchor, last_scheduled)."""
        return self.store.execute_read(
            "SELECT task_name, name, task_version, spec, anchor, last_scheduled FROM server_triggers"
            " WHERE active = 1"
        )

    def trigger(self, task_name: str, name: str) -> TriggerState:
        rows = self.store.execute_read(
            f"SELECT {_TRIGGER_COLUMNS} FROM server_triggers WHERE task_name = ? AND name = ?",
            (task_name, name),
        )
        if not rows:
            raise NotFound(f"Task '{task_name}' has no trigger named '{name}'")
        return self._state(rows[0])

    def set_active(self, task_name: str, name: str, active: bool) -> TriggerState:
        """Activate or deactivate a trigger; activating starts its schedule afresh from now (ticks
        that fell while it was inactive are not fired)."""
        self.trigger(task_name, name)
        now, trigger_now = time.time(), self._trigger_now()

        def write(conn: Any) -> None:
            if active:
                conn.execute(
                    "UPDATE server_triggers SET active = 1, anchor = ?, last_scheduled = NULL, updated_at = ?"
                    " WHERE task_name = ? AND name = ? AND active = 0",
                    (trigger_now, now, task_name, name),
                )
            else:
                conn.execute(
                    "UPDATE server_triggers SET active = 0, updated_at = ? WHERE task_name = ? AND name = ?",
                    (now, task_name, name),
                )

        self.store.execute_write(write)
        return self.trigger(task_name, name)

    def delete_trigger(self, task_name: str, name: str) -> None:
        self.trigger(task_name, name)
        self.store.execute_write(
            lambda conn: conn.execute(
                "DELETE FROM server_triggers WHERE task_name = ? AND name = ?", (task_name, name)
            )
        )

    # -- fires -----------------------------------------------------------------------------------------

    def claim_fire(self, task_name: str, trigger_name: str, scheduled_at: float, run_name: str) -> bool:
        """Record that this process fires the tick; False when another process (or an earlier
        pass of this one) already did. Also moves the trigger's last tick forward."""
        claimed: list[bool] = []

        def write(conn: Any) -> None:
            cursor = conn.execute(
                "INSERT INTO server_trigger_fires (task_name, trigger_name, scheduled_at, run_name, fired_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (task_name, trigger_name, scheduled_at, run_name, time.time()),
            )
            claimed.append(cursor.rowcount == 1)
            conn.execute(
                "UPDATE server_triggers SET last_scheduled = ? WHERE task_name = ? AND name = ?"
                " AND (last_scheduled IS NULL OR last_scheduled < ?)",
                (scheduled_at, task_name, trigger_name, scheduled_at),
            )

        self.store.execute_write(write)
        return claimed[0]

    def fires(self, task_name: str | None = None, trigger_name: str | None = None) -> list[TriggerFire]:
        sql = "SELECT task_name, trigger_name, scheduled_at, run_name, fired_at FROM server_trigger_fires"
        where, args = [], []
        if task_name is not None:
            where.append("task_name = ?")
            args.append(task_name)
        if trigger_name is not None:
            where.append("trigger_name = ?")
            args.append(trigger_name)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.store.execute_read(sql + " ORDER BY scheduled_at", tuple(args))
        return [
            TriggerFire(task_name=r[0], trigger_name=r[1], scheduled_at=r[2], run_name=r[3], fired_at=r[4])
            for r in rows
        ]
