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
    """Whether the code runs inside a task's container: true in the engine's worker processes and
    on the devbox (they set ``FLYTE_INTERNAL_EXECUTION_ID`` or ``FLYTE_WORKER``), false locally."""
    return bool(os.environ.get("FLYTE_INTERNAL_EXECUTION_ID") or os.environ.get("_F_CTR"))
