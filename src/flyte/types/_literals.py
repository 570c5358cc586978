"""The reference SDK's literal forms for the built-in types (flyteidl2 protobufs).

``TypeEngine.to_literal`` / ``to_python_value`` / ``to_literal_type`` / ``guess_python_type``
use this module for every type no registered :class:`TypeTransformer` owns. The forms are
the reference's: primitives for scalars, collections and maps for ``list[T]`` and
``dict[str, T]``, unions, string enums, blobs for File and Dir, and msgpack ``Binary`` scalars
for records (dataclasses, pydantic models, TypedDicts) and untyped dicts. A type with no such
form (``bytes``, sets, pickled objects...) travels as a ``Binary`` scalar tagged
``flyte-engine`` holding this engine's own encoding.

flyteidl2 is an optional dependency, imported on first use.
"""

from __future__ import annotations

import datetime as _dt
import enum
import sys
import typing
from types import NoneType
from typing import Any

from flyte.types._registry import normalize, type_name

MSGPACK = "msgpack"
ENGINE_TAG = "flyte-engine"
_ENGINE_META = "flyte-engine-type"


def _flyteidl() -> Any:
    try:
        from flyteidl2.core import literals_pb2 as lit
        from flyteidl2.core import types_pb2 as tys
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "flyte literals need the flyteidl2 package: pip install 'flyte-engine[flyteidl2]'"
        ) from exc
    return lit, tys


def literals_pb2() -> Any:
    """``flyteidl2.core.literals_pb2`` (ImportError naming the extra when it is missing)."""
    return _flyteidl()[0]


def types_pb2() -> Any:
    """``flyteidl2.core.types_pb2``."""
    return _flyteidl()[1]


# --- Python type -> LiteralType ---------------------------------------------------------------------------


def _simple_types() -> dict[Any, Any]:
    st = types_pb2().SimpleType
    return {
        int: st.INTEGER,
        float: st.FLOAT,
        str: st.STRING,
        bool: st.BOOLEAN,
        _dt.datetime: st.DATETIME,
        _dt.timedelta: st.DURATION,
        NoneType: st.NONE,
    }


def _is_record(tp: Any) -> bool:
    from flyte.types._structured import _is_pydantic_model

    return isinstance(tp, type) and (
        hasattr(tp, "__dataclass_fields__") or _is_pydantic_model(tp) or hasattr(tp, "__required_keys__")
    )


def _io_kind(tp: Any) -> str | None:
    cls = typing.get_origin(tp) or tp
    if not isinstance(cls, type) or "flyte.io" not in sys.modules:
        return None
    from flyte.io import DataFrame, Dir, File

    for kind, base in (("file", File), ("dir", Dir), ("frame", DataFrame)):
        if issubclass(cls, base):
            return kind
    return None


def _struct_type(tys: Any) -> Any:
    from google.protobuf import struct_pb2

    ann = struct_pb2.Struct()
    ann.update({"cache-key-metadata": {"serialization-format": MSGPACK}})
    return tys.LiteralType(simple=tys.SimpleType.STRUCT, annotation=tys.TypeAnnotation(annotations=ann))


