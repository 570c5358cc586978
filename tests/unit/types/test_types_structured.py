"""Records (dataclasses, pydantic models, NamedTuple, TypedDict), enums, dates and times."""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections import namedtuple
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Generic, NamedTuple, Optional, TypedDict, TypeVar, Union

import pydantic
import pytest

from flyte.types import TypeEngine, TypeTransformerFailedError

T = TypeVar("T")


def roundtrip(value: Any, tp: Any) -> Any:
    return TypeEngine.decode(TypeEngine.encode(value, tp), tp)


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@dataclasses.dataclass
class Shape:
    name: str
    points: list[Point]
    origin: Optional[Point] = None
    tags: dict[str, float] = dataclasses.field(default_factory=dict)
    when: Optional[datetime] = None


@dataclasses.dataclass
class Node:
    value: int
    children: list[Node] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Box(Generic[T]):
    item: T
    items: list[T]


@dataclasses.dataclass
class WithDerived:
    a: int
    double: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.double = self.a * 2


@dataclasses.dataclass(frozen=True)
class Key:
    a: int
    b: str


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Perm(enum.Flag):
    R = 4
    W = 2


class Inner(pydantic.BaseModel):
    p: Point
    at: datetime


class Model(pydantic.BaseModel):
    name: str
    inner: Inner
    inners: list[Inner] = []
    color: Color = Color.RED
    counts: tuple[int, ...] = ()
    blob: bytes = b""


class Pair(NamedTuple):
    left: int
    right: str = "r"


Loose = namedtuple("Loose", ["a", "b"])


class Movie(TypedDict):
    title: str
    year: int


class PartialMovie(TypedDict, total=False):
    title: str
    rating: float


NOW = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)


# --- dataclasses ----------------------------------------------------------------------------------------


def test_nested_dataclass_round_trips_as_instances() -> None:
    shape = Shape("tri", [Point(1, 2), Point(3)], Point(0, 0), {"w": 1.5}, NOW)
    out = roundtrip(shape, Shape)
    assert out == shape
    assert type(out.points[0]) is Point and type(out.origin) is Point
    assert out.when.tzinfo is not None


def test_dataclass_defaults_apply_to_fields_missing_from_older_data() -> None:
    data = TypeEngine.encode({"x": 5}, dict[str, int])
    assert TypeEngine.decode(data, Point) == Point(5, 0)


def test_recursive_dataclass() -> None:
    tree = Node(1, [Node(2), Node(3, [Node(4)])])
    assert roundtrip(tree, Node) == tree


def test_generic_dataclass() -> None:
    value = Box(1, [2, 3])
    assert roundtrip(value, Box[int]) == value
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode(Box(1, [2, "x"]), Box[int])
    assert info.value.path == ".items[1]"
    assert TypeEngine.describe(Box[int]) == "Box[int]"


def test_init_false_fields_are_recomputed() -> None:
    assert roundtrip(WithDerived(3), WithDerived).double == 6


def test_dataclass_field_error_names_the_field() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode(Shape("s", [Point(1), Point("a")]), Shape)  # type: ignore[arg-type]
    err = info.value
    assert (err.expected, err.received, err.path, err.leaf_expected) == (
        "Shape",
        "str",
        ".points[1].x",
        "int",
    )
    assert str(err) == "expected Shape, got str at .points[1].x ('a')"


def test_dataclass_rejects_other_objects() -> None:
    with pytest.raises(TypeTransformerFailedError, match="expected Point, got list"):
        TypeEngine.encode([1, 2], Point)


def test_a_dict_for_a_dataclass_is_converted_and_checked() -> None:
    assert TypeEngine.decode(TypeEngine.encode({"x": 1}, Point), Point) == Point(1, 0)
    with pytest.raises(TypeTransformerFailedError, match="expected Point, got dict"):
        TypeEngine.encode({"x": 1, "z": 2}, Point)


def test_frozen_dataclass_as_dict_key() -> None:
    value = {Key(1, "a"): 1.0}
    out = roundtrip(value, dict[Key, float])
    assert out == value and type(next(iter(out))) is Key


def test_dataclass_inside_any_keeps_its_class() -> None:
    value = [Point(1, 2), {"k": Shape("s", [])}, (Color.GREEN, Level.HIGH)]
    out = roundtrip(value, Any)
    assert out == value
    assert type(out[0]) is Point and out[2][0] is Color.GREEN and out[2][1] is Level.HIGH


def test_local_dataclass_decodes_in_process_even_untyped() -> None:
    @dataclasses.dataclass
    class Local:
        v: int

    assert roundtrip([Local(1)], list) == [Local(1)]


# --- pydantic --------------------------------------------------------------------------------------------


def test_nested_dataclass_in_pydantic_in_list_in_dict() -> None:
    inner = Inner(p=Point(1, 2), at=NOW)
    model = Model(name="m", inner=inner, inners=[inner], color=Color.GREEN, counts=(1, 2), blob=b"\x00")
    value = {"a": [model, model]}
    out = roundtrip(value, dict[str, list[Model]])
    assert out == value
    got = out["a"][1]
    assert type(got) is Model and type(got.inner) is Inner and type(got.inner.p) is Point
    assert got.color is Color.GREEN and got.counts == (1, 2) and got.inner.at == NOW


