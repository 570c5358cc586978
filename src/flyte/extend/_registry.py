"""``TaskPluginRegistry``: which template class builds the tasks of a given ``plugin_config`` type."""

from __future__ import annotations

from typing import Any

from flyte._task import _PLUGIN_TEMPLATES, TaskTemplate, register_task_plugin


class _Registry:
    """Maps a plugin's config type to the template class its tasks are built as.

    ``TaskEnvironment(plugin_config=MyConfig(...))`` makes every ``@env.task`` of that environment
    an instance of the class registered for ``MyConfig`` (looked up by exact type).
    """

    def register(self, config_type: type, plugin: type[TaskTemplate[Any, Any]]) -> None:
        """Build tasks whose ``plugin_config`` is a ``config_type`` as ``plugin`` instances."""
        if not isinstance(config_type, type):
            raise TypeError(f"TaskPluginRegistry.register: config_type must be a class, got {config_type!r}")
        if not (isinstance(plugin, type) and issubclass(plugin, TaskTemplate)):
            raise TypeError(
                f"TaskPluginRegistry.register: plugin for {config_type.__name__} must be a subclass of "
                f"flyte.extend.AsyncFunctionTaskTemplate, got {plugin!r}"
            )
        register_task_plugin(config_type, plugin)

    def find(self, config_type: type) -> type[TaskTemplate[Any, Any]] | None:
        """The template class registered for ``config_type``, or ``None``."""
        return _PLUGIN_TEMPLATES.get(config_type)

    def list_plugins(self) -> list[type]:
        """The config types that have a plugin, in registration order."""
        return list(_PLUGIN_TEMPLATES)

    def __repr__(self) -> str:
        return f"TaskPluginRegistry(plugins={self.list_plugins()})"


TaskPluginRegistry = _Registry()
"""The process-wide plugin registry; plugins register when their module is imported."""