def literal_type(tp: Any) -> Any:
    """The LiteralType of a (built-in) Python type, in the reference's form."""
    tys = types_pb2()
    tp = normalize(tp)
    simple = _simple_types().get(tp) if isinstance(tp, type) else None
    if simple is not None:
        return tys.LiteralType(simple=simple)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and args:
        return tys.LiteralType(collection_type=_nested(args[0]))
    if origin is dict and args and args[0] is str:
        return tys.LiteralType(map_value_type=_nested(args[1]))
    if tp is dict or origin is dict or _is_record(tp):
        return _struct_type(tys)
    if origin is typing.Union:
        variants = []
        for arg in args:
            variant = tys.LiteralType()
            variant.CopyFrom(_nested(arg))
            variant.structure.CopyFrom(tys.TypeStructure(tag=type_name(arg)))
            variants.append(variant)
        return tys.LiteralType(union_type=tys.UnionType(variants=variants))
    if isinstance(tp, type) and issubclass(tp, enum.Enum) and all(isinstance(m.value, str) for m in tp):
        return tys.LiteralType(enum_type=tys.EnumType(values=[m.value for m in tp]))
    if origin is typing.Literal and all(isinstance(a, str) for a in args):
        return tys.LiteralType(enum_type=tys.EnumType(values=list(args)))
    kind = _io_kind(tp)
    if kind in ("file", "dir"):
        dim = tys.BlobType.BlobDimensionality
        return tys.LiteralType(
            blob=tys.BlobType(format="", dimensionality=dim.SINGLE if kind == "file" else dim.MULTIPART)
        )
    if kind == "frame":
        return tys.LiteralType(structured_dataset_type=tys.StructuredDatasetType(format="parquet"))
    from google.protobuf import struct_pb2

    meta = struct_pb2.Struct()
    meta.update({_ENGINE_META: type_name(tp)})
    return tys.LiteralType(simple=tys.SimpleType.BINARY, metadata=meta)


def _nested(tp: Any) -> Any:
    from flyte.types._engine import TypeEngine

    return TypeEngine.to_literal_type(tp)


# --- values -------------------------------------------------------------------------------------------------


def _engine_binary(value: Any, tp: Any) -> Any:
    from flyte.types._engine import TypeEngine

    lit = literals_pb2()
    data = TypeEngine.encode(value, tp)
    return lit.Literal(scalar=lit.Scalar(binary=lit.Binary(value=data, tag=ENGINE_TAG)))


def _msgpack_binary(value: Any, tp: Any) -> Any:
    import msgpack

    from flyte.types._engine import TypeEngine

    lit = literals_pb2()
    plain = TypeEngine.to_jsonable(TypeEngine.encode(value, tp))
    return lit.Literal(scalar=lit.Scalar(binary=lit.Binary(value=msgpack.packb(plain), tag=MSGPACK)))


def _primitive(tp: Any, value: Any) -> Any:
    from flyte.types._engine import TypeEngine

    lit = literals_pb2()
    TypeEngine.encode(value, tp)  # validates (and rejects bool for int, as everywhere)
    if tp is bool:
        return lit.Primitive(boolean=value)
    if tp is int:
        return lit.Primitive(integer=int(value))
    if tp is float:
        return lit.Primitive(float_value=float(value))
    if tp is str:
        return lit.Primitive(string_value=str(value))
    if tp is _dt.datetime:
        prim = lit.Primitive()
        prim.datetime.FromDatetime(value.astimezone(_dt.timezone.utc) if value.tzinfo else value)
        return prim
    prim = lit.Primitive()
    prim.duration.FromTimedelta(value)
    return prim


async def to_literal(value: Any, tp: Any) -> Any:
    """``value`` of the built-in type ``tp`` as a Literal."""
    from flyte.types._engine import TypeEngine

    lit = literals_pb2()
    tp = normalize(tp)
    if tp is NoneType:
        TypeEngine.encode(value, tp)
        return lit.Literal(scalar=lit.Scalar(none_type=lit.Void()))
    if isinstance(tp, type) and tp in _simple_types():
        return lit.Literal(scalar=lit.Scalar(primitive=_primitive(tp, value)))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and args and isinstance(value, (list, tuple)):
        items = [await TypeEngine.to_literal(v, args[0], None) for v in value]
        return lit.Literal(collection=lit.LiteralCollection(literals=items))
    if origin is dict and args and args[0] is str and isinstance(value, dict):
        entries = {k: await TypeEngine.to_literal(v, args[1], None) for k, v in value.items()}
        return lit.Literal(map=lit.LiteralMap(literals=entries))
    if origin is typing.Union:
        return await _union_literal(value, tp, args)
    if (isinstance(tp, type) and issubclass(tp, enum.Enum)) or origin is typing.Literal:
        lt = literal_type(tp)
        if lt.HasField("enum_type"):
            wire = TypeEngine.from_wire(TypeEngine.to_wire(value, tp), Any)
            text = wire.value if isinstance(wire, enum.Enum) else wire
            return lit.Literal(scalar=lit.Scalar(primitive=lit.Primitive(string_value=text)))
    if tp is dict or origin is dict or _is_record(tp):
        return _msgpack_binary(value, tp)
    kind = _io_kind(tp)
    if kind in ("file", "dir"):
        TypeEngine.encode(value, tp)
        return lit.Literal(
            scalar=lit.Scalar(
                blob=lit.Blob(uri=value.path, metadata=lit.BlobMetadata(type=literal_type(tp).blob))
            )
        )
    return _engine_binary(value, tp)


