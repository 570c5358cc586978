"""Named values, JSON views and JSON input, the pickle fallback, register() and import cost."""

from __future__ import annotations

import dataclasses
import enum
import json
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any, NamedTuple, Optional, TypedDict, Union

import pydantic
import pytest

from flyte.types import PickleFallbackWarning, TypeEngine, TypeTransformerFailedError, register


@dataclasses.dataclass
class Cfg:
    lr: float
    layers: list[int]
    name: str = "model"
    start: Optional[date] = None


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Num(enum.Enum):
    ONE = 1
    TWO = 2


class Span(NamedTuple):
    lo: int
    hi: int


class Opts(TypedDict):
    depth: int


class Spec(pydantic.BaseModel):
    n: int
    when: datetime


# --- encode_values / decode_values ---------------------------------------------------------------------


def test_values_round_trip_as_one_map() -> None:
    types = {"x": int, "y": str, "cfg": Cfg, "when": datetime}
    values = {"x": 3, "y": "a", "cfg": Cfg(0.1, [1, 2]), "when": datetime(2024, 1, 1, tzinfo=timezone.utc)}
    data = TypeEngine.encode_values(values, types)
    assert TypeEngine.decode_values(data, types) == values
    assert TypeEngine.to_jsonable(data)["cfg"] == {
        "lr": 0.1,
        "layers": [1, 2],
        "name": "model",
        "start": None,
    }


def test_values_error_carries_the_name() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode_values({"x": 1, "y": [1, "b"]}, {"x": int, "y": list[int]})
    err = info.value
    assert (err.name, err.expected, err.received, err.path) == ("y", "list[int]", "str", "[1]")


def test_values_without_types_are_untyped() -> None:
    data = TypeEngine.encode_values({"a": (1, 2), "b": 1}, {"b": int})
    assert TypeEngine.decode_values(data, {}) == {"a": (1, 2), "b": 1}


def test_typed_union_decoded_untyped_loses_only_the_tag() -> None:
    data = TypeEngine.encode_values({"u": [1, "a"]}, {"u": list[Union[int, str]]})
    assert TypeEngine.decode_values(data, {}) == {"u": [1, "a"]}
    assert TypeEngine.decode(TypeEngine.encode("s", Union[int, str]), Any) == "s"


def test_untyped_value_that_cannot_be_pickled_names_the_key() -> None:
    with pytest.raises(TypeTransformerFailedError) as info, pytest.warns(PickleFallbackWarning):
        TypeEngine.encode_values({"ok": 1, "bad": [threading.Lock()]}, {})
    assert info.value.name == "bad"
    assert "cannot be pickled" in str(info.value)


def test_single_values_use_the_same_wire_as_named_values() -> None:
    data = TypeEngine.encode([1, 2], list[int])
    assert TypeEngine.decode(data, list[int]) == [1, 2]
    assert TypeEngine.to_wire((1, "a"), tuple[int, str]) == [1, "a"]
    assert TypeEngine.from_wire([1, "a"], tuple[int, str]) == (1, "a")


# --- to_jsonable --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tp", "shown"),
    [
        (3, int, 3),
        ("s", str, "s"),
        (b"\x00\x01", bytes, "b64:AAE="),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc), datetime, "2024-01-02T03:04:05+00:00"),
        (date(2024, 1, 2), date, "2024-01-02"),
        (timedelta(minutes=1, milliseconds=500), timedelta, 60.5),
        ((1, "a"), tuple[int, str], [1, "a"]),
        ((1, "a"), Any, [1, "a"]),
        ({3, 1, 2}, set[int], [1, 2, 3]),
        ({3, 1, 2}, Any, [1, 2, 3]),
        ({1: "a"}, dict[int, str], {"1": "a"}),
        ({(1, 2): "a"}, dict[tuple[int, int], str], {"[1, 2]": "a"}),
        (Mode.FAST, Mode, "fast"),
        ([Mode.FAST], Any, ["fast"]),
        (Cfg(1.0, [2]), Cfg, {"lr": 1.0, "layers": [2], "name": "model", "start": None}),
        ([Cfg(1.0, [])], Any, [{"lr": 1.0, "layers": [], "name": "model", "start": None}]),
        (Span(1, 2), Span, {"lo": 1, "hi": 2}),
        ("x", Union[int, str], "x"),
        ([1, None], list[Optional[int]], [1, None]),
        (2**70, int, 2**70),
        (
            Spec(n=1, when=datetime(2024, 1, 1, tzinfo=timezone.utc)),
            Spec,
            {"n": 1, "when": "2024-01-01T00:00:00+00:00"},
        ),
    ],
)
def test_to_jsonable(value: Any, tp: Any, shown: Any) -> None:
    view = TypeEngine.to_jsonable(TypeEngine.encode(value, tp))
    assert view == shown
    json.dumps(view)


class Shown:
    pass


