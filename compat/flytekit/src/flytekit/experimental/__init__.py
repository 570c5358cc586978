"""``from flytekit.experimental import eager`` (where flytekit 1.10-1.13 kept it)."""

from flytekit.core.python_function_task import eager

__all__ = ["eager"]
