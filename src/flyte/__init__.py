"""flyte: write workflows as plain Python tasks; run them locally or on a control plane.

Public names are loaded on first use so that ``import flyte`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AMD_GPU": "flyte._resources",
    "Backoff": "flyte._retry",
    "Cache": "flyte._cache",
    "CachePolicy": "flyte._cache",
    "CacheRequest": "flyte._cache",
    "Checkpoint": "flyte._checkpoint",
    "ConditionWebhook": "flyte._condition",
    "Deployment": "flyte._deploy",
    "DeploymentPlan": "flyte._deploy",
    "Cron": "flyte._trigger",
    "Device": "flyte._resources",
    "DeviceClass": "flyte._resources",
    "Documentation": "flyte._documentation",
    "Environment": "flyte._environment",
    "FixedRate": "flyte._trigger",
    "GPU": "flyte._resources",
    "HABANA_GAUDI": "flyte._resources",
    "Image": "flyte._image",
    "build": "flyte._build",
    "build_images": "flyte._build",
    "deploy": "flyte._deploy",
    "new_condition": "flyte._condition",
    "Link": "flyte._link",
    "Neuron": "flyte._resources",
    "PodTemplate": "flyte._pod",
    "Resources": "flyte._resources",
    "RetryStrategy": "flyte._retry",
    "ReusePolicy": "flyte._reusable_environment",
    "Secret": "flyte._secret",
    "SecretRequest": "flyte._secret",
    "TPU": "flyte._resources",
    "TaskEnvironment": "flyte._environment",
    "Timeout": "flyte._timeout",
    "TimeoutType": "flyte._timeout",
    "Trigger": "flyte._trigger",
    "TriggerTime": "flyte._trigger",
    "ctx": "flyte._context",
    "current_domain": "flyte._initialize",
    "current_project": "flyte._initialize",
    "custom_context": "flyte._custom_context",
    "get_custom_context": "flyte._custom_context",
    "group": "flyte._group",
    "init": "flyte._initialize",
    "init_from_config": "flyte._initialize",
    "init_from_api_key": "flyte._initialize",
    "latest_checkpoint": "flyte._checkpoint",
    "logger": "flyte._logging",
    "system_logger": "flyte._logging",
    "map": "flyte._map",
    "trace": "flyte._trace",
    "rerun": "flyte._rerun",
    "run": "flyte._run",
    "with_runcontext": "flyte._run",
}

# Public subpackages, importable on first attribute access after a bare ``import flyte``
# (``flyte.errors.RuntimeUserError`` works without ``import flyte.errors``, as with the reference).
_SUBMODULES = frozenset(
    {
        "artifacts",
        "config",
        "durable",
        "errors",
        "extend",
        "extras",
        "git",
        "io",
        "models",
        "notify",
        "remote",
        "report",
        "sandbox",
        "storage",
        "syncify",
        "types",
    }
)

__all__ = [
    "AMD_GPU",
    "Backoff",
    "Cache",
    "CachePolicy",
    "CacheRequest",
    "Checkpoint",
    "ConditionWebhook",
    "Cron",
    "Deployment",
    "DeploymentPlan",
    "Device",
    "DeviceClass",
    "Documentation",
    "Environment",
    "FixedRate",
    "GPU",
    "HABANA_GAUDI",
    "Image",
    "Link",
    "Neuron",
    "PodTemplate",
    "Resources",
    "RetryStrategy",
    "ReusePolicy",
    "Secret",
    "SecretRequest",
    "TPU",
    "TaskEnvironment",
    "Timeout",
    "TimeoutType",
    "Trigger",
    "TriggerTime",
    "__version__",
    "build",
    "build_images",
    "ctx",
    "current_domain",
    "current_project",
    "custom_context",
    "deploy",
    "get_custom_context",
    "group",
    "init",
    "init_from_api_key",
    "init_from_config",
    "latest_checkpoint",
    "logger",
    "map",
    "new_condition",
    "rerun",
    "run",
    "system_logger",
    "trace",
    "version",
    "with_runcontext",
]


def version() -> str:
    """The version of flyte-engine."""
    return __version__


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        if name in _SUBMODULES:
            try:
                return importlib.import_module(f"flyte.{name}")  # the import binds it in globals()
            except ModuleNotFoundError as e:
                if e.name != f"flyte.{name}":
                    raise
        raise AttributeError(f"module 'flyte' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return [*__all__, *sorted(_SUBMODULES)]


if TYPE_CHECKING:
    from flyte._build import build, build_images
    from flyte._cache import Cache, CachePolicy, CacheRequest
    from flyte._checkpoint import Checkpoint, latest_checkpoint
    from flyte._condition import ConditionWebhook, new_condition
    from flyte._context import ctx
    from flyte._custom_context import custom_context, get_custom_context
    from flyte._deploy import Deployment, DeploymentPlan, deploy
    from flyte._documentation import Documentation
    from flyte._environment import Environment, TaskEnvironment
    from flyte._group import group
    from flyte._image import Image
    from flyte._initialize import current_domain, current_project, init, init_from_api_key, init_from_config
    from flyte._link import Link
    from flyte._logging import logger, system_logger
    from flyte._map import map
    from flyte._pod import PodTemplate
    from flyte._rerun import rerun
    from flyte._resources import AMD_GPU, GPU, HABANA_GAUDI, TPU, Device, DeviceClass, Neuron, Resources
    from flyte._retry import Backoff, RetryStrategy
    from flyte._reusable_environment import ReusePolicy
    from flyte._run import run, with_runcontext
    from flyte._secret import Secret, SecretRequest
    from flyte._timeout import Timeout, TimeoutType
    from flyte._trace import trace
    from flyte._trigger import Cron, FixedRate, Trigger, TriggerTime
