"""``python -m flyte.server.executors.ray_dispatch``: the Ray executor's driver.

::

    python -m flyte.server.executors.ray_dispatch --endpoint URL --worker-id ID \\
        [--ray-address HOST:PORT] [--home DIR] [--default-cpus 1]

It speaks the executor protocol like a worker process (the key comes from ``FLYTE_API_KEY``), but
runs nothing itself: each claimed action becomes one Ray task (:func:`ray_task.run_attempt`), with
its ``flyte.Resources`` mapped to Ray's (:mod:`ray_resources`), and Ray places it on a node with
room. The Ray task runs the attempt and hands its report back; the dispatcher

- sends the reports of many Ray tasks in one ``report:batch`` request;
- fails at once (``ResourceExhaustedError``, not retried) an action no live node could ever hold;
- runs the attempts of a quick task (its attempts lately ran under ``QUICK_SECONDS``) several to a
  Ray task (:func:`ray_task.run_attempts`, one after the other with the task's resources) when
  one claim holds more of them than the cluster has room for at once;
- runs the attempts of a reusable environment (``flyte.ReusePolicy``) on a pool of warm Ray actors
  (:class:`ray_task.AttemptActor`) instead: up to ``max`` replicas of ``concurrency`` attempts
  each, started on first use and stopped when idle past ``scaledown_ttl`` / ``idle_ttl``;
- renews the leases of all its Ray tasks every 5 s, and cancels with ``ray.cancel`` those the
  server answers to abort (``force=True`` for a sync task, whose thread cannot be interrupted);
- reports a Ray task that ended without handing a report back (its Ray worker or node died, the
  Ray worker ran out of memory) as a failed attempt with a retryable ``WorkerDiedError`` /
  ``OOMError``, so that the server retries it per the task's ``retries``, and asks Ray for the
  live nodes again before placing more. A report for an attempt already reported is ignored by
  the server: each attempt is recorded once.

Ray itself never retries (``max_retries=0``): the server decides. When this process dies, Ray
cancels the tasks it owns and the server queues their actions again (the process executor
restarts the dispatcher).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import math
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import ray.exceptions

import ray
from flyte._bin.worker import MAX_REPORTS, claim_forever, keep_leases, post_heartbeat, stops_that_apply
from flyte._internal.controllers._batch import Coalescer
from flyte._internal.controllers._wire import error_fields
from flyte._internal.parent_death import die_with_parent
from flyte.errors import InitializationError, OOMError, ResourceExhaustedError, WorkerDiedError
from flyte.remote._client import ApiClient
from flyte.server.executors.ray_resources import demand, ray_options, slots, unfit
from flyte.server.executors.ray_task import AttemptActor, Handed, WorkerConfig, run_attempt, run_attempts

log = logging.getLogger("flyte.ray")

MAX_IN_FLIGHT = 10_000
"""Ray tasks submitted and not yet ended; Ray queues those without room on a node."""
NODES_TTL_SECONDS = 5.0
"""How long the cluster's node list is trusted before it is asked again."""
CLAIM_LOOPS = 2
"""Claims out at once: while the server commits one, the next is already asked for."""
REPORTS_IN_FLIGHT = 2
"""Batched report requests out at once; the reports that come meanwhile leave together next."""
QUICK_SECONDS = 0.05
"""A task whose attempts lately ran shorter than this is quick: its attempts may share a Ray task."""
MAX_BATCH = 256
"""Attempts in one Ray task at most."""
BATCH_SECONDS = 0.1
"""How long the attempts of one Ray task are expected to run in all, at most."""
ABORT_GRACE_SECONDS = 1.0
"""How long an aborted attempt that shares a Ray task may take to come up (it is quick) before the
whole Ray task is cancelled, and the others in it run again in Ray tasks of their own."""


