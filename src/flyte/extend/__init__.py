"""Extension points for plugin authors: custom task types and what they need.

- :class:`AsyncFunctionTaskTemplate`: subclass it and override ``execute`` (or ``pre``/``post``)
  to change how the tasks of your plugin run.
- :data:`TaskPluginRegistry`: ``TaskPluginRegistry.register(MyConfig, MyTemplate)`` makes every
  task of ``TaskEnvironment(plugin_config=MyConfig(...))`` a ``MyTemplate``.
- :func:`pod_spec_from_resources`, :data:`PRIMARY_CONTAINER_DEFAULT_NAME`, :func:`is_initialized`.

``ImageBuildEngine``, ``download_code_bundle`` and ``get_proto_resources`` concern the reference
backend: importing them works; using them raises :class:`UnsupportedExtensionError`.
"""

from flyte._image import Architecture
from flyte._initialize import is_initialized
from flyte._task import TaskTemplate

from ._platform import (
    PRIMARY_CONTAINER_DEFAULT_NAME,
    ImageBuildEngine,
    ImageBuilder,
    ImageChecker,
    UnsupportedExtensionError,
    download_code_bundle,
    get_proto_resources,
    pod_spec_from_resources,
)
from ._registry import TaskPluginRegistry
from ._template import AsyncFunctionTaskTemplate

__all__ = [
    "PRIMARY_CONTAINER_DEFAULT_NAME",
    "Architecture",
    "AsyncFunctionTaskTemplate",
    "ImageBuildEngine",
    "ImageBuilder",
    "ImageChecker",
    "TaskPluginRegistry",
    "TaskTemplate",
    "UnsupportedExtensionError",
    "download_code_bundle",
    "get_proto_resources",
    "is_initialized",
    "pod_spec_from_resources",
]
