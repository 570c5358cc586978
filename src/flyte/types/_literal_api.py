"""TypeEngine's literal API, as in the reference SDK: transformers and flyteidl2 literals.

Registered :class:`TypeTransformer` objects are kept here, by the Python types they were
registered for; each one also sits in the converter chain (see ``_transformer``) so task
inputs and outputs of its types go through it. Types no transformer owns are converted by
``_literals`` in the reference's literal forms.
"""

from __future__ import annotations

import threading
from collections.abc import KeysView, Mapping
from typing import Any

from flyte.types import _literals, _registry
from flyte.types._errors import TypeTransformerFailedError
from flyte.types._registry import normalize, type_name
from flyte.types._transformer import TransformerConverter, TypeTransformer

_lock = threading.Lock()
_by_type: dict[Any, TypeTransformer[Any]] = {}
_converters: dict[int, TransformerConverter] = {}  # id(transformer) -> its converter


def register_transformer(transformer: TypeTransformer[Any], additional_types: list[Any]) -> None:
    """Register ``transformer`` for its python_type and ``additional_types``."""
    types = [transformer.python_type, *additional_types]
    with _lock:
        for t in types:
            existing = _by_type.get(t)
            if existing is not None:
                raise ValueError(
                    f"Transformer {existing.name} for type {type_name(t)} is already registered."
                    f" Cannot override with {transformer.name}"
                )
        _add(transformer, types)


def register_additional_type(
    transformer: TypeTransformer[Any], additional_type: Any, override: bool = False
) -> None:
    """Let ``transformer`` also handle ``additional_type`` (replacing another one if ``override``)."""
    with _lock:
        if additional_type in _by_type and not override:
            return
        _add(transformer, [additional_type])


def _add(transformer: TypeTransformer[Any], types: list[Any]) -> None:
    for t in types:
        old = _by_type.get(t)
        if old is not None and old is not transformer:
            conv = _converters[id(old)]
            conv.types = [x for x in conv.types if x != t]
        _by_type[t] = transformer
    found = _converters.get(id(transformer))
    if found is None:
        conv = _converters[id(transformer)] = TransformerConverter(transformer, list(types))
        _registry.register(conv, first=True)
    else:
        found.types.extend(t for t in types if t not in found.types)
        _registry.refresh()  # plans chosen before for the new types must be rebuilt


def unregister(transformer: TypeTransformer[Any]) -> None:
    """Remove a transformer (tests use it to keep registrations local)."""
    with _lock:
        for t in [t for t, v in _by_type.items() if v is transformer]:
            del _by_type[t]
        conv = _converters.pop(id(transformer), None)
    if conv is not None:
        _registry.unregister(conv)


def _registered_for(python_type: Any) -> TypeTransformer[Any] | None:
    if not _by_type:
        return None
    try:
        tp = normalize(python_type)
    except TypeError:
        return None
    convs = list(_converters.values())
    for conv in convs:  # exact and generic matches before subclasses
        if conv.owns(tp):
            return conv.transformer
    for conv in convs:
        if conv.handles(tp):
            return conv.transformer
    return None


class _BuiltinTransformer(TypeTransformer[Any]):
    """What :func:`get_transformer` returns for a type no registered transformer owns."""

    def __init__(self, t: Any) -> None:
        super().__init__(type_name(t), t, enable_type_assertions=False)

    def get_literal_type(self, t: Any) -> Any:
        return _literals.literal_type(t)

    def guess_python_type(self, literal_type: Any) -> Any:
        return _literals.guess_python_type(literal_type)

    async def to_literal(self, python_val: Any, python_type: Any, expected: Any) -> Any:
        return await _literals.to_literal(python_val, python_type)

    async def to_python_value(self, lv: Any, expected_python_type: Any) -> Any:
        return await _literals.to_python_value(lv, expected_python_type)


def get_transformer(python_type: Any) -> TypeTransformer[Any]:
    """The transformer used for ``python_type``: a registered one, else the built-in forms."""
    return _registered_for(python_type) or _BuiltinTransformer(python_type)


