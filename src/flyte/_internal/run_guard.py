"""No run is started by importing user code in a process that executes actions.

A worker process (local or devbox) imports the module a task lives in. A script that calls
``flyte.run(...)`` at module level, without an ``if __name__ == "__main__":`` guard, would then
start the run again in every worker, each of which starts workers of its own: a process
explosion. So a process marks itself as an action executor (``mark_action_executor``), and in
such a process ``flyte.run`` called outside a task raises ``RunDuringImport``. The loaders of
user code catch it and keep the module as executed up to that call (the tasks a script defines
before its ``flyte.run`` line are all there); everything after the call does not run, just as a
``__main__`` block would not.
"""

from __future__ import annotations

import importlib.machinery
from types import ModuleType

_executor = False


class RunDuringImport(Exception):
    """``flyte.run`` was called while an action-executing process imported user code."""


def mark_action_executor() -> None:
    """This process executes actions: module-level ``flyte.run`` calls are not runs here."""
    global _executor
    _executor = True


def refuse_run_during_import(task_name: str) -> None:
    """Raise ``RunDuringImport`` when starting a run now could only be a module-level call
    re-executed by a worker (an executor process with no task running in this context)."""
    if not _executor:
        return
    from flyte._context import current_frame

    if current_frame() is None:
        raise RunDuringImport(f"flyte.run({task_name}) at import time in a worker process: not started")


def exec_user_module(spec: importlib.machinery.ModuleSpec, module: ModuleType) -> None:
    """Execute ``module`` from ``spec``; a module-level ``flyte.run`` ends it there (see above)."""
    assert spec.loader is not None
    try:
        spec.loader.exec_module(module)
    except RunDuringImport:
        pass
