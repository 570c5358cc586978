"""flytekit 1.x programs on flyte-engine: ``import flytekit`` backed by the Flyte 2 engine.

Every public name is loaded on first use, so ``import flytekit`` itself costs almost nothing;
a real flytekit distribution installed in the same environment makes the import fail with one
line saying what to uninstall (see ``flytekit._guard``). ``docs/flytekit.md`` in the flyte-engine
repository describes what maps onto what, and where this layer differs from flytekit.
"""

from __future__ import annotations

import importlib
from typing import Any

from flytekit._guard import refuse_if_shadowing

refuse_if_shadowing()

__version__ = "1.16.0+flyte.engine"

_EXPORTS: dict[str, str] = {
    "Annotations": "flytekit.core.options",
    "ArrayNodeMapTask": "flytekit.core.array_node_map_task",
    "BlobType": "flytekit.models.core.types",
    "Cache": "flytekit.core.cache",
    "CronSchedule": "flytekit.core.schedule",
    "Deck": "flytekit.deck",
    "Email": "flytekit.core.notification",
    "ExecutionParameters": "flytekit.core.context_manager",
    "FixedRate": "flytekit.core.schedule",
    "FlyteContext": "flytekit.core.context_manager",
    "FlyteContextManager": "flytekit.core.context_manager",
    "FlyteDirectory": "flytekit.types.directory",
    "FlyteFile": "flytekit.types.file",
    "HashMethod": "flytekit.core.hash",
    "ImageSpec": "flytekit.image_spec",
    "Labels": "flytekit.core.options",
    "LaunchPlan": "flytekit.core.launch_plan",
    "Literal": "flytekit.models.literals",
    "LiteralType": "flytekit.models.types",
    "PagerDuty": "flytekit.core.notification",
    "PodTemplate": "flytekit.core.options",
    "PythonFunctionTask": "flytekit.core.python_function_task",
    "Resources": "flytekit.core.resources",
    "Scalar": "flytekit.models.literals",
    "Secret": "flytekit.core.security",
    "SecurityContext": "flytekit.core.security",
    "Slack": "flytekit.core.notification",
    "StructuredDataset": "flytekit.types.structured",
    "StructuredDatasetType": "flytekit.types.structured",
    "TaskMetadata": "flytekit.core.base_task",
    "TypeEngine": "flytekit.core.type_engine",
    "TypeTransformer": "flytekit.core.type_engine",
    "Workflow": "flytekit.core.workflow",
    "WorkflowExecutionPhase": "flytekit.core.notification",
    "WorkflowFailurePolicy": "flytekit.core._runner",
    "conditional": "flytekit.core.condition",
    "create_node": "flytekit.core.node",
    "current_context": "flytekit.core.context_manager",
    "dynamic": "flytekit.core.python_function_task",
    "eager": "flytekit.core.python_function_task",
    "is_container": "flytekit.core.options",
    "kwtypes": "flytekit.core.base_task",
    "logger": "flytekit.core.context_manager",
    "map_task": "flytekit.core.array_node_map_task",
    "task": "flytekit.core.python_function_task",
    "workflow": "flytekit.core.workflow",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flytekit' has no attribute {name!r} (flyte-engine's flytekit layer)")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
