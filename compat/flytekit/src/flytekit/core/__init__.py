"""flytekit.core: tasks, workflows, conditions, launch plans, context (see the package docstring)."""
