"""Records: dataclasses (nested, generic, with defaults), NamedTuple and TypedDict.

The typed wire form of a record is a msgpack map of field name to the field's wire, so data
stays readable (``to_jsonable`` shows a dict) and tolerates fields added later with defaults.
Field plans are resolved on first use, which lets recursive records (a tree node holding a
list of nodes) build.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any

from flyte.types._errors import TypeTransformerFailedError, mismatch, type_label
from flyte.types._registry import BaseConverter, Lazy, Plan, plan_for, type_name

Fields = list[tuple[str, Plan]]


# --- helpers shared by the record kinds -------------------------------------------------------------


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception as exc:  # NameError for a forward reference that cannot be resolved, mostly
        raise TypeError(f"cannot resolve the annotations of {cls.__qualname__}: {exc}") from exc


def _substitute(tp: Any, mapping: dict[Any, Any]) -> Any:
    """Apply a generic record's type arguments (``Box[int]``) to one field annotation."""
    if isinstance(tp, typing.TypeVar):
        return mapping.get(tp, tp)
    params = getattr(tp, "__parameters__", ())
    if params and mapping:
        return tp[tuple(mapping.get(p, p) for p in params)]
    return tp


def _plans(names_and_types: list[tuple[str, Any]]) -> Fields:
    return [(name, plan_for(tp)) for name, tp in names_and_types]


def _encode_fields(value: Any, fields: Fields, get: Callable[[Any, str], Any]) -> dict[str, Any]:
    out = {}
    for fname, plan in fields:
        item = get(value, fname)
        if type(item) in plan.exact:
            out[fname] = item
            continue
        try:
            out[fname] = plan.enc(item)
        except TypeTransformerFailedError as exc:
            raise exc.prefixed(f".{fname}") from None
    return out


def _decode_fields(name: str, wire: Any, fields: Fields) -> dict[str, Any]:
    if type(wire) is not dict:
        raise mismatch(name, wire, "the stored value is not a map")
    kwargs = {}
    for fname, plan in fields:
        if fname in wire:
            item = wire[fname]
            kwargs[fname] = item if plan.dec_identity else plan.dec(item)
    return kwargs


def _json_fields(name: str, obj: Any, fields: Fields, required: frozenset[str]) -> dict[str, Any]:
    if not isinstance(obj, Mapping):
        raise mismatch(name, obj)
    known = dict(fields)
    for key in obj:
        if key not in known:
            raise TypeTransformerFailedError(
                name, "dict", f".{key}", detail=f"{name} has no field {key!r} (fields: {', '.join(known)})"
            )
    missing = [f for f in known if f in required and f not in obj]
    if missing:
        raise TypeTransformerFailedError(name, "dict", detail=f"missing field(s) {', '.join(missing)}")
    out = {}
    for key, item in obj.items():
        try:
            out[key] = known[key].from_json(item)
        except TypeTransformerFailedError as exc:
            raise exc.prefixed(f".{key}") from None
    return out