def test_to_jsonable_shows_pickles_by_type_name() -> None:
    with pytest.warns(PickleFallbackWarning):
        data = TypeEngine.encode({"o": Shown()}, dict[str, Any])
    assert TypeEngine.to_jsonable(data) == {"o": "<pickled Shown>"}


# --- from_jsonable ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "tp", "expected"),
    [
        (3, int, 3),
        ("3", int, 3),
        (3.0, int, 3),
        (2, float, 2.0),
        ("2.5", float, 2.5),
        ("true", bool, True),
        ("no", bool, False),
        ("abc", bytes, b"abc"),
        ("b64:AAE=", bytes, b"\x00\x01"),
        (None, Optional[int], None),
        ("7", Optional[int], 7),
        ("7", Union[int, str], "7"),
        (7, Union[str, int], 7),
        ([1, "a"], tuple[int, str], (1, "a")),
        ([1, 2], tuple[int, ...], (1, 2)),
        ([1, 2, 2], set[int], {1, 2}),
        ({"1": "a"}, dict[int, str], {1: "a"}),
        ("2024-01-02T03:04:05Z", datetime, datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        ("2024-01-02T03:04:05", datetime, datetime(2024, 1, 2, 3, 4, 5)),
        ("2024-01-02", date, date(2024, 1, 2)),
        (90, timedelta, timedelta(seconds=90)),
        ("90", timedelta, timedelta(seconds=90)),
        ("1h30m", timedelta, timedelta(hours=1, minutes=30)),
        ("2d 4h", timedelta, timedelta(days=2, hours=4)),
        ("1:02:03", timedelta, timedelta(hours=1, minutes=2, seconds=3)),
        ("fast", Mode, Mode.FAST),
        ("SLOW", Mode, Mode.SLOW),
        (2, Num, Num.TWO),
        ("2", Num, Num.TWO),
        ("TWO", Num, Num.TWO),
        ({"lo": 1, "hi": 2}, Span, Span(1, 2)),
        ([1, 2], Span, Span(1, 2)),
        ({"depth": 2}, Opts, {"depth": 2}),
        ([1, (2,)], Any, [1, (2,)]),
    ],
)
def test_from_jsonable(obj: Any, tp: Any, expected: Any) -> None:
    out = TypeEngine.from_jsonable(obj, tp)
    assert out == expected
    assert type(out) is type(expected)


def test_from_jsonable_builds_nested_records() -> None:
    cfg = TypeEngine.from_jsonable({"lr": 1, "layers": ["3"], "start": "2024-02-03"}, Cfg)
    assert cfg == Cfg(1.0, [3], "model", date(2024, 2, 3))
    assert type(cfg.lr) is float
    spec = TypeEngine.from_jsonable({"n": "4", "when": "2024-01-01T00:00:00Z"}, list[Spec] and Spec)
    assert spec == Spec(n=4, when=datetime(2024, 1, 1, tzinfo=timezone.utc))


def test_from_jsonable_round_trips_a_json_view() -> None:
    value = {"a": [Cfg(0.5, [1], start=date(2024, 1, 1))]}
    tp = dict[str, list[Cfg]]
    view = json.loads(json.dumps(TypeEngine.to_jsonable(TypeEngine.encode(value, tp))))
    assert TypeEngine.from_jsonable(view, tp) == value


@pytest.mark.parametrize(
    ("obj", "tp", "message"),
    [
        ("abc", int, "expected int, got str ('abc')"),
        ({"lr": 1, "layer": [1]}, Cfg, "expected Cfg, got dict at .layer: Cfg has no field 'layer'"),
        ({"lr": 1}, Cfg, "expected Cfg, got dict: missing field(s) layers"),
        ({"lr": "x", "layers": []}, Cfg, "expected Cfg, got str at .lr ('x')"),
        ("medium", Mode, "expected Mode, got str ('medium'): one of 'fast', 'slow'"),
        ("yesterday", date, "expected date, got str ('yesterday'): use YYYY-MM-DD"),
        ([1, 2, 3], tuple[int, str], "expected tuple[int, str], got list ([1, 2, 3]): it has 3 items, not 2"),
        (1.5, Union[int, Mode], "expected Union[int, Mode], got float (1.5)"),
        ({}, Opts, "expected Opts, got dict: missing field(s) depth"),
        ({"n": "x", "when": "2024-01-01"}, Spec, "expected Spec, got str at .n ('x')"),
    ],
)
def test_from_jsonable_errors(obj: Any, tp: Any, message: str) -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.from_jsonable(obj, tp)
    assert str(info.value).startswith(message)


# --- pickle fallback ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _forget_pickle_warnings() -> None:
    from flyte.types import _pickle

    _pickle._warned.clear()  # "once per type" is per process; each test starts fresh


@pytest.fixture
def converters() -> Any:
    """Register converters for one test only."""
    from flyte.types import _registry

    added: list[Any] = []

    def add(conv: Any) -> None:
        added.append(conv)
        register(conv)

    yield add
    with _registry._lock:
        _registry._first[:] = [c for c in _registry._first if c not in added]
        _registry._rebuild_chain()