async def _union_literal(value: Any, tp: Any, args: tuple[Any, ...]) -> Any:
    from flyte.types._engine import TypeEngine
    from flyte.types._errors import mismatch

    lit = literals_pb2()
    ordered = sorted(args, key=lambda a: typing.get_origin(a) is None and type(value) is not a)
    for arg in ordered:
        try:
            TypeEngine.encode(value, arg)
        except TypeError:
            continue
        inner = await TypeEngine.to_literal(value, arg, None)
        variant = TypeEngine.to_literal_type(arg)
        variant.structure.tag = type_name(arg)
        return lit.Literal(scalar=lit.Scalar(union=lit.Union(value=inner, type=variant)))
    raise mismatch(type_name(tp), value)


def _from_primitive(tp: Any, prim: Any) -> Any:
    which = prim.WhichOneof("value")
    if which == "datetime":
        return prim.datetime.ToDatetime(tzinfo=_dt.timezone.utc)
    if which == "duration":
        return prim.duration.ToTimedelta()
    raw = getattr(prim, which) if which else None
    if tp is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    return raw


def from_msgpack_binary(binary: Any, tp: Any) -> Any:
    """A ``Binary`` scalar as a value of ``tp``: msgpack of plain data (tag ``msgpack``) or this
    engine's encoding (tag ``flyte-engine``)."""
    from flyte.types._engine import TypeEngine
    from flyte.types._errors import TypeTransformerFailedError

    if binary.tag == MSGPACK:
        import msgpack

        return TypeEngine.from_jsonable(msgpack.unpackb(binary.value, strict_map_key=False), tp)
    if binary.tag == ENGINE_TAG:
        return TypeEngine.decode(binary.value, tp)
    detail = f"unsupported binary format {binary.tag!r}"
    raise TypeTransformerFailedError(type_name(tp), "Binary", detail=detail)


