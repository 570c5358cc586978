"""``flyte.artifacts.new``: a value that behaves like the original and carries artifact metadata."""

from __future__ import annotations

import copy
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from flyte.artifacts._metadata import Metadata

T = TypeVar("T")

ARTIFACTS_KEY = "_artifacts"
"""The entry of an action's encoded outputs that lists the artifacts it produced. Output names never
start with an underscore, so it cannot collide with one."""


@runtime_checkable
class ArtifactLike(Protocol):
    """A value that declares its own artifact metadata (e.g. a plugin's volume type)."""

    def get_artifact_metadata(self) -> Metadata: ...


class ArtifactWrapper:
    """A transparent proxy around a task output: attribute access, ``isinstance`` and the common
    dunder methods all reach the wrapped value; the engine unwraps it when encoding outputs."""

    __slots__ = ("_flyte_metadata", "_obj")

    def __init__(self, obj: Any, metadata: Metadata) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_flyte_metadata", metadata)

    def __getattribute__(self, name: str) -> Any:
        if name == "__class__":  # so that isinstance(wrapped, File) holds
            return type(object.__getattribute__(self, "_obj"))
        if name in ("_obj", "_flyte_metadata", "get_artifact_metadata"):
            return object.__getattribute__(self, name)
        return getattr(object.__getattribute__(self, "_obj"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._obj, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._obj, name)

    def get_artifact_metadata(self) -> Metadata:
        """A copy of the metadata this value is published with."""
        return copy.deepcopy(self._flyte_metadata)

    def __str__(self) -> str:
        return str(self._obj)

    def __repr__(self) -> str:
        return f"Artifact[{type(self._obj).__name__}]({self._obj!r})"

    def __eq__(self, other: object) -> bool:
        return self._obj == (other._obj if type(other) is ArtifactWrapper else other)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._obj)

    def __bool__(self) -> bool:
        return bool(self._obj)

    def __len__(self) -> int:
        return len(self._obj)

    def __iter__(self) -> Any:
        return iter(self._obj)

    def __getitem__(self, key: Any) -> Any:
        return self._obj[key]

    def __contains__(self, item: Any) -> bool:
        return item in self._obj

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._obj(*args, **kwargs)


def _check_artifactable(obj: Any) -> None:
    from flyte.io import DataFrame, Dir, File

    if isinstance(obj, (File, Dir, DataFrame)):
        return
    if not isinstance(obj, type) and callable(getattr(obj, "get_artifact_metadata", None)):
        return
    raise TypeError(
        f"flyte.artifacts.new: a {type(obj).__name__} cannot be an artifact; artifacts are offloaded "
        "data: flyte.io.File, flyte.io.Dir or flyte.io.DataFrame (wrap a dataframe with DataFrame.from_df())"
    )


def new(obj: T, metadata: Metadata) -> T:
    """Publish ``obj`` (a File, Dir or DataFrame returned by a task) as an artifact.

    The result behaves like ``obj``; return it from the task, as a top-level output.
    """
    if not isinstance(metadata, Metadata):
        raise TypeError(f"flyte.artifacts.new: metadata must be a flyte.artifacts.Metadata, got {metadata!r}")
    if type(obj) is ArtifactWrapper:
        obj = object.__getattribute__(obj, "_obj")
    _check_artifactable(obj)
    return cast(T, ArtifactWrapper(obj, metadata))
