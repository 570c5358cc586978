"""Task output caching settings: ``flyte.Cache``, ``flyte.CachePolicy`` and the ``cache=`` argument forms.

``Cache`` only describes *whether* and *under which version* outputs are reused; looking results up
and storing them is the engine's job. :func:`function_body_version` is the default way a version is
derived: a hash of the task function's source, so editing the body starts a fresh cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Protocol, Union, get_args, runtime_checkable

__all__ = [
    "Cache",
    "CacheBehavior",
    "CachePolicy",
    "CacheRequest",
    "FunctionBodyPolicy",
    "VersionParameters",
    "cache_from_request",
    "function_body_version",
]

CacheBehavior = Literal["auto", "override", "disable"]

# Spellings people commonly type for the two obvious cases; the SDK accepts the same ones.
_BEHAVIOR_ALIASES: dict[str, str] = {
    "enable": "auto",
    "enabled": "auto",
    "on": "auto",
    "true": "auto",
    "yes": "auto",
    "off": "disable",
    "false": "disable",
    "no": "disable",
    "none": "disable",
    "disabled": "disable",
}


@dataclass(frozen=True)
class VersionParameters:
    """What a :class:`CachePolicy` may look at to compute a version.

    Args:
        func: the task function (may be ``None`` for tasks without a Python body).
        image: the task's image, as a URI string or ``flyte.Image``.
        code_bundle: the code bundle the task runs from, when there is one.
    """

    func: Optional[Callable[..., Any]]
    image: Any = None
    code_bundle: Any = None


@runtime_checkable
class CachePolicy(Protocol):
    """Anything with ``get_version(salt, params) -> str`` can decide a task's cache version.

    The returned strings of all policies of a :class:`Cache` are combined and hashed.
    """

    def get_version(self, salt: str, params: VersionParameters) -> str: ...


def function_body_version(func: Callable[..., Any]) -> str:
    """A stable hex digest of ``func``'s source code.

    Comments, blank lines and indentation changes do not affect it (the parsed syntax tree is
    hashed); any change to the code does. When the source cannot be read (functions built at run
    time, the interactive prompt) the compiled code object is hashed instead.
    """
    import inspect

    target = inspect.unwrap(func) if callable(func) else func
    target = getattr(target, "__func__", target)  # bound/static/class methods
    try:
        import ast
        import textwrap

        source = textwrap.dedent(inspect.getsource(target))
        tree = ast.parse(source)
        payload = ast.dump(tree, annotate_fields=True, include_attributes=False).encode("utf-8")
    except (OSError, TypeError, SyntaxError, IndentationError):
        code = getattr(target, "__code__", None)
        if code is None:
            raise TypeError(
                f"cannot compute a cache version for {func!r}: it has neither readable source nor a code "
                "object"
            ) from None
        payload = _code_fingerprint(code)
    return hashlib.sha256(payload).hexdigest()


def _code_fingerprint(code: Any) -> bytes:
    parts: list[bytes] = [code.co_code, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    for const in code.co_consts:
        parts.append(_code_fingerprint(const) if hasattr(const, "co_code") else repr(const).encode())
    return b"\x00".join(parts)


@dataclass(frozen=True)
class FunctionBodyPolicy:
    """The default policy: the version is the hash of the task function's source plus the salt."""

    def get_version(self, salt: str, params: VersionParameters) -> str:
        """Hash of the function body combined with ``salt``; empty when there is no function."""
        if params.func is None:
            return ""
        return hashlib.sha256((function_body_version(params.func) + salt).encode("utf-8")).hexdigest()


def _normalize_behavior(value: object) -> str:
    valid = get_args(CacheBehavior)
    if isinstance(value, bool):  # ours: True/False read as on/off
        return "auto" if value else "disable"
    if isinstance(value, str):
        if value in valid:
            return value
        aliased = _BEHAVIOR_ALIASES.get(value.strip().lower())
        if aliased is not None:
            return aliased
    raise ValueError(
        f"Cache behavior: {value!r} is not a cache behavior; use one of {', '.join(repr(v) for v in valid)} "
        f"(also accepted: {', '.join(repr(a) for a in sorted(_BEHAVIOR_ALIASES))}, True, False)"
    )