@dataclass(eq=False)
class _Flight:
    """One submitted attempt (``ref`` is None while it waits for a replica of its pool, or when it
    is in a ``batch``)."""

    attempt: int
    ref: Any
    is_async: bool
    aborted: bool = False
    replica: _Replica | None = None
    batch: _Batch | None = None


@dataclass(eq=False)
class _Batch:
    """Attempts of one quick task run one after the other in one Ray task (``run_attempts``)."""

    flights: list[tuple[dict[str, Any], _Flight]]
    is_async: bool
    ref: Any = None
    handed: int = 0
    """The attempts handed back so far (the first ones of ``flights``)."""
    cancelling: bool = False
    ended: bool = False


@dataclass
class _Replica:
    """One actor of a reusable environment's pool."""

    handle: Any
    running: int = 0
    idle_since: float = field(default_factory=time.monotonic)


@dataclass
class _Pool:
    """The warm replicas (Ray actors) of one reusable environment, per ``ReusePolicy``."""

    name: str
    options: dict[str, Any]
    low: int
    high: int
    concurrency: int
    idle_ttl: float
    scaledown_ttl: float
    replicas: list[_Replica] = field(default_factory=list)
    waiting: deque[tuple[dict[str, Any], _Flight]] = field(default_factory=deque)
    last_used: float = field(default_factory=time.monotonic)
    made: int = 0

    def free(self) -> _Replica | None:
        """The least busy replica with room, if any."""
        room = [r for r in self.replicas if r.running < self.concurrency]
        return min(room, key=lambda r: r.running) if room else None


def node_ip_for(address: str | None) -> str | None:
    """The IP this driver announces to Ray: the head's when it is a loopback address.

    Ray would otherwise announce the host's outward interface (and rewrite 127.0.0.1 to it),
    and a driver on loopback must join the raylet listening there.
    """
    if not address:
        return None
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    try:
        return host if ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