class Opaque:
    def __init__(self, v: int) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.v == self.v

    def __hash__(self) -> int:
        return self.v


class Unknown(Opaque):
    pass


def test_unknown_type_is_pickled_with_one_warning_per_type() -> None:
    with pytest.warns(PickleFallbackWarning, match="Unknown") as record:
        first = TypeEngine.encode(Unknown(1), Unknown)
        TypeEngine.encode([Unknown(2)], list[Unknown])
    assert len([w for w in record if issubclass(w.category, PickleFallbackWarning)]) == 1
    out = TypeEngine.decode(first, Unknown)
    assert type(out) is Unknown and out.v == 1


def test_pickled_values_inside_any() -> None:
    with pytest.warns(PickleFallbackWarning, match="Opaque"):
        data = TypeEngine.encode({"k": [Opaque(3)]}, Any)
    assert TypeEngine.decode(data, Any) == {"k": [Opaque(3)]}


def test_pickle_fallback_still_checks_the_class() -> None:
    with pytest.raises(TypeTransformerFailedError, match="expected Opaque, got int"):
        TypeEngine.encode(1, Opaque)


def test_pickle_fallback_cannot_come_from_json() -> None:
    with pytest.raises(TypeTransformerFailedError, match="cannot be built from JSON"):
        TypeEngine.from_jsonable({"v": 1}, Opaque)


# --- register -------------------------------------------------------------------------------------------


class Money:
    def __init__(self, cents: int, currency: str) -> None:
        self.cents = cents
        self.currency = currency

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (other.cents, other.currency) == (self.cents, self.currency)

    def __hash__(self) -> int:
        return hash((self.cents, self.currency))


class MoneyConverter:
    def handles(self, python_type: Any) -> bool:
        return python_type is Money

    def to_wire(self, value: Any, python_type: Any) -> Any:
        if not isinstance(value, Money):
            raise TypeTransformerFailedError("Money", type(value).__name__, "", value)
        return [TypeEngine.to_wire(value.cents, int), value.currency]

    def from_wire(self, wire: Any, python_type: Any) -> Any:
        return Money(TypeEngine.from_wire(wire[0], int), wire[1])

    def from_jsonable(self, obj: Any, python_type: Any) -> Any:
        amount, currency = obj.split()
        return Money(round(float(amount) * 100), currency)


def test_registered_converter_is_used_everywhere(converters: Any) -> None:
    converters(MoneyConverter())
    price = Money(1250, "EUR")
    assert TypeEngine.decode(TypeEngine.encode(price, Money), Money) == price
    value = {"a": [price], "b": Optional[Money] and None}
    assert TypeEngine.decode(TypeEngine.encode(value, dict[str, Any]), dict[str, Any]) == value
    assert TypeEngine.decode(TypeEngine.encode([price], list[Money]), list[Money]) == [price]
    assert TypeEngine.from_jsonable("12.50 EUR", Money) == price
    assert TypeEngine.to_jsonable(TypeEngine.encode(price, Money)) == [1250, "EUR"]
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode([price, 3], list[Money])
    assert (info.value.path, info.value.received) == ("[1]", "int")


def test_registered_converter_can_take_over_a_builtin_type(converters: Any) -> None:
    class Shout:
        def handles(self, python_type: Any) -> bool:
            return python_type is Span

        def to_wire(self, value: Any, python_type: Any) -> Any:
            return f"{value.lo}-{value.hi}"

        def from_wire(self, wire: Any, python_type: Any) -> Any:
            lo, hi = wire.split("-")
            return Span(int(lo), int(hi))

        def from_jsonable(self, obj: Any, python_type: Any) -> Any:
            return self.from_wire(obj, python_type)

    assert TypeEngine.to_jsonable(TypeEngine.encode(Span(1, 2), Span)) == {"lo": 1, "hi": 2}
    converters(Shout())
    assert TypeEngine.to_jsonable(TypeEngine.encode(Span(1, 2), Span)) == "1-2"
    assert TypeEngine.decode(TypeEngine.encode(Span(1, 2), Span), Span) == Span(1, 2)


def test_register_rejects_non_converters() -> None:
    with pytest.raises(TypeError, match="object is not a converter: it has no handles"):
        register(object())


# --- concurrency and import cost --------------------------------------------------------------------------


def test_concurrent_first_use_of_a_type() -> None:
    @dataclasses.dataclass
    class Fresh:
        items: list[int]

    errors: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(200):
                assert TypeEngine.decode(TypeEngine.encode(Fresh([i]), Fresh), Fresh) == Fresh([i])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_import_is_light() -> None:
    code = (
        "import sys, flyte.types; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'asyncio', 'numpy', 'pandas')))"
    )
    import os
    from pathlib import Path

    import flyte.types

    src = str(Path(flyte.types.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"
