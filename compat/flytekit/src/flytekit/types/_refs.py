"""What FlyteFile and FlyteDirectory share on top of ``flyte.io.File`` / ``Dir``.

Both are subclasses of the engine's reference types, so they travel as the same small
reference maps and can feed tasks that take ``flyte.io.File``/``Dir``. The flytekit behaviour
added here: a value made from a local path is uploaded into the blob store when it is returned
(not when it is made), the format comes from the ``FlyteFile["csv"]`` parameter, and
``os.fspath(value)`` / ``value.path`` on the receiving side is a local path (downloaded on
first use when the data is not on this machine).
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any

from flyte.types._errors import TypeTransformerFailedError, mismatch, type_label
from flyte.types._registry import BaseConverter, Plan, type_name


def _format_of(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, typing.TypeVar):
        return item.__name__
    if isinstance(item, typing.ForwardRef):
        return item.__forward_arg__
    return getattr(item, "__name__", str(item))


class RefMixin:
    """Upload-on-return and local access for FlyteFile/FlyteDirectory (see the module docstring)."""

    extension: typing.ClassVar[str] = ""
    _variants: typing.ClassVar[dict[str, type]]

    def __class_getitem__(cls, item: Any) -> Any:
        fmt = _format_of(item)
        variants = cls.__dict__.get("_variants")
        if variants is None:
            variants = {}
            cls._variants = variants
        sub = variants.get(fmt)
        if sub is None:
            sub = variants[fmt] = type(f"{cls.__name__}[{fmt}]", (cls,), {"extension": fmt, "_variants": {}})
            sub.__module__ = cls.__module__
        return sub

    def _stored_path(self) -> str:
        raise NotImplementedError

    def _is_local_source(self) -> bool:
        stored = getattr(self, "_fk_stored", False)
        return not stored and "://" not in self.path and Path(self.path).exists()  # type: ignore[attr-defined]

    def _to_wire(self) -> dict[str, Any]:
        me: Any = self
        if self._is_local_source():
            me._fk_local = me.path
            me.path = self._stored_path()
            me._fk_stored = True
        wire = super()._to_wire()  # type: ignore[misc]
        if self.extension and not wire.get("format"):
            wire["format"] = self.extension
        return dict(wire)

    @classmethod
    def _from_wire(cls, wire: dict[str, Any]) -> Any:
        obj: Any = cls.__new__(cls)
        cls._init_ref(obj, wire["path"])
        obj.name = wire.get("name")
        obj.format = wire.get("format") or cls.extension
        obj.hash = wire.get("hash")
        obj._hash_pinned = False
        obj._fk_stored = True
        return obj

    @classmethod
    def _init_ref(cls, obj: Any, path: str) -> None:
        raise NotImplementedError

    def __fspath__(self) -> str:
        return self.download()

    @property
    def remote_source(self) -> str:
        return self.path  # type: ignore[attr-defined,no-any-return]

    @property
    def local_path(self) -> str:
        return self.download()

    def download(self) -> str:
        """A local path to the data (the stored copy itself when storage is on this machine)."""
        local = getattr(self, "_fk_local", None)
        if local and Path(local).exists():
            return str(local)
        from flyte.storage._default import to_local_path

        try:
            path = to_local_path(self.path)  # type: ignore[attr-defined]
            if path.exists():
                return str(path)
        except (ValueError, NotImplementedError):
            pass
        self._fk_local = self.download_sync()  # type: ignore[attr-defined]
        return str(self._fk_local)

    def __str__(self) -> str:
        return str(self.path)  # type: ignore[attr-defined]


class RefConverter(BaseConverter):
    """Accepts the flytekit class, the engine's base class and plain paths for a FlyteFile/Dir input
    or output, as flytekit does; decodes into the declared (format-parametrised) class."""

    def __init__(self, base: type, engine_base: type) -> None:
        self.base = base
        self.engine_base = engine_base

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and issubclass(python_type, self.base)

    def build(self, python_type: Any) -> Plan:
        cls = python_type
        name = type_name(python_type)

        def coerce(value: Any) -> Any:
            if isinstance(value, self.base):
                return value
            if isinstance(value, self.engine_base):
                engine_value: Any = value
                return cls._from_wire(engine_value._to_wire())
            if isinstance(value, (str, os.PathLike)):
                return cls(os.fspath(value))
            raise mismatch(name, value)

        def enc(value: Any) -> dict[str, Any]:
            try:
                return coerce(value)._to_wire()  # type: ignore[no-any-return]
            except (OSError, ValueError) as exc:
                raise TypeTransformerFailedError(
                    name, type_label(value), "", value, detail=str(exc)
                ) from None

        def dec(wire: Any) -> Any:
            if type(wire) is not dict or type(wire.get("path")) is not str:
                raise mismatch(name, wire, f"the stored value is not a {cls.__name__} reference")
            return cls._from_wire(wire)

        def from_json(obj: Any) -> Any:
            if isinstance(obj, dict):
                return dec(obj)
            value = coerce(obj)
            value._to_wire()  # a CLI path is uploaded now, as flytekit does for pyflyte run
            return value

        return Plan(python_type, name, enc, dec, from_json, by_ref=True, runtime=cls)