def test_pydantic_model_in_dataclass_and_in_any() -> None:
    @dataclasses.dataclass
    class Holder:
        model: Model

    holder = Holder(Model(name="x", inner=Inner(p=Point(1), at=NOW)))
    assert roundtrip(holder, Holder) == holder
    assert roundtrip([holder.model], Any) == [holder.model]


def test_pydantic_rejects_dict_when_encoding() -> None:
    with pytest.raises(TypeTransformerFailedError, match="expected Model, got dict"):
        TypeEngine.encode({"name": "x"}, Model)


def test_pydantic_validation_error_has_a_path() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.from_jsonable({"name": "m", "inner": {"p": {"x": "nope"}, "at": "2024-01-01"}}, Model)
    assert info.value.path == ".inner.p.x"
    assert info.value.expected == "Model"


# --- NamedTuple / TypedDict ----------------------------------------------------------------------------


def test_namedtuple_round_trips() -> None:
    out = roundtrip(Pair(1, "a"), Pair)
    assert out == Pair(1, "a") and type(out) is Pair
    out = roundtrip([Pair(2)], list[Pair])
    assert type(out[0]) is Pair and out[0].right == "r"
    assert roundtrip(Loose(1, (2,)), Loose) == Loose(1, (2,))
    assert type(roundtrip(Pair(1), Any)) is Pair


def test_namedtuple_field_error() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode(Pair("x", "y"), Pair)  # type: ignore[arg-type]
    assert info.value.path == ".left"


def test_typeddict_round_trips_as_dict() -> None:
    movie: Movie = {"title": "Heat", "year": 1995}
    out = roundtrip(movie, Movie)
    assert out == movie and type(out) is dict
    assert roundtrip({"title": "x"}, PartialMovie) == {"title": "x"}


def test_typeddict_errors() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode({"title": "Heat", "year": "1995"}, Movie)
    assert (info.value.path, info.value.received) == ("['year']", "str")
    with pytest.raises(TypeTransformerFailedError, match="missing key\\(s\\) year"):
        TypeEngine.encode({"title": "Heat"}, Movie)


# --- enums -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tp"),
    [(Color.RED, Color), (Level.HIGH, Level), (Perm.R | Perm.W, Perm), ([Color.GREEN], list[Color])],
)
def test_enum_round_trips_as_members(value: Any, tp: Any) -> None:
    out = roundtrip(value, tp)
    assert out == value
    if isinstance(value, enum.Enum):
        assert out is value


def test_enum_keys() -> None:
    out = roundtrip({Color.RED: 1}, dict[Color, int])
    assert list(out) == [Color.RED]


def test_enum_takes_a_member_value_as_the_reference_does() -> None:
    assert TypeEngine.decode(TypeEngine.encode("red", Color), Color) is Color.RED
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode("RED", Color)  # names are for the CLI only
    assert str(info.value) == "expected Color, got str ('RED'): one of 'red', 'green'"


# --- dates and times -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        NOW,
        datetime(2024, 5, 1, 12, 0),
        datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        date(1999, 12, 31),
        time(23, 59, 59, 5),
        time(1, 2, tzinfo=timezone.utc),
        timedelta(days=-3, seconds=5, microseconds=7),
        timedelta(days=999_999_999),
    ],
)
def test_time_values_round_trip(value: Any) -> None:
    out = roundtrip(value, type(value))
    assert out == value and type(out) is type(value)
    if isinstance(value, (datetime, time)):
        assert out.utcoffset() == value.utcoffset()
        assert (out.tzinfo is None) == (value.tzinfo is None)


def test_zoneinfo_datetime_keeps_its_zone() -> None:
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    value = datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=paris)  # the second 02:30 of the DST change
    out = roundtrip(value, datetime)
    assert out.tzinfo is paris
    assert (out.hour, out.minute, out.fold) == (2, 30, 1)
    assert out.utcoffset() == value.utcoffset()


def test_datetime_is_not_a_date() -> None:
    with pytest.raises(TypeTransformerFailedError, match="expected date, got datetime"):
        TypeEngine.encode(NOW, date)


def test_times_in_any_and_as_keys() -> None:
    value = {NOW: [date(2020, 1, 1), timedelta(seconds=3)]}
    assert roundtrip(value, Any) == value
    assert roundtrip(value, dict[datetime, list[Union[date, timedelta]]]) == value


def test_unresolvable_annotation_is_a_definition_error() -> None:
    @dataclasses.dataclass
    class Broken:
        x: UndefinedName  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError, match="cannot resolve the annotations of"):
        TypeEngine.encode(Broken(1), Broken)


def test_annotated_and_newtype_are_unwrapped() -> None:
    UserId = typing.NewType("UserId", int)
    assert roundtrip(5, UserId) == 5
    assert roundtrip([1], typing.Annotated[list[int], "meta"]) == [1]
    assert TypeEngine.describe(typing.Annotated[int, "x"]) == "int"
