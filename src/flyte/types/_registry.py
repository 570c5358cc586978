"""The composite: an ordered chain of converters and a cache of the plan chosen per type.

A *plan* is what a converter builds for one concrete type: three small functions (to wire,
from wire, from JSON) plus a few facts containers use to skip per-element work. Plans are
built once per type and looked up with a single dict access afterwards.
"""

from __future__ import annotations

import collections.abc as cabc
import threading
import typing
from collections.abc import Callable
from types import GenericAlias, NoneType, UnionType
from typing import Any, Protocol, runtime_checkable

from flyte.types._errors import TypeTransformerFailedError, type_label

Fn = Callable[[Any], Any]


@runtime_checkable
class Converter(Protocol):
    """Moves values of one family of Python types to msgpack-native objects and back.

    ``handles`` says whether the converter owns a (normalised) type; the engine asks each
    registered converter in order and keeps the first that says yes. ``to_wire`` must
    validate and return msgpack-native data (it may call ``TypeEngine.to_wire`` for parts),
    raising :class:`TypeTransformerFailedError` for a bad value.
    """

    def handles(self, python_type: Any) -> bool: ...

    def to_wire(self, value: Any, python_type: Any) -> Any: ...

    def from_wire(self, wire: Any, python_type: Any) -> Any: ...

    def from_jsonable(self, obj: Any, python_type: Any) -> Any: ...


class Plan:
    """How values of one type travel; built by a converter, cached by the engine.

    ``exact``: value types that ``enc`` returns unchanged, so callers may skip the call.
    ``dec_identity``: ``dec`` returns its argument unchanged (after msgpack decoding).
    ``accepts_any``: every value is accepted as is (``typing.Any``).
    ``hashable_wire``: the wire form of a value may be used as a msgpack map key.
    ``by_ref``: inside untyped data, values are sent with their class name (dataclasses, enums...).
    ``runtime``: the Python class decoded values have, when there is a single one.
    """

    __slots__ = (
        "tp",
        "name",
        "enc",
        "dec",
        "from_json",
        "exact",
        "dec_identity",
        "accepts_any",
        "hashable_wire",
        "by_ref",
        "runtime",
    )

    def __init__(
        self,
        tp: Any,
        name: str,
        enc: Fn,
        dec: Fn,
        from_json: Fn,
        *,
        exact: frozenset[type] = frozenset(),
        dec_identity: bool = False,
        accepts_any: bool = False,
        hashable_wire: bool = False,
        by_ref: bool = False,
        runtime: type | None = None,
    ) -> None:
        self.tp = tp
        self.name = name
        self.enc = enc
        self.dec = dec
        self.from_json = from_json
        self.exact = exact
        self.dec_identity = dec_identity
        self.accepts_any = accepts_any
        self.hashable_wire = hashable_wire
        self.by_ref = by_ref
        self.runtime = runtime

    def __repr__(self) -> str:
        return f"<Plan {self.name}>"


class BaseConverter:
    """Base of the built-in converters: they build a :class:`Plan` per type.

    The protocol methods are provided for callers that use a converter directly.
    """

    def handles(self, python_type: Any) -> bool:
        raise NotImplementedError

    def build(self, python_type: Any) -> Plan:
        raise NotImplementedError

    def to_wire(self, value: Any, python_type: Any) -> Any:
        return self.build(python_type).enc(value)

    def from_wire(self, wire: Any, python_type: Any) -> Any:
        return self.build(python_type).dec(wire)

    def from_jsonable(self, obj: Any, python_type: Any) -> Any:
        return self.build(python_type).from_json(obj)


# --- type normalisation and names ---------------------------------------------------------

_WRAPPER_NAMES = frozenset({"Required", "NotRequired", "ReadOnly", "Final", "ClassVar"})
_ABC_TO_BUILTIN: dict[Any, type] = {
    cabc.Sequence: list,
    cabc.MutableSequence: list,
    cabc.Mapping: dict,
    cabc.MutableMapping: dict,
    cabc.Set: set,
    cabc.MutableSet: set,
}
_BUILTIN_CONTAINERS = (list, dict, set, frozenset, tuple)


def _is_param_empty(tp: Any) -> bool:
    # inspect.Parameter.empty, recognised without importing inspect.
    return getattr(tp, "__module__", None) == "inspect" and getattr(tp, "__name__", None) == "_empty"


def normalize(tp: Any) -> Any:
    """Reduce an annotation to the form converters see: ``None`` -> NoneType, ``X | Y`` -> Union,
    ``typing.List[int]`` -> ``list[int]``, Annotated/NewType/TypeVar/Required unwrapped,
    ``object`` and a missing annotation -> Any."""
    if tp is None:
        return NoneType
    if tp is object or _is_param_empty(tp):
        return Any
    if isinstance(tp, (str, typing.ForwardRef)):
        raise TypeError(f"unresolved forward reference {tp!r}; resolve annotations first")
    if isinstance(tp, typing.TypeVar):
        if tp.__bound__ is not None:
            return normalize(tp.__bound__)
        return typing.Union[tp.__constraints__] if tp.__constraints__ else Any
    if callable(tp) and hasattr(tp, "__supertype__"):  # typing.NewType
        return normalize(tp.__supertype__)
    declared = typing.get_origin(tp)
    if declared is None:
        return _builtin_for(tp) or tp
    args = typing.get_args(tp)
    if declared is typing.Annotated or getattr(declared, "_name", None) in _WRAPPER_NAMES:
        return normalize(args[0])
    if declared is UnionType:
        return typing.Union[args]
    origin = _builtin_for(declared) or declared
    if origin in _BUILTIN_CONTAINERS:
        if origin is declared and type(tp) is GenericAlias:
            return tp  # already list[int]: keep the identical object so the cache stays stable
        return origin[args] if args else origin
    return tp


