"""Inputs the reference SDK accepts: dicts for records, NotRequired keys, enum values, str enums
for Literals, functions and tasks as Callables, and what a task returning None gives."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypedDict

import pydantic
import pytest
from typing_extensions import NotRequired, Required

import flyte
from flyte.cli._params import JsonValue
from flyte.types import TypeEngine, TypeTransformerFailedError

env = flyte.TaskEnvironment(name="reference_inputs")


@dataclass
class Settings:
    rate: float
    name: str = "default"


class Model(pydantic.BaseModel):
    count: int
    tags: list[str] = []


class Options(TypedDict):
    size: int
    label: NotRequired[str]


class Partial(TypedDict, total=False):
    size: Required[int]
    label: str


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Mode(str, enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@env.task
async def describe(s: Settings, m: Model) -> str:
    assert isinstance(s, Settings) and isinstance(m, Model)
    return f"{s.name}:{s.rate}:{m.count}"


@env.task
async def sized(o: Options, p: Partial) -> int:
    return o["size"] + p["size"] + len(o.get("label", "")) + len(p.get("label", ""))


@env.task
async def paint(c: Color, mode: Literal["fast", "slow"]) -> str:
    assert isinstance(c, Color)
    return f"{c.name}/{mode}"


@env.task
async def twice(x: int) -> int:
    return 2 * x


def triple(x: int) -> int:
    return 3 * x


@env.task
async def apply(fn: Callable[[int], int], x: int) -> int:
    result = fn(x)
    return await result if hasattr(result, "__await__") else result


@env.task(timeout=30)
def apply_in_worker(fn: Callable[[int], int], x: int) -> tuple[int, int]:
    return fn(x), os.getpid()


@env.task
async def nothing() -> None:
    return None


def test_dicts_are_converted_to_dataclasses_and_models() -> None:
    out = flyte.run(describe, {"rate": 0.5}, {"count": 3, "tags": ["a"]}).outputs()
    assert out == ("default:0.5:3",)


def test_a_dict_with_a_wrong_field_is_refused_with_its_name() -> None:
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match="rate"):
        flyte.run(describe, {"rate": "fast"}, {"count": 3})


def test_cli_json_gives_records() -> None:
    s = JsonValue(Settings).convert('{"rate": 2, "name": "cli"}', None, None)
    m = JsonValue(Model).convert('{"count": "4"}', None, None)
    assert flyte.run(describe, s, m).outputs() == ("cli:2.0:4",)


def test_not_required_keys_under_future_annotations() -> None:
    assert flyte.run(sized, {"size": 1}, {"size": 2}).outputs() == (3,)
    assert flyte.run(sized, {"size": 1, "label": "ab"}, {"size": 2, "label": "c"}).outputs() == (6,)
    assert TypeEngine.from_jsonable({"size": 1}, Options) == {"size": 1}
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match="size"):
        flyte.run(sized, {"label": "x"}, {"size": 2})
    with pytest.raises(TypeTransformerFailedError, match="missing"):
        TypeEngine.encode({"label": "x"}, Partial)


def test_enum_values_and_literals_are_accepted_and_validated() -> None:
    assert flyte.run(paint, Color.RED, "fast").outputs() == ("RED/fast",)
    assert flyte.run(paint, "blue", Mode.SLOW).outputs() == ("BLUE/slow",)  # value; str enum member
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match="green"):
        flyte.run(paint, "green", "fast")
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match="'fast', 'slow'"):
        flyte.run(paint, Color.RED, "medium")


def test_functions_and_tasks_as_callable_inputs() -> None:
    assert flyte.run(apply, triple, 2).outputs() == (6,)  # importable: sent by name
    assert flyte.run(apply, twice, 5).outputs() == (10,)  # a task, called inside the run
    offset = 7
    assert flyte.run(apply, lambda v: v + offset, 1).outputs() == (8,)  # a closure: cloudpickled
    wire = TypeEngine.to_jsonable(TypeEngine.encode(triple, Callable[[int], int]))
    assert wire == {"ref": f"{__name__}:triple"}


def test_a_closure_reaches_a_worker_process() -> None:
    offset = 100
    value, pid = flyte.run(apply_in_worker, lambda v: v + offset, 1).outputs()
    assert (value, pid != os.getpid()) == (101, True)


def test_a_task_returning_none_gives_one_none_output() -> None:
    assert flyte.run(nothing).outputs() == (None,)