def _construct(name: str, cls: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # missing fields, or the class's own validation
        raise TypeTransformerFailedError(name, "dict", detail=str(exc)) from exc


def _record_plan(
    tp: Any,
    cls: type,
    fields: Lazy,
    required: Lazy,
    *,
    from_sequence: bool = False,
) -> Plan:
    """A plan for classes whose instances are built with ``cls(**fields)``."""
    name = type_name(tp)

    def enc(value: Any) -> dict[str, Any]:
        if not isinstance(value, cls):
            if not (isinstance(value, Mapping) and not from_sequence):
                raise mismatch(name, value)
            value = from_json(value)  # a dict given for a dataclass is converted, as in the reference
        return _encode_fields(value, fields(), getattr)

    def dec(wire: Any) -> Any:
        return _construct(name, cls, _decode_fields(name, wire, fields()))

    def from_json(obj: Any) -> Any:
        if isinstance(obj, cls):
            return obj
        if from_sequence and isinstance(obj, (list, tuple)):
            names = [f for f, _ in fields()]
            if len(obj) > len(names):
                raise mismatch(name, obj, f"it has {len(obj)} items, {name} has {len(names)} fields")
            obj = dict(zip(names, obj, strict=False))  # trailing fields keep defaults
        return _construct(name, cls, _json_fields(name, obj, fields(), required()))

    return Plan(tp, name, enc, dec, from_json, by_ref=True, runtime=cls)


# --- dataclasses ------------------------------------------------------------------------------------


def _dataclass_fields(tp: Any, cls: type) -> list[tuple[str, Any]]:
    import dataclasses  # not at module import: it pulls in inspect

    hints = _hints(cls)
    params = getattr(cls, "__parameters__", ())
    mapping = dict(zip(params, typing.get_args(tp), strict=False)) if params else {}
    out = []
    for field in dataclasses.fields(cls):
        if field.init:
            out.append((field.name, _substitute(hints.get(field.name, field.type), mapping)))
    return out


def _dataclass_required(cls: type) -> frozenset[str]:
    import dataclasses

    return frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


class DataclassConverter(BaseConverter):
    """Dataclasses, including generic ones (``Box[int]``); only ``init`` fields travel."""

    def handles(self, python_type: Any) -> bool:
        cls = typing.get_origin(python_type) or python_type
        return isinstance(cls, type) and hasattr(cls, "__dataclass_fields__")

    def build(self, python_type: Any) -> Plan:
        cls = typing.get_origin(python_type) or python_type
        return _record_plan(
            python_type,
            cls,
            Lazy(lambda: _plans(_dataclass_fields(python_type, cls))),
            Lazy(lambda: _dataclass_required(cls)),
        )


# --- NamedTuple ---------------------------------------------------------------------------------------


class NamedTupleConverter(BaseConverter):
    """``typing.NamedTuple`` and ``collections.namedtuple`` classes (unannotated fields are Any)."""

    def handles(self, python_type: Any) -> bool:
        return (
            isinstance(python_type, type)
            and issubclass(python_type, tuple)
            and isinstance(getattr(python_type, "_fields", None), tuple)
        )

    def build(self, python_type: Any) -> Plan:
        cls = python_type

        def fields() -> Fields:
            hints = _hints(cls)
            return _plans([(f, hints.get(f, Any)) for f in cls._fields])

        required = Lazy(lambda: frozenset(f for f in cls._fields if f not in cls._field_defaults))
        return _record_plan(cls, cls, Lazy(fields), required, from_sequence=True)


# --- TypedDict -----------------------------------------------------------------------------------------


def _typeddict_required(cls: type) -> frozenset[str]:
    """The required keys, honouring ``Required``/``NotRequired`` also in string annotations
    (``from __future__ import annotations``), which ``__required_keys__`` does not see."""
    required = set(getattr(cls, "__required_keys__", ()))
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:  # unresolvable annotations are reported when the fields are built
        return frozenset(required)
    for key, hint in hints.items():
        while typing.get_origin(hint) is typing.Annotated:
            hint = typing.get_args(hint)[0]
        wrapper = getattr(typing.get_origin(hint), "_name", None)
        if wrapper == "NotRequired":
            required.discard(key)
        elif wrapper == "Required":
            required.add(key)
    return frozenset(required)


class TypedDictConverter(BaseConverter):
    """``TypedDict`` classes; values decode as plain dicts. Keys the class does not declare are
    kept (untyped) when encoding, but rejected from JSON, where they are most likely typos."""

    def handles(self, python_type: Any) -> bool:
        return (
            isinstance(python_type, type)
            and issubclass(python_type, dict)
            and hasattr(python_type, "__required_keys__")
        )

    def build(self, python_type: Any) -> Plan:
        cls = python_type
        name = cls.__name__
        fields = Lazy(lambda: _plans(list(_hints(cls).items())))
        required = _typeddict_required(cls)
        any_plan = plan_for(Any)

        def enc(value: Any) -> dict[str, Any]:
            if not isinstance(value, Mapping):
                raise mismatch(name, value)
            missing = [k for k in required if k not in value]
            if missing:
                raise TypeTransformerFailedError(
                    name, type_label(value), "", value, detail=f"missing key(s) {', '.join(sorted(missing))}"
                )
            known = dict(fields())
            out = {}
            for key, item in value.items():
                plan = known.get(key, any_plan)
                try:
                    out[key] = item if type(item) in plan.exact else plan.enc(item)
                except TypeTransformerFailedError as exc:
                    raise exc.prefixed(f"[{key!r}]") from None
            return out

        def dec(wire: Any) -> dict[str, Any]:
            if type(wire) is not dict:
                raise mismatch(name, wire, "the stored value is not a map")
            known = dict(fields())
            return {k: (known[k].dec(w) if k in known else w) for k, w in wire.items()}

        def from_json(obj: Any) -> dict[str, Any]:
            return _json_fields(name, obj, fields(), required)

        return Plan(cls, name, enc, dec, from_json, runtime=dict)


# --- pydantic v2 models ----------------------------------------------------------------------------------
# pydantic is never imported here: a model class is recognised by its metaclass's module, and
# only the model's own methods are called.


def _is_pydantic_model(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and type(tp).__module__.startswith("pydantic.")
        and not type(tp).__module__.startswith("pydantic.v1")
        and callable(getattr(tp, "model_validate", None))
        and callable(getattr(tp, "model_dump", None))
    )


def _pydantic_error(name: str, obj: Any, exc: Exception) -> TypeTransformerFailedError:
    errors_of = getattr(exc, "errors", None)
    errors = errors_of() if callable(errors_of) else []
    if not errors:
        return TypeTransformerFailedError(name, type_label(obj), "", obj, detail=str(exc))
    first = errors[0]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.get("loc", ()))
    bad = first.get("input", obj)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return TypeTransformerFailedError(
        name, type_label(bad), path, bad, detail=f"{first.get('msg', exc)}{more}"
    )


class PydanticConverter(BaseConverter):
    """pydantic v2 ``BaseModel`` subclasses, nested models included.

    The wire is ``model_dump(mode="python")`` (values such as datetimes or sets then travel in
    their self-describing forms); decoding is ``model_validate``, which rebuilds nested models.
    """

    def handles(self, python_type: Any) -> bool:
        return _is_pydantic_model(python_type)

    def build(self, python_type: Any) -> Plan:
        cls = python_type
        name = cls.__name__

        def enc(value: Any) -> dict[str, Any]:
            if not isinstance(value, cls):
                if not isinstance(value, Mapping):
                    raise mismatch(name, value)
                value = validate(value)  # a dict given for a model is validated into one
            return value.model_dump(mode="python", by_alias=True, round_trip=True)

        def validate(obj: Any) -> Any:
            if isinstance(obj, cls):
                return obj
            try:
                return cls.model_validate(obj, strict=False)
            except ValueError as exc:  # pydantic.ValidationError is a ValueError
                raise _pydantic_error(name, obj, exc) from None

        return Plan(cls, name, enc, validate, validate, by_ref=True, runtime=cls)