def get_available_transformers() -> KeysView[Any]:
    """The Python types registered transformers were registered for."""
    return _by_type.keys()


def to_literal_type(python_type: Any) -> Any:
    """The flyteidl2 ``LiteralType`` of ``python_type``."""
    return get_transformer(python_type).get_literal_type(python_type)


def _as_failure(python_type: Any, value: Any, exc: Exception) -> TypeTransformerFailedError:
    if isinstance(exc, TypeTransformerFailedError):
        return exc
    from flyte.types._errors import type_label

    return TypeTransformerFailedError(type_name(python_type), type_label(value), "", value, detail=str(exc))


async def to_literal(python_val: Any, python_type: Any, expected: Any = None) -> Any:
    """``python_val`` as a flyteidl2 ``Literal`` (``expected`` defaults to the type's LiteralType)."""
    trans = get_transformer(python_type)
    if expected is None:
        expected = trans.get_literal_type(python_type)
    try:
        if trans.type_assertions_enabled:
            trans.assert_type(python_type, python_val)
        return await trans.to_literal(python_val, python_type, expected)
    except (TypeError, ValueError, AssertionError, AttributeError) as exc:
        raise _as_failure(python_type, python_val, exc) from exc


async def to_python_value(lv: Any, expected_python_type: Any) -> Any:
    """A flyteidl2 ``Literal`` as a value of ``expected_python_type``."""
    return await get_transformer(expected_python_type).to_python_value(lv, expected_python_type)


def guess_python_type(flyte_type: Any) -> Any:
    """A Python type for a flyteidl2 ``LiteralType``: registered transformers are asked first."""
    for trans in list(_by_type.values()):
        try:
            return trans.guess_python_type(flyte_type)
        except (ValueError, NotImplementedError):
            continue
    return _literals.guess_python_type(flyte_type)


def guess_python_types(flyte_variable_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Python types for a map of name -> flyteidl2 ``Variable`` (or ``VariableEntry`` messages,
    as flyteidl2's ``VariableMap.variables`` holds them)."""
    return {name: guess_python_type(var.type) for name, var in variable_items(flyte_variable_dict)}


def variable_items(variables: Any) -> list[tuple[str, Any]]:
    """(name, Variable) pairs from a mapping or from repeated ``VariableEntry`` messages."""
    if isinstance(variables, Mapping) or hasattr(variables, "items"):
        return list(variables.items())
    return [(entry.key, entry.value) for entry in variables]


async def dict_to_literal_map(d: Mapping[str, Any], type_hints: Mapping[str, Any] | None = None) -> Any:
    """Named values as a flyteidl2 ``LiteralMap`` (types from ``type_hints``, else the values' own)."""
    hints = type_hints or {}
    out = {}
    for name, value in d.items():
        tp = hints.get(name, type(value))
        try:
            out[name] = await to_literal(value, tp)
        except TypeTransformerFailedError as exc:
            exc.name = name
            raise
    return _literals.literals_pb2().LiteralMap(literals=out)


async def literal_map_to_kwargs(
    lm: Any,
    python_types: Mapping[str, Any] | None = None,
    literal_types: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A flyteidl2 ``LiteralMap`` as keyword arguments, typed by ``python_types`` or by types
    guessed from ``literal_types`` (a map of name -> ``Variable``)."""
    if python_types is None and literal_types is None:
        raise ValueError("At least one of python_types or literal_types must be provided")
    types = dict(python_types) if python_types is not None else guess_python_types(literal_types or {})
    extra = [k for k in lm.literals if k not in types]
    if extra:
        raise ValueError(f"unexpected input value(s) {', '.join(extra)}; expected {', '.join(types)}")
    out = {}
    for name, lv in lm.literals.items():
        try:
            out[name] = await to_python_value(lv, types[name])
        except TypeTransformerFailedError as exc:
            exc.name = name
            raise
    return out


def to_html(python_val: Any, expected_python_type: Any) -> str:
    """HTML for a value in a report (the transformer's ``to_html``)."""
    return get_transformer(expected_python_type).to_html(python_val, expected_python_type)
