"""``python -m flyte._bin.worker``: claim actions from the control plane and run them.

::

    python -m flyte._bin.worker --endpoint URL --worker-id ID [--api-key KEY] [--concurrency 64]

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
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flyte._context import Frame
from flyte._internal.bundle import BundleCache, load_task
from flyte._internal.controllers._slots import Capacity
from flyte._internal.controllers._wire import b64d, b64e, error_fields
from flyte._internal.controllers.remote import LogShipper, RemoteController, RunningAction
from flyte._internal.logs import capture
from flyte._internal.overrides import apply as apply_overrides
from flyte._internal.redaction import register_secret_values
from flyte._internal.run_config import flyte_home
from flyte._internal.run_guard import mark_action_executor
from flyte._internal.runtime.execute import AttemptOverran, execute, within
from flyte._internal.secrets import SecretStore, cleanup, materialize_files, resolve_secrets
from flyte._internal.workers import ProcessExecutor, logs_of, needs_isolation, run_for_controller
from flyte._task import TaskTemplate
from flyte.errors import ActionAbortedError, InitializationError, MaxRuntimeExceededError, TaskTimeoutError
from flyte.models import ActionID, GroupData, RawDataPath, TaskContext
from flyte.remote._client import ApiClient

log = logging.getLogger("flyte.worker")

CLAIM_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0
MAX_CLAIM = 256
SYNC_THREADS = 256
"""Threads for sync tasks; a sync parent blocks one while its children run elsewhere."""


class Worker:
    """Claims actions and runs up to ``concurrency`` of them at once (see the module docstring)."""

    def __init__(self, client: ApiClient, worker_id: str, concurrency: int = 64, home: Path | None = None):
        self.client = client
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.home = home or flyte_home()
        self.logs = LogShipper(client)
        self.bundles = BundleCache(client, self.home / "worker-cache")
        self.controller: RemoteController | None = None
        self._tasks: dict[tuple[Any, ...], TaskTemplate[Any, Any]] = {}
        self._running: dict[tuple[str, str], tuple[int, asyncio.Task[None]]] = {}
        self._aborted: set[tuple[str, str]] = set()
        self._changed = asyncio.Event()
        self._threads = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="flyte-sync")
        self._processes: ProcessExecutor | None = None

    # -- the loops ------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Work until cancelled; an invalid API key ends the worker."""
        self.controller = RemoteController(self.client, recorder=self.logs, on_park=self._changed.set)
        helpers = [asyncio.ensure_future(c) for c in (self._heartbeats(), self.logs.run_forever())]
        capture.start()
        try:
            await self._claims()
        finally:
            capture.stop()
            for helper in helpers:
                helper.cancel()
            await self.shutdown()

    def _busy(self) -> int:
        parked = self.controller.parked if self.controller is not None else 0
        return len(self._running) - parked

    async def _claims(self) -> None:
        while True:
            free = self.concurrency - self._busy()
            if free <= 0:
                self._changed.clear()
                await self._changed.wait()
                continue
            body = {"worker_id": self.worker_id, "max": min(free, MAX_CLAIM), "timeout": CLAIM_SECONDS}
            try:
                batch = await self.client.acall(
                    "POST", "/api/v1/executor/claim", json=body, poll=CLAIM_SECONDS
                )
            except InitializationError:
                raise
            except Exception as e:
                log.warning("claim failed: %s", e)
                await asyncio.sleep(1.0)
                continue
            for assignment in batch or []:
                self._start(assignment)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self.heartbeat()

    async def heartbeat(self) -> set[tuple[str, str]]:
        """Renew the leases of the running actions; cancel (and return) those the server aborted."""
        actions = [[run, action, attempt] for (run, action), (attempt, _) in self._running.items()]
        body = {"worker_id": self.worker_id, "actions": actions}
        try:
            answer = await self.client.acall("POST", "/api/v1/executor/heartbeat", json=body)
        except Exception as e:
            log.warning("heartbeat failed: %s", e)
            return set()
        aborted = {(run, action) for run, action in (answer or {}).get("abort", [])}
        for run, action in aborted:
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
        task = asyncio.ensure_future(self._run_assignment(assignment))
        self._running[key] = (int(assignment.get("attempt", 0)), task)

        def done(_: asyncio.Task[None]) -> None:
            if self._running.get(key, (0, None))[1] is task:
                del self._running[key]
            self._aborted.discard(key)
            self._changed.set()

        task.add_done_callback(done)

    # -- one assignment ---------------------------------------------------------------------------

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
        )

    async def _run_assignment(self, a: dict[str, Any]) -> None:
        assert self.controller is not None
        run, action, attempt = a["run"], a["action"], int(a.get("attempt", 0))
        node: RunningAction | None = None
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
            env = {**task.env_vars, **(a.get("env") or {})}
            outputs = await self._attempt(task, node, self._context(a, task), env)
        except asyncio.CancelledError:
            if node is not None:
                self.controller.cancel_children(node, "parent action was aborted")
            if (run, action) not in self._aborted:
                raise
            return
        except Exception as e:
            if node is not None:
                self.controller.cancel_children(node, f"parent action '{action}' failed")
            if isinstance(e, ActionAbortedError) and (run, action) in await self.heartbeat():
                return  # a child was aborted because the whole run was: so is this action
            phase = "timed_out" if isinstance(e, TaskTimeoutError) else "failed"
            await self._report(a, phase, None, error_fields(e))
            return
        self.controller.cancel_children(node, f"parent action '{action}' returned before it")
        await self._report(a, "succeeded", outputs, {})

    async def _report(
        self, a: dict[str, Any], phase: str, outputs: bytes | None, error: dict[str, Any]
    ) -> None:
        run, action, attempt = a["run"], a["action"], int(a.get("attempt", 0))
        await self.logs.flush((run, action, attempt))
        assert self.controller is not None
        await self.controller.flush()
        body = {"worker_id": self.worker_id, "run": run, "action": action, "attempt": attempt, "phase": phase}
        body.update(
            outputs_b64=b64e(outputs), error_type=None, error_message=None, error_kind="user", retryable=False
        )
        body.update(error)
        try:
            await self.client.acall("POST", "/api/v1/executor/report", json=body)
        except Exception as e:  # the lease runs out and the server retries the action
            log.error("could not report %s of %s/%s (attempt %d): %s", phase, run, action, attempt, e)

    def _isolated(self, task: TaskTemplate[Any, Any], env: dict[str, str]) -> bool:
        if not (needs_isolation(task) or env):
            return False
        if self._processes is None:
            self._processes = ProcessExecutor(max_workers=max(1, int(Capacity.detect().cpus)))
        return self._processes.supports(task)

    async def _attempt(
        self, task: TaskTemplate[Any, Any], node: RunningAction, tctx: TaskContext, env: dict[str, str]
    ) -> bytes:
        assert self.controller is not None
        secrets, secrets_dir = _secrets(task, Path(tctx.output_path))  # as locally: this machine's store
        try:
            env = {**env, **secrets}
            runtime = task.timeout.max_runtime_seconds if task.timeout else None
            if self._isolated(task, env):
                return await self._in_process_worker(task, node, tctx, env, runtime)
            executor = None if task.is_async else self._threads
            try:
                attempt = execute(task, node.inputs, tctx, self.controller, node, executor)
                return await within(attempt, runtime, task.name)
            except AttemptOverran:
                pass
            raise MaxRuntimeExceededError(
                f"Task '{task.name}' (action '{node.name}') exceeded its max_runtime of {runtime:g}s on "
                f"attempt {tctx.attempt_number + 1} and was cancelled"
            )
        finally:
            cleanup(secrets_dir)

    async def _in_process_worker(
        self,
        task: TaskTemplate[Any, Any],
        node: RunningAction,
        tctx: TaskContext,
        env: dict[str, str],
        runtime: float | None,
    ) -> bytes:
        assert self.controller is not None and self._processes is not None
        frame = Frame(tctx=tctx, controller=self.controller, action=node)
        key = (node.id.run_name or "", node.name, tctx.attempt_number)
        try:
            result = await run_for_controller(
                self._processes, frame, task, node.inputs, timeout=runtime, env=env
            )
        except BaseException as e:
            self.logs.add(key, [[s, time.time(), line] for s, line in logs_of(e)])
            raise
        self.logs.add(key, [[s, time.time(), line] for s, line in result.logs])
        return result.outputs

    async def shutdown(self) -> None:
        """Stop every running action (their leases run out; the server retries them)."""
        running = [task for _, task in self._running.values()]
        for task in running:
            task.cancel("worker shutting down")
        await asyncio.gather(*running, return_exceptions=True)
        await self.logs.flush()
        if self._processes is not None:
            await self._processes.aclose()
        self._threads.shutdown(wait=False, cancel_futures=True)
        await self.client.aclose()


def _secrets(task: TaskTemplate[Any, Any], base: Path) -> tuple[dict[str, str], Path | None]:
    """Environment variables (and mounted files) for the secrets ``task`` requests."""
    if not task.secrets:
        return {}, None
    resolved = resolve_secrets(task.secrets, SecretStore(), task.name)
    register_secret_values(resolved.values)
    files = materialize_files(resolved, base)
    return {**resolved.env, **files.env}, files.root


# -- the command --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flyte._bin.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="URL of the control plane")
    parser.add_argument("--api-key", default=None, help="API key (default: $FLYTE_API_KEY)")
    parser.add_argument("--worker-id", required=True, help="name of this worker, unique among workers")
    parser.add_argument("--concurrency", type=int, default=64, help="actions run at once (default 64)")
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
