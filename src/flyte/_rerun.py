"""``flyte.rerun``: run a recorded run's task again with the same inputs, optionally recovering."""

from __future__ import annotations

import asyncio

from flyte._initialize import get_init_config
from flyte._internal.loader import load_task
from flyte._internal.run_config import flyte_home
from flyte._internal.runtime.convert import decode_inputs
from flyte._internal.store import open_store
from flyte._run import _Runner
from flyte._syncify import syncify
from flyte.errors import ActionNotFoundError
from flyte.remote import Run


@syncify
async def rerun(run_name: str, recover: bool = False, name: str | None = None) -> Run:
    """Start a new run of the task and inputs of ``run_name``.

    With ``recover=True`` every action that succeeded in that run (and every ``@flyte.trace``
    call it finished) is replayed from the store instead of executed again; only what failed,
    was aborted or never ran executes. This works after a failure and after the process running
    the original run was killed.
    """
    if get_init_config().is_remote:
        from flyte.remote._remote_run import rerun_remote  # the HTTP client loads only for remote runs

        return await asyncio.to_thread(rerun_remote, run_name, recover, name)
    store = open_store(flyte_home())
    store.reap_dead_runs()
    record = store.get_run(run_name)
    if record is None:
        raise ActionNotFoundError(f"No run named '{run_name}' in {flyte_home()}")
    task = load_task(record.task_name, record.task_module, record.task_file, record.root_dir)
    inputs, _ = store.action_io(run_name, "a0")
    if inputs is None:
        raise ActionNotFoundError(f"Run '{run_name}' recorded no inputs for its root action")
    kwargs = decode_inputs(task, inputs)
    runner = _Runner("local", name=name, recover_from=run_name if recover else None)
    return await runner.run.aio(task, **kwargs)
