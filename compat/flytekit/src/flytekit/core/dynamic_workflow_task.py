"""``from flytekit.core.dynamic_workflow_task import dynamic`` (flytekit's module path)."""

from flytekit.core.python_function_task import dynamic

__all__ = ["dynamic"]