async def to_python_value(lv: Any, tp: Any) -> Any:
    """A Literal as a value of the built-in type ``tp``."""
    from flyte.types._engine import TypeEngine
    from flyte.types._errors import TypeTransformerFailedError

    tp = normalize(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    which = lv.WhichOneof("value")
    if which == "collection" and origin is list:
        return [await TypeEngine.to_python_value(x, args[0] if args else Any) for x in lv.collection.literals]
    if which == "map" and origin is dict:
        vt = args[1] if args else Any
        return {k: await TypeEngine.to_python_value(v, vt) for k, v in lv.map.literals.items()}
    if which != "scalar":
        raise TypeTransformerFailedError(type_name(tp), which or "an empty literal")
    scalar = lv.scalar
    kind = scalar.WhichOneof("value")
    if kind == "union":
        inner = scalar.union.value
        if origin is typing.Union:
            tag = scalar.union.type.structure.tag
            for arg in args:
                if type_name(arg) == tag:
                    return await TypeEngine.to_python_value(inner, arg)
            for arg in args:
                try:
                    return await TypeEngine.to_python_value(inner, arg)
                except (TypeError, ValueError):
                    continue
            raise TypeTransformerFailedError(type_name(tp), f"a union value tagged {tag!r}")
        return await TypeEngine.to_python_value(inner, tp)
    if kind == "none_type":
        return TypeEngine.from_jsonable(None, tp)
    if kind == "binary":
        return from_msgpack_binary(scalar.binary, tp)
    if kind == "blob":
        return TypeEngine.from_jsonable(scalar.blob.uri, tp)
    if kind == "generic":
        from google.protobuf.json_format import MessageToDict

        return TypeEngine.from_jsonable(MessageToDict(scalar.generic), tp)
    if kind == "primitive":
        raw = _from_primitive(tp, scalar.primitive)
        if isinstance(raw, (_dt.datetime, _dt.timedelta)) or tp is Any:
            return raw
        return TypeEngine.from_jsonable(raw, tp)
    raise TypeTransformerFailedError(type_name(tp), f"a {kind} literal")


def literal_from_json(obj: Any, lt: Any) -> Any:
    """A Literal of LiteralType ``lt`` built from JSON data (for CLI input of transformer types)."""
    lit = literals_pb2()
    tys = types_pb2()
    if lt.HasField("simple"):
        st = tys.SimpleType
        simple = lt.simple
        if simple == st.INTEGER:
            return lit.Literal(scalar=lit.Scalar(primitive=lit.Primitive(integer=int(obj))))
        if simple == st.FLOAT:
            return lit.Literal(scalar=lit.Scalar(primitive=lit.Primitive(float_value=float(obj))))
        if simple == st.STRING:
            return lit.Literal(scalar=lit.Scalar(primitive=lit.Primitive(string_value=str(obj))))
        if simple == st.BOOLEAN and isinstance(obj, bool):
            return lit.Literal(scalar=lit.Scalar(primitive=lit.Primitive(boolean=obj)))
        if simple == st.STRUCT:
            import msgpack

            return lit.Literal(scalar=lit.Scalar(binary=lit.Binary(value=msgpack.packb(obj), tag=MSGPACK)))
    if lt.HasField("enum_type") and isinstance(obj, str):
        return lit.Literal(scalar=lit.Scalar(primitive=lit.Primitive(string_value=obj)))
    raise ValueError(f"cannot build a literal of this type from JSON {type(obj).__name__}")


# --- LiteralType -> Python type ---------------------------------------------------------------------


def guess_python_type(lt: Any) -> Any:
    """The Python type for a LiteralType of the built-in forms; ValueError when there is none."""
    from flyte.types._engine import TypeEngine

    tys = types_pb2()
    which = lt.WhichOneof("type")
    if which == "simple":
        if lt.simple == tys.SimpleType.STRUCT:
            return dict
        if lt.simple == tys.SimpleType.BINARY:
            return bytes if not lt.HasField("metadata") else Any
        for tp, simple in _simple_types().items():
            if simple == lt.simple:
                return tp
    if which == "collection_type":
        return list[TypeEngine.guess_python_type(lt.collection_type)]  # type: ignore[misc]
    if which == "map_value_type":
        return dict[str, TypeEngine.guess_python_type(lt.map_value_type)]  # type: ignore[misc]
    if which == "union_type":
        return typing.Union[tuple(TypeEngine.guess_python_type(v) for v in lt.union_type.variants)]
    if which == "enum_type":
        return enum.Enum("DynamicEnum", {v: v for v in lt.enum_type.values})  # type: ignore[misc]
    if which in ("blob", "structured_dataset_type"):
        import flyte.io

        if which == "structured_dataset_type":
            return flyte.io.DataFrame
        multipart = lt.blob.dimensionality == tys.BlobType.BlobDimensionality.MULTIPART
        return flyte.io.Dir if multipart else flyte.io.File
    raise ValueError(f"no Python type is known for the literal type {lt}")
