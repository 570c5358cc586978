"""``python -m flyte._bin.worker``: claim actions from the control plane and run them.

::

    python -m flyte._bin.worker --endpoint URL --worker-id ID [--api-key KEY] [--concurrency 256]

The key may come from ``FLYTE_API_KEY`` instead of the command line (which other users can see).

The worker long-polls ``claim`` for up to ``concurrency`` actions at a time (an action waiting on
its children does not count, as in a local run) and runs each with the shared runtime
(``runtime.execute``) and a :class:`RemoteController`:

- the code bundle is downloaded and extracted once per hash into
  ``<FLYTE_HOME>/worker-cache/<sha256>/``, and the task is imported from there;
- async tasks run on the worker's event loop, sync tasks on threads; an action that needs what a
  thread cannot give (its own environment variables, a stoppable timeout, a memory limit, a
  reusable environment) runs in a worker process of its own, exactly as the local controller does;
- stdout, stderr and ``logging`` output are captured per action and posted in batches;
- every 5 s a heartbeat renews the leases of the running actions; those the server answers to
  abort are cancelled (and not reported: the server has already ended them);
- the outcome is reported once per attempt; the server decides about retries.

Running one assignment is :class:`AttemptRunner`'s job, shared with the Ray executor
(:mod:`flyte.server.executors.ray_task`), whose Ray tasks run assignments with the same code and
report over the same API; :class:`Worker` adds the claim loop, the heartbeats and aborts.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from flyte._internal.bundle import BundleCache, load_task
from flyte._internal.controllers._batch import Coalescer
from flyte._internal.controllers._wire import b64d, b64e, error_fields
from flyte._internal.controllers.remote import LogShipper, RemoteController, RunningAction
from flyte._internal.core import ActionPolicy, children_reason
from flyte._internal.core.attempt import AttemptPools, run_attempt, secrets_env
from flyte._internal.logs import capture
from flyte._internal.overrides import apply as apply_overrides
from flyte._internal.parent_death import die_with_parent
from flyte._internal.run_config import flyte_home
from flyte._internal.run_guard import mark_action_executor
from flyte._internal.store.records import report_key
from flyte._task import TaskTemplate
from flyte.errors import ActionAbortedError, InitializationError, TaskTimeoutError
from flyte.models import ActionID, ActionPhase, GroupData, RawDataPath, TaskContext
from flyte.remote._client import ApiClient
from flyte.remote._task import WORKER_ENDPOINT_ENV

log = logging.getLogger("flyte.worker")

CLAIM_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0
"""Longest wait between lease renewals (a heartbeat long-polls for aborts meanwhile)."""
IDLE_SECONDS = 0.2
"""How often a worker with nothing running looks whether an attempt started."""
MAX_CLAIM = 256
MAX_REPORTS = 500
"""Attempt outcomes sent in one request (the server's bound)."""
SYNC_THREADS = 256
"""Threads for sync tasks; a sync parent blocks one while its children run elsewhere."""


async def claim_forever(
    client: ApiClient,
    worker_id: str,
    free: Callable[[], int],
    room: asyncio.Event,
    start: Callable[[dict[str, Any]], None],
) -> None:
    """Long-poll the server for actions while ``free()`` says there is room (waiting on ``room``,
    which whoever frees room sets, when there is none) and ``start`` each one claimed. Shared by
    the process worker and the Ray dispatcher. A failed claim is retried after a second; only an
    initialization error (bad key, gone server) ends the loop."""
    while True:
        slots = free()
        if slots <= 0:
            room.clear()
            await room.wait()
            continue
        body = {"worker_id": worker_id, "max": min(slots, MAX_CLAIM), "timeout": CLAIM_SECONDS}
        try:
            batch = await client.acall("POST", "/api/v1/executor/claim", json=body, poll=CLAIM_SECONDS)
        except InitializationError:
            raise
        except Exception as e:
            log.warning("claim failed: %s", e)
            await asyncio.sleep(1.0)
            continue
        for assignment in batch or []:
            start(assignment)


async def post_heartbeat(
    client: ApiClient, worker_id: str, actions: list[list[Any]], wait: float
) -> set[tuple[str, str]] | None:
    """Renew the leases of ``actions`` (``[run, action, attempt]``) held by ``worker_id``; the
    actions the server wants stopped, or None when the call failed. ``wait``: see ``keep_leases``."""
    body = {"worker_id": worker_id, "actions": actions, "wait": wait}
    try:
        answer = await client.acall("POST", "/api/v1/executor/heartbeat", json=body, poll=wait or None)
    except Exception as e:
        log.warning("heartbeat failed: %s", e)
        return None
    return {(run, action) for run, action in (answer or {}).get("abort", [])}


def stops_that_apply(
    aborted: set[tuple[str, str]],
    named: Mapping[tuple[str, str], object],
    running: Mapping[tuple[str, str], Any],
) -> list[tuple[str, str]]:
    """The actions of a heartbeat's answer to stop here: those still running the attempt the
    heartbeat named (``named``: what ran when it was sent; ``running``: what runs now).

    The answer about an attempt that ended meanwhile (the server no longer holds it) is not about
    the newer attempt, a retry, that replaced it here: the next heartbeat names that one, and
    stops it at once if it is aborted too."""
    return [key for key in aborted if key in running and named.get(key, running[key]) is running[key]]


async def keep_leases(
    heartbeat: Callable[[float], Awaitable[set[Any] | None]], busy: Callable[[], bool]
) -> None:
    """Renew the leases of the running attempts for as long as there are some.

    Each ``heartbeat(wait)`` is a long-poll: the server answers at once when one of the actions
    is aborted (so an abort reaches its attempt without waiting for the next beat) and otherwise
    after ``wait`` seconds, renewing the leases both times. ``heartbeat`` returns the aborted
    actions, or None when the call failed. Shared by the process worker and the Ray dispatcher.
    """
    loop = asyncio.get_running_loop()
    while True:
        if not busy():
            await asyncio.sleep(IDLE_SECONDS)
            continue
        started = loop.time()
        aborted = await heartbeat(HEARTBEAT_SECONDS)
        quick = loop.time() - started < 0.5
        if aborted is None:
            await asyncio.sleep(1.0)
        elif not aborted and quick:  # a server that does not hold heartbeats: beat at the old pace
            await asyncio.sleep(HEARTBEAT_SECONDS)


class AttemptRunner:
    """Runs assignments (one attempt of one action each) and reports their outcomes.

    The one attempt runner of the remote executors: the process worker and the Ray executor's
    tasks both call :meth:`run_assignment`. It owns what attempts share in one process: the
    controller that submits child actions, the log shipper, the bundle cache and the pools that
    run sync and isolated tasks. Call :meth:`start` on the event loop that will run attempts.
    """

    def __init__(
        self,
        client: ApiClient,
        worker_id: str,
        home: Path | None = None,
        on_park: Callable[[], None] | None = None,
        hand_back_reports: bool = False,
    ):
        self.client = client
        self.hand_back_reports = hand_back_reports
        """Do not send the outcome: :meth:`run_assignment` returns the report (once the attempt's
        logs and traces are sent) for its caller to send. The Ray executor's tasks hand it back to
        the dispatcher, which sends the reports of many Ray tasks in one request."""
        self.worker_id = worker_id
        """The name attempts are reported under (the lease holder's)."""
        self.home = home or flyte_home()
        self.logs = LogShipper(client)
        self.bundles = BundleCache(client, self.home / "worker-cache")
        self.controller = RemoteController(client, recorder=self.logs, on_park=on_park)
        self._tasks: dict[tuple[Any, ...], TaskTemplate[Any, Any]] = {}
        self.pools = AttemptPools(SYNC_THREADS)
        self._shipper: asyncio.Future[None] | None = None
        self._reporter: Coalescer[dict[str, Any], dict[str, Any]] = Coalescer(self._send_reports, MAX_REPORTS)

    async def _send_reports(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The outcomes of the attempts that ended in one step, in one request."""
        answer = await self.client.acall("POST", "/api/v1/executor/report:batch", json={"reports": bodies})
        return list(answer["results"])

    def start(self) -> None:
        """Start shipping logs and capturing each action's output (on the running loop)."""
        if self._shipper is None:
            self._shipper = asyncio.ensure_future(self.logs.run_forever())
            capture.start()

    async def _task_of(self, ref: dict[str, Any]) -> tuple[TaskTemplate[Any, Any], Path]:
        bundle_dir = await self.bundles.ensure(ref["bundle_key"])
        cache_key = (
            ref["bundle_key"],
            ref.get("module"),
            ref.get("file"),
            ref["name"],
            ref.get("overrides_b64"),
            ref.get("by_value_b64"),
        )
        task = self._tasks.get(cache_key)
        if task is None:
            by_value = b64d(ref.get("by_value_b64"))
            task = load_task(bundle_dir, ref["name"], ref.get("module"), ref.get("file"), by_value)
            task = apply_overrides(task, b64d(ref.get("overrides_b64")))
            self._tasks[cache_key] = task
        return task, bundle_dir

    def _context(self, a: dict[str, Any], task: TaskTemplate[Any, Any]) -> TaskContext:
        run, action, attempt = a["run"], a["action"], int(a.get("attempt", 0))
        base = self.home / "worker-runs" / run
        group = a.get("group")
        return TaskContext(
            action=ActionID(
                name=action, run_name=run, project=a["task"].get("project"), domain=a["task"].get("domain")
            ),
            mode="remote",
            raw_data_path=RawDataPath(path=a.get("raw_data_path") or str(self.home / "data")),
            run_base_dir=str(base),
            output_path=f"{base}/{action}/{attempt}",
            custom_context=dict(a.get("custom_context") or {}),
            attempt_number=attempt,
            task_name=task.name,
            group_data=GroupData(group) if group else None,
            version=a["task"].get("version") or "",  # set for deployed tasks (flyte deploy)
        )

    async def aborted_on_server(self, run: str, action: str, attempt: int) -> bool:
        """Whether the server no longer wants this attempt (aborted, or given to another worker)."""
        body = {"worker_id": self.worker_id, "actions": [[run, action, attempt]]}
        try:
            answer = await self.client.acall("POST", "/api/v1/executor/heartbeat", json=body)
        except Exception as e:
            log.warning("heartbeat failed: %s", e)
            return False
        return [run, action] in [list(x) for x in (answer or {}).get("abort", [])]

    async def run_assignment(
        self,
        a: dict[str, Any],
        cancelled_by_abort: Callable[[], bool] = lambda: False,
        confirm_abort: Callable[[], Awaitable[bool]] | None = None,
    ) -> dict[str, Any] | None:
        """Run one attempt of ``a`` and report its outcome, unless it was aborted.

        With ``hand_back_reports`` the report is returned instead of sent (None: nothing to
        report, the attempt was aborted). When the attempt is cancelled, ``cancelled_by_abort()``
        tells whether the server aborted it (then nothing is reported; otherwise the cancellation
        propagates). When a child raises
        ``ActionAbortedError``, ``confirm_abort()`` (default: ask the server) tells whether this
        action was aborted along with it.
        """
        run, action, attempt = a["run"], a["action"], int(a.get("attempt", 0))
        node: RunningAction | None = None
        never_started = False
        try:
            task, bundle_dir = await self._task_of(a["task"])
            inputs = b64d(a.get("inputs_b64")) or b""
            node = RunningAction(
                ActionID(
                    name=action,
                    run_name=run,
                    project=a["task"].get("project"),
                    domain=a["task"].get("domain"),
                ),
                task.name,
                inputs,
                a["task"]["bundle_key"],
                bundle_dir,
            )
            node.attempts = attempt + 1
            if a.get("source_run"):  # recovering a run: its trace calls are replayed, not redone
                node.replay = await self.controller.traces_to_replay(a["source_run"], action)
            node.created_at = float(a.get("created_at") or node.created_at)
            env = {**task.env_vars, **(a.get("env") or {})}
            tctx = self._context(a, task)
            with ExitStack() as secrets:  # from this machine's store, as for a local run
                try:
                    env.update(secrets.enter_context(secrets_env(task, Path(tctx.output_path))))
                except Exception:  # a missing secret: the task never starts (no attempt counted)
                    never_started = True
                    raise
                outputs = await self._attempt(task, node, tctx, env)
        except asyncio.CancelledError:
            if node is not None:
                self.controller.cancel_children(node, "parent action was aborted")
            if not cancelled_by_abort():
                raise
            return None
        except Exception as e:
            if node is not None:
                self.controller.cancel_children(node, children_reason(action, ActionPhase.FAILED))
            if isinstance(e, ActionAbortedError):
                confirmed = (
                    await confirm_abort()
                    if confirm_abort is not None
                    else await self.aborted_on_server(run, action, attempt)
                )
                if confirmed:
                    return None  # a child was aborted because the whole run was: so is this action
            phase = "timed_out" if isinstance(e, TaskTimeoutError) else "failed"
            error = {**error_fields(e), **await self._upload_report(a, node)}
            if never_started:
                error["attempt_started"] = False
            return await self._report(a, phase, None, error)
        self.controller.cancel_children(node, children_reason(action, ActionPhase.SUCCEEDED))
        return await self._report(a, "succeeded", outputs, await self._upload_report(a, node))

    async def _upload_report(self, a: dict[str, Any], node: RunningAction | None) -> dict[str, str]:
        """Store the attempt's report (``report=True`` tasks) through the data proxy, so that it is
        served by the control plane rather than left in this worker's directory; the field that
        tells the server where it is (none when there is no report)."""
        if node is None or not node.report_path:
            return {}
        key = report_key(a["run"], a["action"], int(a.get("attempt", 0)))
        try:
            data = await asyncio.to_thread(Path(node.report_path).read_bytes)
            await self.client.aupload(key, data)
        except Exception as e:  # the outcome matters more than its report
            log.error("could not upload the report of %s/%s: %s", a["run"], a["action"], e)
            return {}
        return {"report_key": key}

    async def _report(
        self, a: dict[str, Any], phase: str, outputs: bytes | None, error: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Send (or, with ``hand_back_reports``, return) the outcome, after the attempt's logs and
        traces: the server must hold them all when it records the outcome."""
        run, action, attempt = a["run"], a["action"], int(a.get("attempt", 0))
        await self.logs.flush((run, action, attempt))
        await self.controller.flush()
        body = {"worker_id": self.worker_id, "run": run, "action": action, "attempt": attempt, "phase": phase}
        body.update(
            outputs_b64=b64e(outputs), error_type=None, error_message=None, error_kind="user", retryable=False
        )
        body.update(error)
        if self.hand_back_reports:
            return body
        try:
            await self._reporter.submit(body)
        except Exception as e:  # the lease runs out and the server retries the action
            log.error("could not report %s of %s/%s (attempt %d): %s", phase, run, action, attempt, e)
        return None

    async def _attempt(
        self, task: TaskTemplate[Any, Any], node: RunningAction, tctx: TaskContext, env: dict[str, str]
    ) -> bytes:
        """One attempt through the action core's runner (``env`` holds its secrets); the deadline
        counts from the action's creation on the server."""
        deadline_at = ActionPolicy.of_task(task).deadline_at(node.created_at)
        return await run_attempt(
            task, node, tctx, self.controller, self.pools, env, deadline_at, self.logs.log_lines
        )

    async def aclose(self) -> None:
        """Ship the last logs and stop the pools and the client (attempts must have ended)."""
        if self._shipper is not None:
            self._shipper.cancel()
            capture.stop()
            self._shipper = None
        await self.logs.flush()
        await self.pools.aclose()
        await self.client.aclose()


class Worker:
    """Claims actions and runs up to ``concurrency`` of them at once (see the module docstring)."""

    def __init__(self, client: ApiClient, worker_id: str, concurrency: int = 256, home: Path | None = None):
        self.client = client
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.runner = AttemptRunner(client, worker_id, home, on_park=self._wake)
        self._running: dict[tuple[str, str], tuple[int, asyncio.Task[Any]]] = {}
        self._aborted: set[tuple[str, str]] = set()
        self._changed = asyncio.Event()

    def _wake(self) -> None:
        self._changed.set()

    # -- the loops ------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Work until cancelled; an invalid API key ends the worker."""
        heartbeats = asyncio.ensure_future(self._heartbeats())
        self.runner.start()
        try:
            await self._claims()
        finally:
            heartbeats.cancel()
            await self.shutdown()

    def _busy(self) -> int:
        return len(self._running) - self.runner.controller.parked

    async def _claims(self) -> None:
        await claim_forever(
            self.client, self.worker_id, lambda: self.concurrency - self._busy(), self._changed, self._start
        )

    async def _heartbeats(self) -> None:
        await keep_leases(self.heartbeat, lambda: bool(self._running))

    async def heartbeat(self, wait: float = 0.0) -> set[tuple[str, str]] | None:
        """Renew the leases of the running actions; cancel (and return) those the server aborted.
        With ``wait`` the server holds the answer until one is aborted or ``wait`` seconds pass.
        None when the call failed."""
        named = dict(self._running)
        actions = [[run, action, attempt] for (run, action), (attempt, _) in named.items()]
        aborted = await post_heartbeat(self.client, self.worker_id, actions, wait)
        for run, action in stops_that_apply(aborted or set(), named, self._running):
            self.abort(run, action, "aborted on the control plane")
        return aborted

    def abort(self, run: str, action: str, reason: str) -> None:
        """Cancel a running action; it is not reported (the server has already ended it)."""
        entry = self._running.get((run, action))
        if entry is not None and not entry[1].done():
            self._aborted.add((run, action))
            entry[1].cancel(reason)

    def _start(self, assignment: dict[str, Any]) -> None:
        key = (assignment["run"], assignment["action"])
        previous = self._running.get(key)
        if previous is not None:  # a newer attempt replaces one the server gave up on
            previous[1].cancel("superseded by a newer attempt")

        async def confirm_abort() -> bool:
            return key in (await self.heartbeat() or ())

        task = asyncio.ensure_future(
            self.runner.run_assignment(assignment, lambda: key in self._aborted, confirm_abort)
        )
        self._running[key] = (int(assignment.get("attempt", 0)), task)

        def done(_: asyncio.Task[Any]) -> None:
            if self._running.get(key, (0, None))[1] is task:
                del self._running[key]
            self._aborted.discard(key)
            self._changed.set()

        task.add_done_callback(done)

    async def shutdown(self) -> None:
        """Stop every running action (their leases run out; the server retries them)."""
        running = [task for _, task in self._running.values()]
        for task in running:
            task.cancel("worker shutting down")
        await asyncio.gather(*running, return_exceptions=True)
        await self.runner.aclose()


# -- the command --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flyte._bin.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="URL of the control plane")
    parser.add_argument("--api-key", default=None, help="API key (default: $FLYTE_API_KEY)")
    parser.add_argument("--worker-id", required=True, help="name of this worker, unique among workers")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=256,
        help="actions run at once (default 256; a sync task holds one of as many threads)",
    )
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    return parser


async def _watch_parent(pid: int, main: asyncio.Task[None]) -> None:
    while True:
        await asyncio.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log.warning("parent process %d is gone; stopping", pid)
            main.cancel()
            return
        except PermissionError:
            pass


async def _serve(args: argparse.Namespace) -> None:
    # a worker waits out a server that is still starting as patiently as one that restarts
    client = ApiClient(args.endpoint, args.api_key or os.environ.get("FLYTE_API_KEY"), first_contact_for=60.0)
    os.environ[WORKER_ENDPOINT_ENV] = client.endpoint  # for flyte.remote.Task.get in task processes
    worker = Worker(client, args.worker_id, max(1, args.concurrency))
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main.cancel)
    watcher = asyncio.ensure_future(_watch_parent(args.parent_pid, main)) if args.parent_pid else None
    log.info("worker %s serving %s (concurrency %d)", args.worker_id, client.endpoint, worker.concurrency)
    try:
        await worker.run()
    except asyncio.CancelledError:
        log.info("worker %s stopped", args.worker_id)
    finally:
        if watcher is not None:
            watcher.cancel()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    die_with_parent()  # before anything slow: a server killed meanwhile must not leave us behind
    mark_action_executor()  # a bundle's module-level flyte.run must not submit runs from here
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s flyte-worker[%(process)d] %(levelname)s %(message)s"
    )
    for noisy in ("httpx", "httpcore"):  # a line per request would drown the actions' own logs
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        asyncio.run(_serve(args))
    except InitializationError as e:
        log.error("%s", e)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
