"""Tasks whose code runs in Monty, Pydantic's sandboxed Python interpreter (``pydantic-monty``).

Sandboxed code has no imports, files, network or OS access, and starts in microseconds. It may
call the tasks it is given: each call suspends the sandbox, runs as a child action of the run,
and resumes the code with the result. Install the ``sandbox`` extra to use it
(``pip install 'flyte-engine[sandbox]'``); importing this module works without it::

    env = flyte.TaskEnvironment(name="pipeline")

    @env.task
    async def add(x: int, y: int) -> int:
        return x + y

    @env.sandbox.orchestrator
    def route(x: int, y: int) -> int:
        return add(add(x, y), 1)          # no await: the sandbox waits for the task

    twice = flyte.sandbox.orchestrator_from_str(
        "add(x, y) * 2", inputs={"x": int, "y": int}, output=int, tasks=[add]
    )

The reference SDK's container code sandbox (``create``, ``sandbox_environment``) is accepted at
import and raises when used: flyte-engine does not build containers on demand.
"""

from ._api import (
    ImageConfig,
    create,
    orchestrate_local,
    orchestrator,
    orchestrator_from_str,
    sandbox_environment,
    task,
)
from ._config import SandboxedConfig
from ._monty import SandboxError, SandboxNotInstalledError
from ._task import CodeTaskTemplate, OrchestratorTaskTemplate, SandboxedTaskTemplate

ORCHESTRATOR_SYNTAX_PROMPT = """\
Rules for code that runs in the Flyte sandbox (the Monty interpreter):
- Nothing can be imported; call only the functions you are given, by name, without await.
- Do not assign to subscripts (d[k] = v, l[i] = v); build lists with .append() and dicts as literals.
- No class definitions, with statements, try/except, walrus (:=), yield, global/nonlocal, del,
  assert, set literals or set comprehensions, or augmented assignment (write x = x + 1).
- The value of the last expression is the result.
- Values are int, float, str, bool, bytes, None, and lists, dicts and tuples of them; File, Dir and
  DataFrame values can be passed on to tasks but not inspected.
- flyte_map(task_name, *iterables, concurrency=0, group_name=None, return_exceptions=True) runs the
  task named task_name (a string) over the iterables in parallel and returns the list of results.
"""

__all__ = [
    "ORCHESTRATOR_SYNTAX_PROMPT",
    "CodeTaskTemplate",
    "ImageConfig",
    "OrchestratorTaskTemplate",
    "SandboxError",
    "SandboxNotInstalledError",
    "SandboxedConfig",
    "SandboxedTaskTemplate",
    "create",
    "orchestrate_local",
    "orchestrator",
    "orchestrator_from_str",
    "sandbox_environment",
    "task",
]
