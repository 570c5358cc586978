"""The config file (``.flyte/config.yaml``) as objects: ``flyte.config.auto()`` returns a
:class:`Config` with its platform, task and image parts. ``flyte.init_from_config`` accepts
a path or a Config."""

from flyte.config._config import Config, ImageConfig, PlatformConfig, TaskConfig, auto, set_if_exists
from flyte.config._reader import ConfigFile, find_config_file, get_config_file

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
