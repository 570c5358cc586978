"""Small flytekit names: Labels, Annotations, PodTemplate, is_container()."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Labels:
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Annotations:
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class PodTemplate:
    """flytekit's pod template; recorded on the task as its ``pod_template``."""

    pod_spec: Any = None
    primary_container_name: str = "primary"
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


def is_container() -> bool:
    """Whether the code runs where a task's container would: in one of the engine's action
    executor processes (local worker processes, devbox workers), or where flytekit's own
    container marker is set; false in the process that started the run."""
    from flyte._internal import run_guard

    return bool(run_guard._executor or os.environ.get("FLYTE_INTERNAL_EXECUTION_ID"))
