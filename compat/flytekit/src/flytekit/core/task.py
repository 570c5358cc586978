"""``from flytekit.core.task import task`` (flytekit's module path)."""

from flytekit.core.python_function_task import PythonFunctionTask, eager, task

__all__ = ["PythonFunctionTask", "eager", "task"]