@dataclass(frozen=True)
class Cache:
    """Whether a task's outputs are reused for identical inputs, and under which version.

    Behaviors:

    - ``"auto"``: the version comes from ``policies`` (by default a hash of the function body), so
      changing the code invalidates earlier results.
    - ``"override"``: the version is ``version_override``; results stay valid until you change it.
    - ``"disable"``: never reuse; the task always runs.

    Args:
        behavior: ``"auto"``, ``"override"`` or ``"disable"``; common spellings such as ``"enabled"`` or
            ``"off"`` are accepted too.
        version_override: an explicit version string; when set, policies are not consulted.
        serialize: if True, concurrent runs with the same inputs wait for a single execution and share
            its result.
        ignored_inputs: an input name, or a tuple of names, left out of the cache key.
        salt: extra text mixed into the version, e.g. to start a separate cache namespace.
        policies: a :class:`CachePolicy` or a list of them; defaults to ``[FunctionBodyPolicy()]``
            unless the behavior is ``"disable"``.
    """

    behavior: CacheBehavior
    version_override: Optional[str] = None
    serialize: bool = False
    ignored_inputs: Union[tuple[str, ...], str] = field(default_factory=tuple)
    salt: str = ""
    policies: Optional[Union[list[CachePolicy], CachePolicy]] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "behavior", _normalize_behavior(self.behavior))
        if self.version_override is not None and not isinstance(self.version_override, str):
            raise TypeError(
                f"Cache version_override: expected a string or None, got {self.version_override!r}"
            )
        if self.version_override is not None and not self.version_override.strip():
            raise ValueError("Cache version_override: an empty string is not a version; give text or None")
        if not isinstance(self.serialize, bool):
            raise TypeError(f"Cache serialize: expected True or False, got {self.serialize!r}")
        if not isinstance(self.salt, str):
            raise TypeError(f"Cache salt: expected a string, got {self.salt!r}")
        ignored = self.ignored_inputs
        if isinstance(ignored, str):
            ignored = (ignored,)
        elif isinstance(ignored, (list, tuple, set, frozenset)):
            ignored = tuple(sorted(ignored)) if isinstance(ignored, (set, frozenset)) else tuple(ignored)
        else:
            raise TypeError(
                "Cache ignored_inputs: expected an input name or a tuple of names, got "
                f"{self.ignored_inputs!r}"
            )
        for name in ignored:
            if not isinstance(name, str) or not name:
                raise TypeError(
                    f"Cache ignored_inputs: every entry must be a non-empty input name, got {name!r}"
                )
        object.__setattr__(self, "_ignored_inputs", ignored)

        if self.behavior == "disable":
            return
        policies = self.policies
        if policies is None:
            policies = [FunctionBodyPolicy()]
        elif isinstance(policies, tuple):
            policies = list(policies)
        elif not isinstance(policies, list):
            policies = [policies]
        for policy in policies:
            if not callable(getattr(policy, "get_version", None)):
                raise TypeError(
                    f"Cache policies: {policy!r} is not a cache policy; it needs a get_version(salt, "
                    "params) method"
                )
        if self.version_override is None and not policies:
            raise ValueError(
                "Cache policies: an empty list leaves no way to compute a version; "
                "pass at least one policy or set version_override"
            )
        object.__setattr__(self, "policies", policies)

    def __hash__(self) -> int:
        return hash((self.behavior, self.version_override, self.serialize, self.ignored_inputs, self.salt))

    def is_enabled(self) -> bool:
        """True unless the behavior is ``"disable"``."""
        return self.behavior in ("auto", "override")

    def get_ignored_inputs(self) -> tuple[str, ...]:
        """The input names left out of the cache key, always as a tuple."""
        return self._ignored_inputs  # type: ignore[attr-defined]

    def get_version(self, params: Optional[VersionParameters] = None) -> str:
        """The cache version: ``""`` if disabled, ``version_override`` if set, else a hash of all policies.

        Raises:
            ValueError: a version has to be computed but ``params`` is missing, or a policy failed.
        """
        if not self.is_enabled():
            return ""
        if self.version_override is not None:
            return self.version_override
        if params is None:
            raise ValueError("Cache.get_version: pass VersionParameters when no version_override is set")
        combined = ""
        for policy in self.policies or []:  # type: ignore[union-attr]
            try:
                combined += policy.get_version(self.salt, params)
            except Exception as e:
                raise ValueError(f"Cache policy {policy!r} failed to compute a version: {e}") from e
        return hashlib.sha256(combined.encode("utf-8")).hexdigest()