def _arg_name(arg: Any) -> str:
    if arg is Ellipsis:
        return "..."
    if isinstance(arg, (list, tuple)):  # Callable[[int, str], bool]
        return f"[{', '.join(map(_arg_name, arg))}]"
    return type_name(arg)


def _builtin_for(tp: Any) -> type | None:
    try:
        return _ABC_TO_BUILTIN.get(tp)
    except TypeError:  # unhashable
        return None


def type_name(tp: Any) -> str:
    """A short human-readable name: ``int``, ``list[int]``, ``Optional[str]``, ``MyDataclass``."""
    try:
        tp = normalize(tp)
    except TypeError:
        return str(tp)
    if tp is Any:
        return "Any"
    if tp is NoneType:
        return "None"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:
        others = [a for a in args if a is not NoneType]
        inner = type_name(others[0]) if len(others) == 1 else f"Union[{', '.join(map(type_name, others))}]"
        return f"Optional[{inner}]" if len(others) < len(args) else inner
    if origin is typing.Literal:
        return f"Literal[{', '.join(map(repr, args))}]"
    if origin is not None and args:
        base = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        parts = [_arg_name(a) for a in args]
        return f"{base}[{', '.join(parts)}]"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


# --- the chain and the cache -----------------------------------------------------------------

_lock = threading.RLock()
_first: list[Any] = []  # registered with first=True, newest first
_builtins: list[Any] = []  # installed by flyte.types at import
_last: list[Any] = []  # registered with first=False, tried after the built-ins
_fallback: list[Any] = []  # the pickle converter
_chain: tuple[Any, ...] = ()
_cache: dict[Any, Plan] = {}
_on_change: list[Callable[[], None]] = []


def _rebuild_chain() -> None:
    global _chain
    _chain = (*_first, *_builtins, *_last, *_fallback)
    _cache.clear()
    for hook in _on_change:
        hook()


def install(builtins: list[Any], fallback: Any) -> None:
    """Set the built-in converters (called once by ``flyte.types``)."""
    with _lock:
        _builtins[:] = builtins
        _fallback[:] = [fallback]
        _rebuild_chain()


def register(converter: Any, *, first: bool = True) -> None:
    """Add a converter: before the built-ins (``first=True``) or just before the pickle fallback."""
    for method in ("handles", "to_wire", "from_wire", "from_jsonable"):
        if not callable(getattr(converter, method, None)):
            raise TypeError(f"{type(converter).__name__} is not a converter: it has no {method}()")
    with _lock:
        if first:
            _first.insert(0, converter)
        else:
            _last.append(converter)
        _rebuild_chain()


def unregister(converter: Any) -> None:
    """Remove a converter added with :func:`register`."""
    with _lock:
        _first[:] = [c for c in _first if c is not converter]
        _last[:] = [c for c in _last if c is not converter]
        _rebuild_chain()


def refresh() -> None:
    """Forget the plans chosen so far (a registered converter now handles more types)."""
    with _lock:
        _rebuild_chain()


def on_change(hook: Callable[[], None]) -> None:
    """Run ``hook`` whenever the chain changes (other caches keyed by type must be dropped)."""
    _on_change.append(hook)


def plan_for(tp: Any) -> Plan:
    """The cached plan for ``tp``, building it on first use."""
    try:
        return _cache[tp]
    except KeyError:
        pass
    except TypeError:  # an unhashable annotation (e.g. Annotated with a dict): no caching
        return _build(tp)
    with _lock:
        plan = _cache.get(tp)
        if plan is None:
            plan = _build(tp)
            _cache[tp] = plan
        return plan


def _build(tp: Any) -> Plan:
    chosen = _annotated_transformer(tp)
    if chosen is not None:
        return chosen
    norm = normalize(tp)
    if norm is not tp:
        return plan_for(norm)
    for conv in _chain:
        if conv.handles(tp):
            return conv.build(tp) if isinstance(conv, BaseConverter) else _protocol_plan(conv, tp)
    raise TypeError(f"no converter handles {tp!r}")  # unreachable: the fallback takes all


def _annotated_transformer(tp: Any) -> Plan | None:
    """``Annotated[T, SomeTransformer()]``: that transformer converts this value, whatever is
    registered for ``T`` (the first transformer among the annotations; other metadata is ignored)."""
    if typing.get_origin(tp) is not typing.Annotated:
        return None
    from flyte.types._transformer import TransformerConverter, is_transformer

    base, *metadata = typing.get_args(tp)
    for item in metadata:
        if is_transformer(item):
            return TransformerConverter(item, [normalize(base)]).build(normalize(base))
    return None


def _protocol_plan(conv: Any, tp: Any) -> Plan:
    """Wrap a converter that only implements the public protocol."""
    name = type_name(tp)

    def guarded(fn: Callable[[Any, Any], Any]) -> Fn:
        def call(value: Any) -> Any:
            try:
                return fn(value, tp)
            except TypeTransformerFailedError:
                raise
            except (TypeError, ValueError) as exc:
                raise TypeTransformerFailedError(name, type_label(value), "", value, detail=str(exc)) from exc

        return call

    runtime = tp if isinstance(tp, type) else None
    return Plan(
        tp,
        name,
        guarded(conv.to_wire),
        guarded(conv.from_wire),
        guarded(conv.from_jsonable),
        by_ref=runtime is not None,
        runtime=runtime,
    )


class Lazy:
    """A value computed on first use; lets recursive types (a Node with Node children) build."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._value: Any = None

    def __call__(self) -> Any:
        value = self._value
        if value is None:
            value = self._value = self._make()
        return value
