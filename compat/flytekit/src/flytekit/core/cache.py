"""flytekit's cache settings (``cache=True, cache_version=...`` or ``cache=Cache(...)``) as a flyte Cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cache:
    """flytekit 1.15+'s ``Cache``: ``version`` (computed from the function body when None),
    ``serialize``, ``ignored_inputs``, ``salt`` and ``policies``."""

    version: str | None = None
    serialize: bool = False
    ignored_inputs: tuple[str, ...] | str = field(default_factory=tuple)
    salt: str = ""
    policies: Any = None


def to_flyte_cache(
    cache: bool | Cache, version: str | None, serialize: bool, ignore: tuple[str, ...] | list[str] | str
) -> Any:
    """``"disable"``, or a flyte Cache whose version is the explicit one (``override``) or the
    function body's hash (``auto``), as flytekit 1.16 computes one when no version is given."""
    import flyte

    if isinstance(cache, Cache):
        version = cache.version or version
        serialize = cache.serialize or serialize
        ignore = cache.ignored_inputs or ignore
        salt = cache.salt
    elif not cache:
        if version or serialize or ignore:
            raise ValueError("cache_version, cache_serialize and cache_ignore_input_vars need cache=True")
        return "disable"
    else:
        salt = ""
    ignored: tuple[str, ...] = (ignore,) if isinstance(ignore, str) else tuple(ignore or ())
    return flyte.Cache(
        behavior="override" if version else "auto",
        version_override=version or None,
        serialize=bool(serialize),
        ignored_inputs=ignored,
        salt=salt,
    )
