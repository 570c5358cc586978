"""The config file (``.flyte/config.yaml``) as objects: ``flyte.config.auto()`` returns a
:class:`Config` with its platform, task and image parts. ``flyte.init_from_config`` accepts
a path or a Config.

The Config classes load on first use, so that ``flyte.init`` (which needs only the file
search) stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flyte.config._reader import ConfigFile, find_config_file, get_config_file

_LAZY = {
    "Config": "flyte.config._config",
    "ImageConfig": "flyte.config._config",
    "PlatformConfig": "flyte.config._config",
    "TaskConfig": "flyte.config._config",
    "auto": "flyte.config._config",
    "set_if_exists": "flyte.config._config",
}

__all__ = [
    "Config",
    "ConfigFile",
    "ImageConfig",
    "PlatformConfig",
    "TaskConfig",
    "auto",
    "find_config_file",
    "get_config_file",
    "set_if_exists",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flyte.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from flyte.config._config import Config, ImageConfig, PlatformConfig, TaskConfig, auto, set_if_exists
