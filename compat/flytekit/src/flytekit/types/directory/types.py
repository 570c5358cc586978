"""flytekit's module path ``flytekit.types.directory.types``."""

from flytekit.types.directory import FlyteDirectory

__all__ = ["FlyteDirectory"]
