"""Finding and reading the YAML config file (``.flyte/config.yaml``).

One search order serves ``flyte.init_from_config``, ``flyte.config.auto`` and the CLI: an
explicit path, ``$FLYTE_CONFIG`` / ``$FLYTECTL_CONFIG``, ``./.flyte/config.yaml``, then
``~/.flyte/config.yaml``. A value can be overridden by an environment variable named after its
dotted key: ``admin.endpoint`` -> ``FLYTE_ADMIN_ENDPOINT``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flyte.errors import InitializationError

CONFIG_ENV_VARS = ("FLYTE_CONFIG", "FLYTECTL_CONFIG")


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    """The config file to use: the explicit path, ``$FLYTE_CONFIG``, ``./.flyte/config.yaml``,
    then ``~/.flyte/config.yaml``; None when there is none."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InitializationError("ConfigNotFound", "user", f"Config file '{path}' does not exist")
        return path
    for var in CONFIG_ENV_VARS:
        value = os.environ.get(var)
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise InitializationError(
                    "ConfigNotFound", "user", f"${var} points at '{path}', which does not exist"
                )
            return path
    for candidate in (Path.cwd() / ".flyte" / "config.yaml", Path.home() / ".flyte" / "config.yaml"):
        if candidate.is_file():
            return candidate
    return None


def read_config(path: Path) -> dict[str, Any]:
    """The mapping held by the YAML file at ``path``; InitializationError when it is not one."""
    import yaml  # only when a config file exists

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise InitializationError(
            "BadConfig", "user", f"Config file '{path}' is not valid YAML: {e}"
        ) from None
    if not isinstance(data, dict):
        raise InitializationError("BadConfig", "user", f"Config file '{path}' must hold a mapping at the top")
    return data


class ConfigFile:
    """A loaded config file: ``get("admin.endpoint")`` looks a dotted key up in it."""

    def __init__(self, location: str | Path):
        self._location = str(location)
        self._yaml_config = read_config(Path(location))

    @property
    def path(self) -> Path:
        return Path(self._location)

    @property
    def yaml_config(self) -> dict[str, Any]:
        return self._yaml_config

    def get(self, key: str) -> Any:
        """The value at dotted ``key`` (``"task.project"``), or None when any part is missing."""
        node: Any = self._yaml_config
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def __repr__(self) -> str:
        return f"ConfigFile({self._location!r})"


def get_config_file(c: str | Path | ConfigFile | None = None) -> ConfigFile | None:
    """``c`` loaded as a ConfigFile; with None, the file the search order finds (or None)."""
    if isinstance(c, ConfigFile):
        return c
    path = find_config_file(c)
    return ConfigFile(path) if path is not None else None


def env_name(key: str) -> str:
    """The variable that overrides dotted ``key``: ``admin.endpoint`` -> ``FLYTE_ADMIN_ENDPOINT``."""
    return "FLYTE_" + key.upper().replace(".", "_")


def read_entry(cfg: ConfigFile | None, key: str) -> Any:
    """``key`` from its environment variable if set, else from ``cfg``."""
    from_env = os.environ.get(env_name(key))
    if from_env is not None:
        return from_env
    return cfg.get(key) if cfg is not None else None