CacheRequest = Union[CacheBehavior, Cache]


def cache_from_request(value: Union[CacheRequest, bool, str, None]) -> Cache:
    """Normalize a ``cache=`` argument to a :class:`Cache`.

    Accepts a ``Cache``, a behavior string (or one of its aliases such as ``"enabled"``/``"off"``),
    ``True``/``False`` (ours), and ``None`` meaning disabled (ours).

    Raises:
        ValueError: a string that is not a behavior or alias.
        TypeError: any other kind of value.
    """
    if isinstance(value, Cache):
        return value
    if value is None:
        return Cache(behavior="disable")
    if isinstance(value, (str, bool)):
        return Cache(behavior=value)  # type: ignore[arg-type]
    raise TypeError(
        "cache: expected 'auto', 'override', 'disable', True/False or a flyte.Cache, got "
        f"{type(value).__name__}: "
        f"{value!r}"
    )


# --- the inputs part of a cache key -------------------------------------------------------------------

# Wire forms of File/Dir ({path, name, format, hash}) and DataFrame ({uri, format, hash}).
_REFERENCE_KEYS = (frozenset({"path", "name", "format", "hash"}), frozenset({"uri", "format", "hash"}))
_HASH_KEY = b"\xa4hash"  # msgpack fixstr "hash": no reference can be present without it
_NESTED_EXT = frozenset({5, 6, 7, 8})  # tuple, set, frozenset, object: their payload is msgpack


def cache_key_inputs(encoded: bytes) -> bytes:
    """The encoded inputs as the cache key sees them.

    A File, Dir or DataFrame with a hash (its content digest, a ``hash_method`` result or a
    user-given cache key) counts by that hash and its format, not by where it is stored, so
    two uploads of equal content (or two files given the same key) hit the same cache entry.
    The local cache and the server both call this, so their keys agree.
    """
    if _HASH_KEY not in encoded:
        return encoded
    import msgpack

    try:
        tree = msgpack.unpackb(encoded, raw=False, strict_map_key=False)
    except Exception:  # not ours to judge here: key on the bytes as they are
        return encoded
    replaced, changed = _by_hash(tree)
    return msgpack.packb(replaced, use_bin_type=True) if changed else encoded


def _by_hash(obj: Any) -> tuple[Any, bool]:
    import msgpack

    if isinstance(obj, dict):
        if frozenset(obj) in _REFERENCE_KEYS and isinstance(obj.get("hash"), str) and obj["hash"]:
            return {"hash": obj["hash"], "format": obj.get("format")}, True
        changed = False
        out = {}
        for key, value in obj.items():
            out[key], hit = _by_hash(value)
            changed = changed or hit
        return out, changed
    if isinstance(obj, list):
        pairs = [_by_hash(x) for x in obj]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    if isinstance(obj, msgpack.ExtType) and obj.code in _NESTED_EXT and _HASH_KEY in obj.data:
        inner = msgpack.unpackb(obj.data, raw=False, strict_map_key=False)
        replaced, changed = _by_hash(inner)
        if changed:
            return msgpack.ExtType(obj.code, msgpack.packb(replaced, use_bin_type=True)), True
    return obj, False
