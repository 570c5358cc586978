"""Scalars, containers, Optional/Union, Literal and Any: round trips and validation errors."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union

import pytest

from flyte.types import TypeEngine, TypeTransformerFailedError


def roundtrip(value: Any, tp: Any) -> Any:
    return TypeEngine.decode(TypeEngine.encode(value, tp), tp)


@pytest.mark.parametrize(
    ("value", "tp"),
    [
        (0, int),
        (-(2**63), int),
        (2**64 - 1, int),
        (1.5, float),
        (float("inf"), float),
        ("héllo", str),
        ("", str),
        (True, bool),
        (False, bool),
        (b"\x00\xff", bytes),
        (None, None),
        (None, type(None)),
    ],
)
def test_scalars_round_trip_with_their_type(value: Any, tp: Any) -> None:
    out = roundtrip(value, tp)
    assert out == value
    assert type(out) is type(value)


def test_big_int_beyond_64_bits_round_trips() -> None:
    for value in (2**64, -(2**63) - 1, 10**40):
        assert roundtrip(value, int) == value
        assert roundtrip([value, 1], list[int]) == [value, 1]


def test_float_accepts_int_and_converts() -> None:
    out = roundtrip(3, float)
    assert out == 3.0 and type(out) is float
    assert roundtrip([1, 2.5], list[float]) == [1.0, 2.5]
    assert all(type(x) is float for x in roundtrip([1, 2.5], list[float]))


def test_bytes_accepts_bytearray_and_memoryview() -> None:
    assert roundtrip(bytearray(b"ab"), bytes) == b"ab"
    assert type(roundtrip(memoryview(b"cd"), bytes)) is bytes


def test_str_subclass_becomes_plain_str() -> None:
    class Name(str):
        pass

    out = roundtrip(Name("x"), str)
    assert out == "x" and type(out) is str


def test_int_subclass_and_index_types_are_accepted_as_int() -> None:
    class Count(int):
        pass

    out = roundtrip(Count(4), int)
    assert out == 4 and type(out) is int


@pytest.mark.parametrize(
    ("value", "tp", "received"),
    [
        ("3", int, "str"),
        (True, int, "bool"),
        (1.0, int, "float"),
        (True, float, "bool"),
        ("1.0", float, "str"),
        (1, str, "str" and "int"),
        (1, bool, "int"),
        ("ab", bytes, "str"),
        (0, None, "int"),
    ],
)
def test_wrong_scalar_is_rejected(value: Any, tp: Any, received: str) -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode(value, tp)
    err = info.value
    assert err.expected == TypeEngine.describe(tp)
    assert err.received == received
    assert err.path == ""
    assert str(err).startswith(f"expected {TypeEngine.describe(tp)}, got {received} (")


def test_error_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        TypeEngine.encode("x", int)


# --- containers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tp"),
    [
        ([1, 2, 3], list[int]),
        ([], list[int]),
        (["a", "b"], list[str]),
        ([[1], [2, 3]], list[list[int]]),
        ([1, "a", None, 2.5], list),
        ({"a": 1}, dict[str, int]),
        ({1: "a", 2: "b"}, dict[int, str]),
        ({1.5: "a"}, dict[float, str]),
        ({b"k": 1}, dict[bytes, int]),
        ({"a": [1, 2]}, dict[str, list[int]]),
        ({"a": {"b": 1}}, dict[str, dict[str, int]]),
        ({"a": 1, 2: [3]}, dict),
        ((1, "a"), tuple[int, str]),
        ((1, 2, 3), tuple[int, ...]),
        ((), tuple[int, ...]),
        ((1, "x"), tuple),
        ({1, 2}, set[int]),
        (frozenset({"a"}), frozenset[str]),
        ({(1, 2): "x"}, dict[tuple[int, int], str]),
        ({frozenset({1}): 1}, dict[frozenset[int], int]),
        ([1, 2], List[int]),
        ({"a": 1}, Dict[str, int]),
        ((1, "a"), Tuple[int, str]),
    ],
)
def test_containers_round_trip_exactly(value: Any, tp: Any) -> None:
    out = roundtrip(value, tp)
    assert out == value
    assert type(out) is type(value)


def test_tuple_elements_and_nested_types_are_rebuilt() -> None:
    out = roundtrip([(1, "a"), (2, "b")], list[tuple[int, str]])
    assert out == [(1, "a"), (2, "b")]
    assert all(type(t) is tuple for t in out)
    keys = roundtrip({(1, 2): "x"}, dict[tuple[int, int], str])
    assert all(type(k) is tuple for k in keys)


def test_list_accepts_tuple_and_returns_list() -> None:
    assert roundtrip((1, 2), list[int]) == [1, 2]


def test_mapping_and_sequence_abcs() -> None:
    assert roundtrip(OrderedDict(a=1), dict[str, int]) == {"a": 1}
    assert roundtrip([1, 2], Sequence[int]) == [1, 2]


def test_decoded_value_does_not_alias_input() -> None:
    value = {"a": [1, 2]}
    out = roundtrip(value, dict[str, list[int]])
    assert out == value and out is not value and out["a"] is not value["a"]


@pytest.mark.parametrize(
    ("value", "tp", "path", "received"),
    [
        ([1, 2, 3, "abc"], list[int], "[3]", "str"),
        ([1, True], list[int], "[1]", "bool"),
        ([[1], [2, "x"]], list[list[int]], "[1][1]", "str"),
        ({"a": "x"}, dict[str, int], "['a']", "str"),
        ({1: 1}, dict[str, int], "<key 1>", "int"),
        ({"a": [1, "x"]}, dict[str, list[int]], "['a'][1]", "str"),
        ((1, 2), tuple[int, str], "[1]", "int"),
        ((1, "a", 2), tuple[int, ...], "[1]", "str"),
        ({1, "a"}, set[int], None, "str"),
    ],
)
def test_bad_element_reports_its_path(value: Any, tp: Any, path: str | None, received: str) -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode(value, tp)
    err = info.value
    assert err.expected == TypeEngine.describe(tp)
    assert err.received == received
    if path is not None:
        assert err.path == path
        assert f" at {path} " in str(err)


def test_error_message_matches_documented_form() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode([1, 2, 3, "abc"], list[int])
    assert str(info.value) == "expected list[int], got str at [3] ('abc')"
    assert info.value.leaf_expected == "int"


def test_long_values_are_truncated_in_messages() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode("x" * 500, int)
    assert len(info.value.value_repr) <= 60
    assert len(str(info.value)) < 120


def test_wrong_container_kind() -> None:
    with pytest.raises(TypeTransformerFailedError, match="expected list\\[int\\], got dict"):
        TypeEngine.encode({"a": 1}, list[int])
    with pytest.raises(TypeTransformerFailedError, match="expected tuple\\[int, str\\], got tuple"):
        TypeEngine.encode((1,), tuple[int, str])
    with pytest.raises(TypeTransformerFailedError, match="expected set\\[int\\], got list"):
        TypeEngine.encode([1], set[int])


def test_bulk_float_list_coerces_ints_but_not_bools() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode([1.0, 2, False], list[float])
    assert info.value.path == "[2]"


# --- Optional / Union -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tp"),
    [
        (None, Optional[int]),
        (3, Optional[int]),
        (None, int | None),
        ("1", Union[int, str]),
        (1, Union[int, str]),
        (1, Union[str, int]),
        (1, Union[float, int]),
        (1.0, Union[int, float]),
        (True, Union[int, bool]),
        (1, Union[bool, int]),
        ([1], Union[list[int], list[str]]),
        (["a"], Union[list[int], list[str]]),
        ((1, 2), Union[tuple[int, int], str]),
        (None, Optional[Union[int, str]]),
        ("x", int | str | None),
        ({"a": None, "b": 2}, dict[str, Optional[int]]),
        ([1, "a", None], list[Union[int, str, None]]),
    ],
)
def test_union_decodes_to_the_member_encoded(value: Any, tp: Any) -> None:
    out = roundtrip(value, tp)
    assert out == value
    assert type(out) is type(value)


def test_union_with_no_matching_member() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode(1.5, Union[int, str])
    assert str(info.value) == "expected Union[int, str], got float (1.5)"


def test_optional_rejects_wrong_type_naming_the_optional() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode("x", Optional[int])
    assert info.value.expected == "Optional[int]"
    assert info.value.received == "str"


def test_union_member_of_the_value_class_gives_the_precise_error() -> None:
    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode([1, "x"], Union[list[int], int])
    assert info.value.path == "[1]"


def test_union_keys_of_a_dict() -> None:
    value = {1: "a", "b": "c"}
    out = roundtrip(value, dict[Union[int, str], str])
    assert out == value


# --- Literal / Any ----------------------------------------------------------------------------------------


def test_literal() -> None:
    tp = Literal["a", "b", 3]
    assert roundtrip("a", tp) == "a"
    assert roundtrip(3, tp) == 3
    with pytest.raises(TypeTransformerFailedError, match="expected Literal\\['a', 'b'\\], got str"):
        TypeEngine.encode("c", Literal["a", "b"])
    with pytest.raises(TypeTransformerFailedError):
        TypeEngine.encode(True, Literal[1])
    with pytest.raises(TypeTransformerFailedError, match="one of 'low', 'high'"):
        TypeEngine.encode("medium", Literal["low", "high"])  # one type: membership is checked


def test_a_mixed_literal_takes_any_value_of_its_member_types_as_the_reference_does() -> None:
    import enum

    class Shade(enum.Enum):
        RED = "red"
        GREEN = "green"

    mixed = Literal[Shade.RED, "medium", 3]
    assert roundtrip(Shade.GREEN, mixed) == Shade.GREEN
    assert roundtrip(7, mixed) == 7
    with pytest.raises(TypeTransformerFailedError):
        TypeEngine.encode(2.5, mixed)  # float is none of its member types


def test_any_passes_native_values_through() -> None:
    value = {"a": [1, 2.5, None, True, "s", b"b"], "n": {"x": {}}}
    assert roundtrip(value, Any) == value


def test_any_keeps_tuples_sets_and_big_ints() -> None:
    value = [(1, (2, 3)), {4, 5}, frozenset({6}), 2**70, {(1, 2): "t"}]
    out = roundtrip(value, Any)
    assert out == value
    assert type(out[0]) is tuple and type(out[0][1]) is tuple
    assert type(out[1]) is set and type(out[2]) is frozenset


def test_missing_annotation_and_object_mean_any() -> None:
    import inspect

    assert roundtrip((1, "a"), inspect.Parameter.empty) == (1, "a")
    assert roundtrip((1, "a"), object) == (1, "a")
    assert TypeEngine.describe(inspect.Parameter.empty) == "Any"


def test_list_of_any_and_dict_of_any() -> None:
    value = [1, (2,), {"a": (3,)}]
    assert roundtrip(value, list[Any]) == value
    assert roundtrip({"k": (1,)}, dict[str, Any]) == {"k": (1,)}


def test_bare_tuple_from_list_of_any_is_a_list() -> None:
    assert roundtrip([1, 2], list) == [1, 2]


# --- describe -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "name"),
    [
        (int, "int"),
        (None, "None"),
        (Any, "Any"),
        (list[int], "list[int]"),
        (List[int], "list[int]"),
        (dict[str, list[int]], "dict[str, list[int]]"),
        (Optional[str], "Optional[str]"),
        (str | None, "Optional[str]"),
        (Union[int, str], "Union[int, str]"),
        (Union[int, str, None], "Optional[Union[int, str]]"),
        (tuple[int, ...], "tuple[int, ...]"),
        (tuple[int, str], "tuple[int, str]"),
        (Literal["a"], "Literal['a']"),
        (list, "list"),
    ],
)
def test_describe(tp: Any, name: str) -> None:
    assert TypeEngine.describe(tp) == name


def test_corrupt_data_is_reported() -> None:
    with pytest.raises(TypeTransformerFailedError, match="not valid encoded flyte data"):
        TypeEngine.decode(b"\xc1", int)


def test_error_survives_pickling() -> None:
    import pickle

    with pytest.raises(TypeTransformerFailedError) as info:
        TypeEngine.encode([1, "x"], list[int])
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value)
    assert (copy.expected, copy.received, copy.path) == ("list[int]", "str", "[1]")
