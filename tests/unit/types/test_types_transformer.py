"""Reference-style TypeTransformer subclasses (flyteidl2 literals) and TypeEngine's literal API."""

from __future__ import annotations

import asyncio
import datetime
import enum
import os
from dataclasses import dataclass
from typing import Any, Optional

import pytest
from flyteidl2.core import interface_pb2, literals_pb2, types_pb2

import flyte
from flyte.types import (
    FlytePickle,
    TypeEngine,
    TypeTransformer,
    TypeTransformerFailedError,
    _literal_api,
    guess_interface,
)


class Point:
    """A type only the transformer below knows."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (other.x, other.y) == (self.x, self.y)

    def __repr__(self) -> str:
        return f"Point({self.x}, {self.y})"


CALLS: list[str] = []


class PointTransformer(TypeTransformer[Point]):
    def __init__(self) -> None:
        super().__init__(name="Point", t=Point)

    def get_literal_type(self, t: type[Point]) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(simple=types_pb2.SimpleType.STRING)

    async def to_literal(
        self, python_val: Point, python_type: type[Point], expected: types_pb2.LiteralType
    ) -> literals_pb2.Literal:
        CALLS.append(f"to_literal:{os.getpid()}")
        text = f"{python_val.x},{python_val.y}"
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=text))
        )

    async def to_python_value(self, lv: literals_pb2.Literal, expected_python_type: type[Point]) -> Point:
        CALLS.append(f"to_python_value:{os.getpid()}")
        x, y = lv.scalar.primitive.string_value.split(",")
        return Point(int(x), int(y))

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> type[Point]:
        raise ValueError("not reversible")


POINTS = PointTransformer()
TypeEngine.register(POINTS)  # at import, as a user module does: worker processes import it too

env = flyte.TaskEnvironment(name="transformers")


@env.task
async def shift(p: Point, dx: int) -> Point:
    return Point(p.x + dx, p.y)


@env.task(timeout=30)
def shift_in_worker(p: Point) -> tuple[Point, int, list[str]]:
    return Point(p.x * 10, p.y * 10), os.getpid(), list(CALLS)


@env.task
async def many(ps: list[Point], named: dict[str, Optional[Point]]) -> list[Point]:
    return ps + [v for v in named.values() if v is not None]


def test_register_is_the_reference_api() -> None:
    with pytest.raises(ValueError, match="Transformer Point for type Point is already registered"):
        TypeEngine.register(PointTransformer())
    assert Point in TypeEngine.get_available_transformers()
    assert TypeEngine.get_transformer(Point) is POINTS
    assert TypeEngine.to_literal_type(Point).simple == types_pb2.SimpleType.STRING


def test_a_registered_transformer_round_trips_through_a_task() -> None:
    CALLS.clear()
    run = flyte.run(shift, Point(1, 2), 5)
    assert run.outputs() == (Point(6, 2),)
    assert any(c.startswith("to_literal") for c in CALLS)
    assert any(c.startswith("to_python_value") for c in CALLS)


def test_a_registered_transformer_is_used_in_a_worker_process() -> None:
    out, pid, worker_calls = flyte.run(shift_in_worker, Point(1, 2)).outputs()
    assert pid != os.getpid()  # the sync task with a timeout ran in another interpreter
    assert f"to_python_value:{pid}" in worker_calls  # the worker read its input with the transformer
    assert out == Point(10, 20)


def test_transformer_types_inside_containers() -> None:
    out = flyte.run(many, [Point(1, 1)], {"a": Point(2, 2), "b": None}).outputs()[0]
    assert out == [Point(1, 1), Point(2, 2)]


def test_a_wrong_value_names_the_parameter() -> None:
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match="p"):
        flyte.run(shift, "1,2", 5)


def test_to_literal_and_back_with_the_engine() -> None:
    lv = asyncio.run(TypeEngine.to_literal(Point(3, 4), Point, TypeEngine.to_literal_type(Point)))
    assert lv.scalar.primitive.string_value == "3,4"
    assert asyncio.run(TypeEngine.to_python_value(lv, Point)) == Point(3, 4)


def test_a_transformer_can_take_over_a_subclass_and_additional_types() -> None:
    class Vec(Point):
        pass

    class Other:
        pass

    class OtherTransformer(TypeTransformer[Other]):
        def __init__(self) -> None:
            super().__init__("Other", Other, enable_type_assertions=False)

        def get_literal_type(self, t: Any) -> types_pb2.LiteralType:
            return types_pb2.LiteralType(simple=types_pb2.SimpleType.INTEGER)

        async def to_literal(self, python_val: Any, python_type: Any, expected: Any) -> literals_pb2.Literal:
            return literals_pb2.Literal(
                scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=7))
            )

        async def to_python_value(self, lv: literals_pb2.Literal, expected_python_type: Any) -> Any:
            return lv.scalar.primitive.integer

    class Extra:
        pass

    trans = OtherTransformer()
    try:
        TypeEngine.register(trans, additional_types=[Extra])
        assert TypeEngine.decode(TypeEngine.encode(Extra(), Extra), Extra) == 7
        assert TypeEngine.decode(TypeEngine.encode(Vec(1, 2), Vec), Vec) == Point(
            1, 2
        )  # via PointTransformer
    finally:
        _literal_api.unregister(trans)
    assert Extra not in TypeEngine.get_available_transformers()


# --- the built-in literal forms ------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Row:
    name: str
    score: float


@pytest.mark.parametrize(
    ("tp", "value"),
    [
        (int, 3),
        (float, 2.5),
        (str, "hi"),
        (bool, True),
        (datetime.timedelta, datetime.timedelta(seconds=90)),
        (list[int], [1, 2]),
        (dict[str, list[float]], {"a": [1.0]}),
        (Optional[int], None),
        (Optional[int], 4),
        (Color, Color.BLUE),
        (Row, Row("a", 1.5)),
        (dict, {"k": [1, "x"]}),
        (bytes, b"\x00\x01"),
        (set[int], {1, 2}),
    ],
)
def test_builtin_types_round_trip_as_literals(tp: Any, value: Any) -> None:
    lv = asyncio.run(TypeEngine.to_literal(value, tp, TypeEngine.to_literal_type(tp)))
    assert isinstance(lv, literals_pb2.Literal)
    assert asyncio.run(TypeEngine.to_python_value(lv, tp)) == value


def test_literal_forms_match_the_reference() -> None:
    lv = asyncio.run(TypeEngine.to_literal(Color.RED, Color, TypeEngine.to_literal_type(Color)))
    assert lv.scalar.primitive.string_value == "red"
    assert list(TypeEngine.to_literal_type(Color).enum_type.values) == ["red", "blue"]
    row = asyncio.run(TypeEngine.to_literal(Row("a", 1.5), Row, TypeEngine.to_literal_type(Row)))
    assert row.scalar.binary.tag == "msgpack"
    assert TypeEngine.to_literal_type(Row).simple == types_pb2.SimpleType.STRUCT
    with pytest.raises(TypeTransformerFailedError):
        asyncio.run(TypeEngine.to_literal("x", int, TypeEngine.to_literal_type(int)))


def test_guess_python_type_and_guess_interface() -> None:
    assert TypeEngine.guess_python_type(TypeEngine.to_literal_type(list[int])) == list[int]
    assert TypeEngine.guess_python_type(TypeEngine.to_literal_type(dict[str, float])) == dict[str, float]
    assert TypeEngine.guess_python_type(TypeEngine.to_literal_type(datetime.datetime)) is datetime.datetime
    guessed_enum = TypeEngine.guess_python_type(TypeEngine.to_literal_type(Color))
    assert [m.value for m in guessed_enum] == ["red", "blue"]

    def var(name: str, tp: Any) -> interface_pb2.VariableEntry:
        return interface_pb2.VariableEntry(
            key=name, value=interface_pb2.Variable(type=TypeEngine.to_literal_type(tp))
        )

    iface = interface_pb2.TypedInterface(
        inputs=interface_pb2.VariableMap(variables=[var("n", int), var("names", list[str])]),
        outputs=interface_pb2.VariableMap(variables=[var("o0", float)]),
    )
    native = guess_interface(iface)
    assert native.inputs["n"][0] is int
    assert native.inputs["names"][0] == list[str]
    assert native.outputs == {"o0": float}


def test_literal_maps_to_kwargs_and_back() -> None:
    lm = asyncio.run(TypeEngine.dict_to_literal_map({"a": 1, "p": Point(1, 2)}, {"a": int, "p": Point}))
    assert set(lm.literals) == {"a", "p"}
    kwargs = asyncio.run(TypeEngine.literal_map_to_kwargs(lm, {"a": int, "p": Point}))
    assert kwargs == {"a": 1, "p": Point(1, 2)}


# --- FlytePickle ---------------------------------------------------------------------------------------


@env.task
async def keep_pickled(fn: FlytePickle) -> FlytePickle:
    return fn


def test_flyte_pickle_cloudpickles_without_a_warning() -> None:
    import warnings

    square = lambda v: v * v  # noqa: E731 - a lambda is what plain pickle cannot take
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = flyte.run(keep_pickled, square).outputs()[0]
    assert out(4) == 16
    assert FlytePickle[int].python_type() is int


def test_flyte_pickle_to_and_from_storage() -> None:
    uri = asyncio.run(FlytePickle.to_pickle({"a": 1}))
    assert asyncio.run(FlytePickle.from_pickle(uri)) == {"a": 1}
