"""``FlytePickle``: values of types without a transformer travel pickled (the engine warns once)."""

from flyte.types import FlytePickle

__all__ = ["FlytePickle"]
