"""flytekit's ``TypeEngine`` and ``TypeTransformer``, bridged onto the engine's type registry.

``TypeEngine.register(MyTransformer())`` wraps the transformer in a converter of the engine's
chain (``flyte.types.TypeEngine.register``, asked before the built-ins): a value of the
transformer's type is turned into a flytekit ``Literal`` by ``to_literal`` and stored as that
literal's wire map; reading it back gives the literal to ``to_python_value``. Blob literals
point into the engine's blob store through ``FlyteContext.file_access``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class TypeTransformerFailedError(TypeError):
    """A value could not be converted by a transformer."""


class TypeTransformer(Generic[T]):
    """Base class of custom transformers: subclass with ``to_literal`` and ``to_python_value``."""

    def __init__(self, name: str, t: type[T], enable_type_assertions: bool = True) -> None:
        self._name = name
        self._t = t

    @property
    def name(self) -> str:
        return self._name

    @property
    def python_type(self) -> type[T]:
        return self._t

    def get_literal_type(self, t: Any) -> Any:
        raise NotImplementedError

    def to_literal(self, ctx: Any, python_val: T, python_type: type[T], expected: Any) -> Any:
        raise NotImplementedError

    def to_python_value(self, ctx: Any, lv: Any, expected_python_type: type[T]) -> T:
        raise NotImplementedError

    def guess_python_type(self, literal_type: Any) -> type[T]:
        return self._t

    def assert_type(self, t: type[T], v: T) -> None:
        if not isinstance(v, t):
            raise TypeTransformerFailedError(f"Value '{v!r}' of type {type(v)} is not an instance of {t}")


class _TransformerConverter:
    """An engine converter (``handles``/``to_wire``/``from_wire``/``from_jsonable``) for one transformer."""

    def __init__(self, transformer: TypeTransformer[Any]) -> None:
        self.transformer = transformer

    def handles(self, python_type: Any) -> bool:
        t = self.transformer.python_type
        return python_type is t or (
            isinstance(python_type, type) and isinstance(t, type) and issubclass(python_type, t)
        )

    def to_wire(self, value: Any, python_type: Any) -> Any:
        from flytekit.core.context_manager import FlyteContextManager
        from flytekit.models.literals import literal_to_wire

        tf = self.transformer
        lit = tf.to_literal(
            FlyteContextManager.current_context(), value, python_type, tf.get_literal_type(python_type)
        )
        return literal_to_wire(lit)

    def from_wire(self, wire: Any, python_type: Any) -> Any:
        from flytekit.core.context_manager import FlyteContextManager
        from flytekit.models.literals import wire_to_literal

        lit = wire_to_literal(wire)
        return self.transformer.to_python_value(FlyteContextManager.current_context(), lit, python_type)

    def from_jsonable(self, obj: Any, python_type: Any) -> Any:
        if isinstance(obj, self.transformer.python_type):
            return obj
        if isinstance(obj, dict):
            return self.from_wire(obj, python_type)
        raise TypeTransformerFailedError(f"cannot build a {python_type} from {obj!r}")


class TypeEngine:
    """flytekit's registry of transformers, backed by the engine's."""

    _REGISTRY: dict[type, TypeTransformer[Any]] = {}

    @classmethod
    def register(cls, transformer: TypeTransformer[Any], additional_types: list[type] | None = None) -> None:
        from flyte.types import TypeEngine as EngineTypes

        t = transformer.python_type
        if t in cls._REGISTRY:
            raise ValueError(f"Transformer {cls._REGISTRY[t].name} is already registered for {t}")
        cls._REGISTRY[t] = transformer
        EngineTypes.register(_TransformerConverter(transformer), first=True)

    @classmethod
    def get_transformer(cls, python_type: type) -> TypeTransformer[Any]:
        for t, tf in cls._REGISTRY.items():
            if python_type is t or (isinstance(python_type, type) and issubclass(python_type, t)):
                return tf
        raise ValueError(f"no flytekit transformer is registered for {python_type}")

    @classmethod
    def to_literal(cls, ctx: Any, python_val: Any, python_type: type, expected: Any = None) -> Any:
        tf = cls.get_transformer(python_type)
        return tf.to_literal(ctx, python_val, python_type, expected or tf.get_literal_type(python_type))

    @classmethod
    def to_python_value(cls, ctx: Any, lv: Any, expected_python_type: type) -> Any:
        return cls.get_transformer(expected_python_type).to_python_value(ctx, lv, expected_python_type)
