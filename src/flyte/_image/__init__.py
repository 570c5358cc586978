"""``flyte.Image``: a container image described as a base plus an ordered list of layers.

The package is split by idea:

- :mod:`.image`: the ``Image`` class (constructors, ``with_*`` methods, the content-hash ``uri``);
- :mod:`.layers`: the layer kinds (``PipPackages``, ``AptPackages``, ``CopyConfig``, ...);
- :mod:`.hashing`: how files and folders contribute their contents to the identity;
- :mod:`.uv_script`: reading a script's ``# /// script`` metadata block;
- :mod:`.checks`: the argument checks shared by the constructors and ``with_*`` methods.

Turning an image into a Dockerfile and building it lives in :mod:`flyte._internal.imagebuild`.
Everything public is re-exported here, so ``from flyte._image import Image, PipPackages`` keeps working.
"""

from flyte._image.checks import Architecture
from flyte._image.image import Image
from flyte._image.layers import (
    AptPackages,
    CodeBundleLayer,
    Commands,
    CopyConfig,
    CopyConfigType,
    DockerIgnore,
    Env,
    InstallFlyte,
    Layer,
    PipOption,
    PipPackages,
    PoetryProject,
    PythonWheels,
    Requirements,
    UVProject,
    UVScript,
    WorkDir,
)
from flyte._image.uv_script import UVScriptMetadata, parse_uv_script_metadata

__all__ = [
    "AptPackages",
    "Architecture",
    "CodeBundleLayer",
    "Commands",
    "CopyConfig",
    "CopyConfigType",
    "DockerIgnore",
    "Env",
    "Image",
    "InstallFlyte",
    "Layer",
    "PipOption",
    "PipPackages",
    "PoetryProject",
    "PythonWheels",
    "Requirements",
    "UVProject",
    "UVScript",
    "UVScriptMetadata",
    "WorkDir",
    "parse_uv_script_metadata",
]
