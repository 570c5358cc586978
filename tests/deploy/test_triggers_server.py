"""Triggers on the server, with a hand-moved clock: ticks fire runs with their time and name,
missed ticks fire once, deactivated or deleted triggers stop, and two servers never fire one tick
twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timezone
from pathlib import Path

import pytest

from flyte.server.schema import ensure_server_schema
from flyte.server.settings import ServerSettings
from flyte.server.triggers.clock import FakeClock
from flyte.server.triggers.models import AutomationSpec
from flyte.server.triggers.registry import Registry
from flyte.server.triggers.schedule import latest_tick, next_tick
from flyte.types import TypeEngine

from .harness import every_minute, plane, task_body

START = 1_800_000_000.0  # a whole minute: 2027-01-15 08:00:00 UTC


async def _inputs(p, run: str) -> dict:
    io = (await p.client.get(f"/api/v1/runs/{run}/actions/a0/io")).json()
    return TypeEngine.decode_values(base64.b64decode(io["inputs_b64"]), {"when": datetime, "label": str})


def test_a_fixed_rate_trigger_fires_each_tick_with_its_time(tmp_path: Path) -> None:
    asyncio.run(_a_fixed_rate_trigger_fires_each_tick_with_its_time(tmp_path))


async def _a_fixed_rate_trigger_fires_each_tick_with_its_time(tmp_path: Path) -> None:
    clock = FakeClock(START)
    async with plane(tmp_path, clock) as p:
        r = await p.deploy(task_body(triggers=[every_minute()]))
        assert r.status_code == 201, r.text
        assert await p.triggers.tick() == []  # nothing due before the first interval
        clock.advance(60)
        [first] = await p.triggers.tick()
        assert await p.triggers.tick() == []  # the same tick is not fired again
        clock.advance(60)
        [second] = await p.triggers.tick()
        fires = await p.fires("env.report", "every_minute")
        assert [f["scheduled_at"] for f in fires] == [START + 60, START + 120]
        assert [f["run_name"] for f in fires] == [first, second]
        run = (await p.client.get(f"/api/v1/runs/{first}")).json()
        assert run["labels"]["trigger"] == "every_minute"
        assert run["labels"]["trigger_time"] == datetime.fromtimestamp(START + 60, timezone.utc).isoformat()
        assert run["task_name"] == "env.report"
        assert await _inputs(p, first) == {
            "when": datetime.fromtimestamp(START + 60, timezone.utc),
            "label": "tick",
        }
        listed = (await p.client.get("/api/v1/runs", params={"label": "trigger=every_minute"})).json()
        assert {r["name"] for r in listed} == {first, second}


def test_deactivate_activate_delete_and_redeploy_without_it(tmp_path: Path) -> None:
    asyncio.run(_deactivate_activate_delete_and_redeploy_without_it(tmp_path))


async def _deactivate_activate_delete_and_redeploy_without_it(tmp_path: Path) -> None:
    clock = FakeClock(START)
    async with plane(tmp_path, clock) as p:
        assert (await p.deploy(task_body(triggers=[every_minute()]))).status_code == 201
        r = await p.client.patch("/api/v1/triggers/env.report/every_minute", json={"active": False})
        assert r.status_code == 200 and r.json()["active"] is False and r.json()["next_scheduled"] is None
        clock.advance(300)
        assert await p.triggers.tick() == []
        r = await p.client.patch("/api/v1/triggers/env.report/every_minute", json={"active": True})
        assert r.json()["next_scheduled"] == START + 360  # the schedule restarts from activation
        clock.advance(60)
        assert len(await p.triggers.tick()) == 1
        # a redeploy with the same trigger keeps it; one without it deletes it
        assert (await p.deploy(task_body(version="v2", triggers=[every_minute()]))).status_code == 201
        assert (await p.client.get("/api/v1/triggers/env.report/every_minute")).json()["task_version"] == "v2"
        assert (await p.deploy(task_body(version="v3"))).status_code == 201
        assert (await p.client.get("/api/v1/triggers/env.report/every_minute")).status_code == 404
        clock.advance(600)
        assert await p.triggers.tick() == []
        # deleting through the API stops a trigger too
        assert (await p.deploy(task_body(version="v4", triggers=[every_minute("other")]))).status_code == 201
        assert (await p.client.delete("/api/v1/triggers/env.report/other")).status_code == 204
        clock.advance(600)
        assert await p.triggers.tick() == []
        assert (await p.client.delete("/api/v1/triggers/env.report/other")).status_code == 404


def test_missed_ticks_fire_once_after_a_restart(tmp_path: Path) -> None:
    asyncio.run(_missed_ticks_fire_once_after_a_restart(tmp_path))


async def _missed_ticks_fire_once_after_a_restart(tmp_path: Path) -> None:
    clock = FakeClock(START)
    async with plane(tmp_path, clock) as p:
        assert (await p.deploy(task_body(triggers=[every_minute()]))).status_code == 201
        clock.advance(60)
        assert len(await p.triggers.tick()) == 1
    clock.advance(10 * 60 + 30)  # the server is down for ten and a half ticks
    async with plane(tmp_path, clock) as p:
        started = await p.triggers.tick()
        await asyncio.sleep(0)
        fires = await p.fires("env.report", "every_minute")
        assert [f["scheduled_at"] for f in fires] == [START + 60, START + 11 * 60]  # one catch-up: the latest
        assert len(started) == 1
        assert await p.triggers.tick() == []
        clock.advance(30)
        assert len(await p.triggers.tick()) == 1  # and then on schedule again


def test_two_servers_on_one_database_fire_a_tick_once(tmp_path: Path) -> None:
    asyncio.run(_two_servers_on_one_database_fire_a_tick_once(tmp_path, None))


@pytest.mark.integration
def test_two_servers_on_one_postgres_database_fire_a_tick_once(tmp_path: Path, postgres_db: str) -> None:
    asyncio.run(_two_servers_on_one_database_fire_a_tick_once(tmp_path, postgres_db))


async def _two_servers_on_one_database_fire_a_tick_once(tmp_path: Path, db_url: str | None) -> None:
    clock = FakeClock(START)
    async with (
        plane(tmp_path / "a", clock, db_url) as a,
        plane(tmp_path / "b", clock, db_url or _db(tmp_path / "a")) as b,
    ):
        assert (await a.deploy(task_body(triggers=[every_minute()]))).status_code == 201
        for _ in range(3):
            clock.advance(60)
            await asyncio.gather(a.triggers.tick(), b.triggers.tick(), a.triggers.tick(), b.triggers.tick())
        fires = await a.fires("env.report", "every_minute")
        assert [f["scheduled_at"] for f in fires] == [START + 60, START + 120, START + 180]
        runs = (await a.client.get("/api/v1/runs", params={"label": "trigger=every_minute"})).json()
        assert len(runs) == 3


def _db(home: Path) -> str:
    return f"sqlite:///{home / 'server' / 'runs.db'}"


def _claims_once(db_url: str | None, home: Path) -> None:
    settings = ServerSettings(home=home, db_url=db_url)
    stores = [settings.open_store() for _ in range(2)]
    try:
        ensure_server_schema(stores[0])
        ensure_server_schema(stores[1])
        registries = [Registry(s) for s in stores]
        results = [r.claim_fire("env.t", "trig", START, f"run-{i}") for i, r in enumerate(registries * 2)]
        assert results.count(True) == 1
        assert [f.run_name for f in registries[1].fires("env.t", "trig")] == ["run-0"]
    finally:
        for s in stores:
            s.close()


def test_the_fire_claim_is_unique_in_sqlite(tmp_path: Path) -> None:
    _claims_once(None, tmp_path)


@pytest.mark.integration
def test_the_fire_claim_is_unique_in_postgres(tmp_path: Path, postgres_db: str) -> None:
    _claims_once(postgres_db, tmp_path)


def test_bad_task_and_trigger_bodies_are_4xx(tmp_path: Path) -> None:
    asyncio.run(_bad_task_and_trigger_bodies_are_4xx(tmp_path))


async def _bad_task_and_trigger_bodies_are_4xx(tmp_path: Path) -> None:
    async with plane(tmp_path, FakeClock(START)) as p:
        bad_cron = every_minute(automation={"kind": "cron", "expression": "not a cron"})
        assert (await p.deploy(task_body(triggers=[bad_cron]))).status_code == 400
        bad_zone = every_minute(
            automation={"kind": "cron", "expression": "0 * * * *", "timezone": "Mars/Base"}
        )
        assert (await p.deploy(task_body(triggers=[bad_zone]))).status_code == 422
        unknown_input = every_minute(trigger_time_inputs=["nope"])
        r = await p.deploy(task_body(triggers=[unknown_input]))
        assert r.status_code == 400 and "nope" in r.text
        assert (await p.deploy(task_body(name="../x"))).status_code == 422
        assert (await p.deploy(task_body(triggers=[every_minute(), every_minute()]))).status_code == 400
        assert (await p.deploy(task_body())).status_code == 201
        assert (await p.deploy(task_body())).status_code == 200  # the same version again: a no-op
        changed = task_body()
        changed["task"]["retries"] = 5
        r = await p.deploy(changed)
        assert r.status_code == 409 and "v1" in r.text
        assert (await p.client.get("/api/v1/tasks/env.nope")).status_code == 404
        assert (
            await p.client.patch("/api/v1/triggers/env.report/nope", json={"active": True})
        ).status_code == 404


def test_cron_ticks_are_read_in_their_time_zone() -> None:
    daily_9 = AutomationSpec(kind="cron", expression="0 9 * * *", timezone="Europe/London")
    july = datetime(2027, 7, 1, 12, 0, tzinfo=timezone.utc).timestamp()  # summer time: 09:00 is 08:00 UTC
    assert datetime.fromtimestamp(next_tick(daily_9, july, 0), timezone.utc) == datetime(
        2027, 7, 2, 8, 0, tzinfo=timezone.utc
    )
    # three days missed: the latest 09:00 only
    late = datetime(2027, 7, 5, 10, 0, tzinfo=timezone.utc).timestamp()
    assert datetime.fromtimestamp(latest_tick(daily_9, july, late, 0), timezone.utc) == datetime(
        2027, 7, 5, 8, 0, tzinfo=timezone.utc
    )
    start = datetime(2027, 1, 1, tzinfo=timezone.utc).timestamp()
    rate = AutomationSpec(kind="fixed_rate", interval_minutes=5, start_time=start)
    assert next_tick(rate, start - 1000, 0) == start
    assert next_tick(rate, start, 0) == start + 300
    assert latest_tick(rate, start, start + 299, 0) is None
    assert latest_tick(rate, start, start + 3000, 0) == start + 3000


def test_a_cron_tick_at_exactly_now_is_due() -> None:
    hourly = AutomationSpec(kind="cron", expression="0 * * * *")
    on_the_hour = datetime(2027, 3, 1, 10, 0, tzinfo=timezone.utc).timestamp()
    assert latest_tick(hourly, on_the_hour - 1, on_the_hour, 0) == on_the_hour
    assert latest_tick(hourly, on_the_hour, on_the_hour + 3599, 0) is None
    assert latest_tick(hourly, on_the_hour - 10 * 86400, on_the_hour + 5, 0) == on_the_hour


def test_a_fired_run_carries_its_triggers_notifications(tmp_path: Path) -> None:
    asyncio.run(_a_fired_run_carries_its_triggers_notifications(tmp_path))


async def _a_fired_run_carries_its_triggers_notifications(tmp_path: Path) -> None:
    import flyte.notify
    from flyte._deploy import _trigger_spec
    from flyte.notify._spec import from_wire
    from flyte.server.state import load_spec

    hook = flyte.notify.Webhook(url="http://127.0.0.1:9/hook", on_phase=("succeeded",))
    wire = _trigger_spec_notifications(_trigger_spec, hook)
    clock = FakeClock(START)
    async with plane(tmp_path, clock) as p:
        assert (await p.deploy(task_body(triggers=[every_minute(notifications=wire)]))).status_code == 201
        clock.advance(60)
        [run] = await p.triggers.tick()
        spec = await asyncio.to_thread(load_spec, p.store, run)
        assert spec is not None
        # what the server's notifier sends when the root action ends (flyte.notify._server)
        sent = from_wire((spec.task.model_extra or {}).get("run_notifications") or [])
        assert [type(n).__name__ for n in sent] == ["Webhook"] and sent[0].url == hook.url


def _trigger_spec_notifications(trigger_spec, hook) -> list:
    import flyte

    env = flyte.TaskEnvironment(name="notified")

    @env.task
    async def report(when: datetime, label: str = "tick") -> str:
        return label

    trigger = flyte.Trigger(
        "every_minute", flyte.FixedRate(1), inputs={"when": flyte.TriggerTime}, notifications=hook
    )
    return trigger_spec(report, trigger)["notifications"]