class RayDispatcher:
    """Claims actions and runs each as a Ray task (see the module docstring)."""

    def __init__(
        self,
        client: ApiClient,
        worker_id: str,
        *,
        api_key: str | None = None,
        address: str | None = None,
        home: str | None = None,
        default_cpus: float = 1.0,
    ):
        self.client = client
        self.worker_id = worker_id
        self._api_key = api_key
        self.address = address
        self.home = home
        self.default_cpus = default_cpus
        self._flights: dict[tuple[str, str], _Flight] = {}
        self._pools: dict[tuple[str, ...], _Pool] = {}
        self._room = asyncio.Event()
        self._nodes: list[dict[str, float]] = []
        self._nodes_at = 0.0
        self._config: Any = None
        self._remote: Any = None
        self._batched: Any = None
        self._pending: list[dict[str, Any]] = []
        self._seconds: dict[tuple[str, str], float] = {}
        """How long the attempts of each task (bundle, name) ran lately."""
        self._batches: set[_Batch] = set()
        # the reports the Ray tasks hand back, sent in batches: one request at a time, the
        # reports that come meanwhile leave together in the next
        self._reporter: Coalescer[dict[str, Any], dict[str, Any]] = Coalescer(
            self._send_reports, MAX_REPORTS, max_inflight=REPORTS_IN_FLIGHT
        )

    # -- Ray ------------------------------------------------------------------------------------------

    def connect(self) -> None:
        """Join the Ray cluster at ``address`` (start a private local one when None)."""
        ray.init(
            address=self.address,
            _node_ip_address=node_ip_for(self.address),
            namespace="flyte",
            log_to_driver=False,
            include_dashboard=False if self.address is None else None,
            configure_logging=False,
            # no runtime environment (FLYTE_HOME travels in the WorkerConfig): a job with one gets
            # no worker Ray has started ahead, each of its workers is started anew (seconds)
        )
        config = WorkerConfig(
            endpoint=self.client.endpoint,
            worker_id=self.worker_id,
            api_key=self._api_key,
            home=self.home,
        )
        self._config = ray.put(config)
        # Ray never retries: the control plane decides (and counts) retries
        self._remote = ray.remote(max_retries=0, retry_exceptions=False)(run_attempt)
        self._batched = ray.remote(max_retries=0, retry_exceptions=False, num_returns="streaming")(
            run_attempts
        )
        self._actor = ray.remote(max_restarts=0, max_task_retries=0)(AttemptActor)
        nodes = self.node_totals(refresh=True)
        log.info("joined Ray at %s: %d nodes", self.address or "a new local cluster", len(nodes))

    def node_totals(self, refresh: bool = False) -> list[dict[str, float]]:
        """The total resources of each live node (cached for a few seconds)."""
        now = time.monotonic()
        if refresh or now - self._nodes_at > NODES_TTL_SECONDS:
            self._nodes = [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]
            self._nodes_at = now
        return self._nodes

    # -- the loops ------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Dispatch until cancelled."""
        await asyncio.to_thread(self.connect)
        heartbeats = asyncio.ensure_future(self._heartbeats())
        try:
            await self._claims()
        finally:
            heartbeats.cancel()
            for flight in self._flights.values():
                with contextlib.suppress(Exception):
                    if flight.ref is not None and flight.replica is None:
                        ray.cancel(flight.ref, force=True)
            for batch in self._batches:
                with contextlib.suppress(Exception):
                    ray.cancel(batch.ref, force=True)
            for pool in self._pools.values():
                for replica in pool.replicas:
                    with contextlib.suppress(Exception):
                        ray.kill(replica.handle)
            with contextlib.suppress(Exception):
                await self.client.aclose()
            ray.shutdown()

    async def _claims(self) -> None:
        loops = [
            claim_forever(
                self.client,
                self.worker_id,
                lambda: MAX_IN_FLIGHT - len(self._flights),
                self._room,
                self._start,
            )
            for _ in range(CLAIM_LOOPS)
        ]
        await asyncio.gather(*loops)

    def _start(self, assignment: dict[str, Any]) -> None:
        # the assignments of one claim are handed to Ray together, once the claim is read
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._submit_pending)
        self._pending.append(assignment)

    def _submit_pending(self) -> None:
        pending, self._pending = self._pending, []
        self.submit_all(pending)

    def _lost(self, a: dict[str, Any], e: Exception) -> None:
        log.error("could not hand %s/%s to Ray", a["run"], a["action"], exc_info=e)
        lost = WorkerDiedError(f"the Ray executor could not submit this attempt: {e}")
        self._report_later(a, lost, retryable=True)

    def submit_all(self, assignments: list[dict[str, Any]]) -> None:
        """Hand assignments to Ray (or fail at once one no node could ever run): each in a Ray task
        of its own, except the attempts of a quick task (see ``QUICK_SECONDS``), which share Ray
        tasks when there are more of them than the cluster has room for at once."""
        quick: dict[tuple[str, ...], list[tuple[dict[str, Any], _Flight, dict[str, Any]]]] = {}
        for a in assignments:
            try:
                admitted = self._admit(a)
                if admitted is None:
                    continue
                flight, options = admitted
                key = self._quick_key(a["task"], options)
                if key is None:
                    self._launch(a, flight, options)
                else:
                    quick.setdefault(key, []).append((a, flight, options))
            except Exception as e:  # one bad assignment must not end the dispatcher
                self._lost(a, e)
        for group in quick.values():
            try:
                self._launch_group(group)
            except Exception as e:
                for a, flight, _ in group:
                    if flight.ref is None and flight.batch is None:
                        self._lost(a, e)

    def _admit(self, a: dict[str, Any]) -> tuple[_Flight, dict[str, Any]] | None:
        """The flight and Ray options of an assignment to run in a Ray task; None when it is
        failed at once (no node could ever run it) or goes to a pool of actors."""
        run, action, attempt = a["run"], a["action"], int(a.get("attempt", 0))
        ref_of_task = a["task"]
        options = ray_options(ref_of_task.get("resources"), self.default_cpus)
        wanted = demand(options)
        why = unfit(wanted, self.node_totals())
        if why is not None:
            why = unfit(wanted, self.node_totals(refresh=True))  # a node may have joined since
        if why is not None:
            error = ResourceExhaustedError(
                f"Task '{ref_of_task['name']}' (action '{action}') cannot run on this Ray cluster: {why}",
            )
            self._report_later(a, error, retryable=False)
            return None
        previous = self._flights.get((run, action))
        if previous is not None:  # the server gave up on the previous attempt
            self._cancel(run, action, previous)
        flight = _Flight(attempt, None, bool(ref_of_task.get("is_async")))
        self._flights[(run, action)] = flight
        reusable = ref_of_task.get("reusable")
        if reusable:
            pool = self._pool_for(a, reusable, options)
            pool.waiting.append((a, flight))
            self._fill(pool)
            return None
        return flight, options

    def _launch(self, a: dict[str, Any], flight: _Flight, options: dict[str, Any]) -> None:
        name = a["task"]["name"]
        flight.ref = self._remote.options(name=f"{name} {a['run']}/{a['action']}", **options).remote(
            self._config, a
        )
        asyncio.ensure_future(self._watch(a, flight))

    # -- quick tasks: several attempts in one Ray task ------------------------------------------------

    def _quick_key(self, ref_of_task: dict[str, Any], options: dict[str, Any]) -> tuple[str, ...] | None:
        """What the attempts that may share a Ray task with this one have in common (the task and
        its Ray options); None when its task is not known to be quick."""
        task = (str(ref_of_task.get("bundle_key")), str(ref_of_task["name"]))
        seconds = self._seconds.get(task)
        if seconds is None or seconds > QUICK_SECONDS:
            return None
        return (*task, repr(sorted(options.items())))

    @staticmethod
    def _task_of(a: dict[str, Any]) -> tuple[str, str]:
        return str(a["task"].get("bundle_key")), str(a["task"]["name"])

    def _learn(self, a: dict[str, Any], seconds: float) -> None:
        """Remember how long an attempt of this task ran: a slow one at once, quick ones on average."""
        task = self._task_of(a)
        before = self._seconds.get(task)
        self._seconds[task] = seconds if before is None or seconds > before else (before + seconds) / 2

    def _launch_group(self, group: list[tuple[dict[str, Any], _Flight, dict[str, Any]]]) -> None:
        """Run the attempts of one quick task in at least as many Ray tasks as the cluster has
        room for at once (at most ``MAX_BATCH`` attempts in each): sharing a Ray task never makes
        an attempt wait for room the cluster has."""
        a, _, options = group[0]
        room = slots(demand(options), self.node_totals())
        seconds = self._seconds.get(self._task_of(a), QUICK_SECONDS)
        most = min(MAX_BATCH, max(1, int(BATCH_SECONDS / max(seconds, 1e-4))))
        size = 1 if room is None else max(1, min(most, math.ceil(len(group) / max(1, room))))
        for start in range(0, len(group), size):
            chunk = group[start : start + size]
            if len(chunk) == 1:
                a, flight, options = chunk[0]
                self._launch(a, flight, options)
                continue
            batch = _Batch([(a, flight) for a, flight, _ in chunk], chunk[0][1].is_async)
            first = chunk[0][0]
            name = f"{first['task']['name']} x{len(chunk)} {first['run']}/{first['action']}"
            batch.ref = self._batched.options(name=name, **options).remote(
                self._config, [a for a, _, _ in chunk]
            )
            for _, flight, _ in chunk:
                flight.batch = batch
            self._batches.add(batch)
            asyncio.ensure_future(self._watch_batch(batch))

    async def _watch_batch(self, batch: _Batch) -> None:
        """Send each report as the Ray task of ``batch`` hands it back; when the Ray task ends early,
        report the rest lost (its worker or node died) or run them again (it was cancelled for an
        aborted attempt among them)."""
        lost: Exception | None = None
        try:
            async for ref in batch.ref:
                ended: list[Handed] = await ref
                for report, seconds in ended:
                    a, flight = batch.flights[batch.handed]
                    batch.handed += 1
                    flight.batch = None
                    if report is not None:
                        self._learn(a, seconds)
                    if report is not None and not flight.aborted:
                        asyncio.ensure_future(self._deliver(a, flight, report))
                    else:
                        self._forget(a, flight)
        except (ray.exceptions.TaskCancelledError, asyncio.CancelledError):
            pass
        except ray.exceptions.OutOfMemoryError as e:
            lost = OOMError("OOMError", f"the Ray worker ran out of memory: {_first_line(e)}")
        except ray.exceptions.RayError as e:
            self._nodes_at = 0.0  # a node may have died: ask again before placing a retry
            where = "node" if isinstance(e, ray.exceptions.NodeDiedError) else "worker"
            lost = WorkerDiedError(f"the Ray {where} running this attempt died: {_first_line(e)}")
        finally:
            batch.ended = True
            self._batches.discard(batch)
        for a, flight in batch.flights[batch.handed :]:
            flight.batch = None
            if flight.aborted or self._flights.get((a["run"], a["action"])) is not flight:
                self._forget(a, flight)
            elif batch.cancelling:  # stopped for another attempt's abort: this one runs again
                self._launch(a, flight, ray_options(a["task"].get("resources"), self.default_cpus))
            elif lost is not None:
                asyncio.ensure_future(self._deliver(a, flight, self._failure(a, lost)))
            else:  # cancelled from outside (the dispatcher is stopping): the lease runs out
                self._forget(a, flight)

    def _stop_batch(self, batch: _Batch, flight: _Flight) -> None:
        """Cancel ``batch`` if its aborted ``flight`` has not come up yet (see ABORT_GRACE_SECONDS)."""
        unhanded = [f for _, f in batch.flights[batch.handed :]]
        if batch.ended or batch.cancelling or not any(f is flight for f in unhanded):
            return
        a = next(a for a, f in batch.flights if f is flight)
        log.info(
            "cancelling a Ray task of %d attempts for %s/%s, aborted, among them",
            len(unhanded), a["run"], a["action"],
        )  # fmt: skip
        batch.cancelling = True
        with contextlib.suppress(Exception):
            ray.cancel(batch.ref, force=not batch.is_async)

    # -- reusable environments: pools of actors ------------------------------------------------------

    def _pool_for(self, a: dict[str, Any], policy: dict[str, Any], options: dict[str, Any]) -> _Pool:
        scope = a["run"] if policy.get("scope") == "run" else ""
        bundle = a["task"].get("bundle_key") or ""
        key = (str(policy.get("env")), bundle, scope, repr(sorted(options.items())))
        pool = self._pools.get(key)
        if pool is None:
            low, high = (int(x) for x in policy.get("replicas") or (1, 1))
            pool = self._pools[key] = _Pool(
                name=str(policy.get("env")), options=options, low=low, high=max(1, high),
                concurrency=max(1, int(policy.get("concurrency") or 1)),
                idle_ttl=float(policy.get("idle_ttl") or 30.0),
                scaledown_ttl=float(policy.get("scaledown_ttl") or 30.0),
            )  # fmt: skip
        return pool

    def _fill(self, pool: _Pool) -> None:
        """Start the waiting attempts of ``pool`` on replicas with room, adding replicas up to max."""
        while pool.waiting:
            a, flight = pool.waiting[0]
            if flight.aborted:
                pool.waiting.popleft()
                continue
            replica = pool.free()
            if replica is None and len(pool.replicas) < pool.high:
                pool.made += 1
                handle = self._actor.options(
                    name=f"flyte:{pool.name}:{self.worker_id}:{pool.made}",
                    max_concurrency=pool.concurrency + 1,  # one thread stays free for abort()
                    **pool.options,
                ).remote(self._config)
                replica = _Replica(handle)
                pool.replicas.append(replica)
            if replica is None:
                return
            pool.waiting.popleft()
            replica.running += 1
            pool.last_used = time.monotonic()
            flight.replica = replica
            flight.ref = replica.handle.run.remote(a)
            asyncio.ensure_future(self._watch(a, flight, pool))

    def _release(self, pool: _Pool, flight: _Flight, dead: bool) -> None:
        replica = flight.replica
        if replica is not None:
            replica.running -= 1
            replica.idle_since = time.monotonic()
            if dead and replica in pool.replicas:
                pool.replicas.remove(replica)
        pool.last_used = time.monotonic()
        self._fill(pool)

    def reap(self) -> None:
        """Stop replicas idle past the policy: all of a pool after ``idle_ttl``, those above the
        minimum after ``scaledown_ttl``."""
        now = time.monotonic()
        for key, pool in list(self._pools.items()):
            busy = pool.waiting or any(r.running for r in pool.replicas)
            if not busy and now - pool.last_used > pool.idle_ttl:
                for replica in pool.replicas:
                    with contextlib.suppress(Exception):
                        ray.kill(replica.handle)
                del self._pools[key]
                continue
            for replica in list(pool.replicas):
                idle = replica.running == 0 and now - replica.idle_since > pool.scaledown_ttl
                if idle and len(pool.replicas) > pool.low:
                    with contextlib.suppress(Exception):
                        ray.kill(replica.handle)
                    pool.replicas.remove(replica)

    async def _watch(self, a: dict[str, Any], flight: _Flight, pool: _Pool | None = None) -> None:
        """Wait for the Ray task of ``flight`` and send its report (or the report of its loss).

        The flight stays listed (its lease renewed) until the server has the report; a replica's
        slot is free as soon as the Ray task has ended."""
        report: dict[str, Any] | None = None
        dead = False
        try:
            handed: Handed = await flight.ref
            report, seconds = handed
            if report is not None:
                self._learn(a, seconds)
        except (ray.exceptions.TaskCancelledError, asyncio.CancelledError):
            pass
        except ray.exceptions.OutOfMemoryError as e:
            if not flight.aborted:
                report = self._failure(
                    a, OOMError("OOMError", f"the Ray worker ran out of memory: {_first_line(e)}")
                )
        except ray.exceptions.RayError as e:
            self._nodes_at = 0.0  # a node may have died: ask again before placing a retry
            dead = isinstance(e, ray.exceptions.RayActorError)
            if not flight.aborted:
                where = "node" if isinstance(e, ray.exceptions.NodeDiedError) else "worker"
                report = self._failure(
                    a, WorkerDiedError(f"the Ray {where} running this attempt died: {_first_line(e)}")
                )
        finally:
            if pool is not None:
                self._release(pool, flight, dead)
        if report is None:
            self._forget(a, flight)
        else:
            await self._deliver(a, flight, report)

    async def _deliver(self, a: dict[str, Any], flight: _Flight, report: dict[str, Any]) -> None:
        """Send the report of ``flight``; it is forgotten once the server has it."""
        try:
            await self._send(report)
        finally:
            self._forget(a, flight)

    def _forget(self, a: dict[str, Any], flight: _Flight) -> None:
        key = (a["run"], a["action"])
        if self._flights.get(key) is flight:
            del self._flights[key]
            self._room.set()

    def _report_later(self, a: dict[str, Any], error: Exception, retryable: bool) -> None:
        asyncio.ensure_future(self._report(a, error, retryable))

    async def _report(self, a: dict[str, Any], error: Exception, retryable: bool = True) -> None:
        await self._send(self._failure(a, error, retryable))

    def _failure(self, a: dict[str, Any], error: Exception, retryable: bool = True) -> dict[str, Any]:
        """The report of a failed attempt that its Ray task could not report itself."""
        body: dict[str, Any] = {
            "worker_id": self.worker_id,
            "run": a["run"],
            "action": a["action"],
            "attempt": int(a.get("attempt", 0)),
            "phase": "failed",
            "outputs_b64": None,
        }
        body.update(error_fields(error), retryable=retryable)
        log.warning("%s/%s attempt %s: %s", a["run"], a["action"], body["attempt"], error)
        return body

    async def _send(self, body: dict[str, Any]) -> None:
        try:
            await self._reporter.submit(body)
        except Exception as e:  # the lease runs out and the server retries the action
            log.error(
                "could not report %s/%s (attempt %s): %s", body["run"], body["action"], body["attempt"], e
            )

    async def _send_reports(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer = await self.client.acall("POST", "/api/v1/executor/report:batch", json={"reports": bodies})
        return list(answer["results"])

    async def _heartbeats(self) -> None:
        await keep_leases(self.heartbeat, lambda: bool(self._flights))

    async def heartbeat(self, wait: float = 0.0) -> set[tuple[str, str]] | None:
        """Renew the leases of the Ray tasks; cancel (and return) those the server aborted (a
        long-poll of up to ``wait`` seconds, see ``keep_leases``); None when the call failed."""
        self.reap()
        flights = list(self._flights.items())
        if not flights:
            return set()
        actions = [[run, action, f.attempt] for (run, action), f in flights]
        aborted = await post_heartbeat(self.client, self.worker_id, actions, wait)
        for run, action in stops_that_apply(aborted or set(), dict(flights), self._flights):
            flight = self._flights[(run, action)]
            if flight.aborted:
                continue
            log.info("cancelling %s/%s on Ray (aborted on the control plane)", run, action)
            self._cancel(run, action, flight)
        return aborted

    def _cancel(self, run: str, action: str, flight: _Flight) -> None:
        """Stop one attempt: ``ray.cancel`` its task (forced for a sync task), or ask its replica."""
        flight.aborted = True
        if flight.batch is not None:  # quick: it may come up before the whole Ray task is stopped
            asyncio.get_running_loop().call_later(ABORT_GRACE_SECONDS, self._stop_batch, flight.batch, flight)
            return
        with contextlib.suppress(Exception):
            if flight.replica is not None:
                flight.replica.handle.abort.remote(run, action)
            elif flight.ref is not None:
                ray.cancel(flight.ref, force=not flight.is_async)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# -- the command --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m flyte.server.executors.ray_dispatch", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--endpoint", required=True, help="URL of the control plane")
    parser.add_argument("--worker-id", required=True, help="name of this dispatcher among workers")
    parser.add_argument("--ray-address", default=None, help="HOST:PORT of the Ray cluster's head")
    parser.add_argument("--home", default=None, help="FLYTE_HOME of the attempts (default: the node's)")
    parser.add_argument("--default-cpus", type=float, default=1.0, help="num_cpus of a task without cpu=")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    key = os.environ.get("FLYTE_API_KEY")
    client = ApiClient(args.endpoint, key, first_contact_for=60.0)
    dispatcher = RayDispatcher(
        client, args.worker_id, api_key=key, address=args.ray_address, home=args.home,
        default_cpus=args.default_cpus,
    )  # fmt: skip
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main.cancel)
    try:
        await dispatcher.run()
    except asyncio.CancelledError:
        log.info("ray dispatcher %s stopped", args.worker_id)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    die_with_parent()  # the server that started this dispatcher may die: do not outlive it
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s flyte-ray[%(process)d] %(levelname)s %(message)s"
    )
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        asyncio.run(_serve(args))
    except InitializationError as e:
        log.error("%s", e)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
