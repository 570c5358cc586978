"""flytekit's module path ``flytekit.types.file.file``."""

from flytekit.types.file import FlyteFile

__all__ = ["FlyteFile"]
