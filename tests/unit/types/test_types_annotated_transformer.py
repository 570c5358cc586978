"""``Annotated[T, SomeTransformer()]``: the annotated transformer converts that value, even for a
type that has another converter (or none)."""

from __future__ import annotations

from typing import Annotated

from flyteidl2.core import literals_pb2, types_pb2

import flyte
from flyte.types import TypeEngine, TypeTransformer

SEEN: list[str] = []


class Celsius(float):
    """A float that is stored as tenths of a degree in an integer literal."""


class TenthsTransformer(TypeTransformer[float]):
    def __init__(self) -> None:
        super().__init__(name="tenths", t=float)

    def get_literal_type(self, t: type[float]) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(simple=types_pb2.SimpleType.INTEGER)

    async def to_literal(
        self, python_val: float, python_type: type[float], expected: types_pb2.LiteralType
    ) -> literals_pb2.Literal:
        SEEN.append("to_literal")
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=round(python_val * 10)))
        )

    async def to_python_value(self, lv: literals_pb2.Literal, expected_python_type: type[float]) -> float:
        SEEN.append("to_python_value")
        return lv.scalar.primitive.integer / 10


TENTHS = TenthsTransformer()
Tenths = Annotated[float, TENTHS]

env = flyte.TaskEnvironment(name="annotated_transformer")


@env.task
async def warmer(t: Tenths, by: float) -> Tenths:
    return t + by


def test_the_annotated_transformer_converts_the_value() -> None:
    SEEN.clear()
    encoded = TypeEngine.encode_values({"t": 21.54}, {"t": Tenths})
    assert SEEN == ["to_literal"]
    assert TypeEngine.decode_values(encoded, {"t": Tenths}) == {"t": 21.5}  # tenths: rounded by it
    plain = TypeEngine.encode_values({"t": 21.54}, {"t": float})
    assert TypeEngine.decode_values(plain, {"t": float}) == {"t": 21.54}  # float keeps its own converter


def test_a_task_with_annotated_inputs_and_outputs_goes_through_it() -> None:
    SEEN.clear()
    run = flyte.run(warmer, 20.04, 1.0)
    assert run.outputs() == (21.0,)  # 20.04 -> 20.0 on the way in, 21.0 out
    assert "to_literal" in SEEN and "to_python_value" in SEEN


def test_other_annotated_metadata_is_ignored() -> None:
    encoded = TypeEngine.encode_values({"n": 3}, {"n": Annotated[int, "a doc string"]})
    assert TypeEngine.decode_values(encoded, {"n": Annotated[int, "a doc string"]}) == {"n": 3}
