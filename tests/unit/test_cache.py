"""flyte.Cache, cache_from_request and the function-body version."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from flyte._cache import (
    Cache,
    CachePolicy,
    FunctionBodyPolicy,
    VersionParameters,
    cache_from_request,
    function_body_version,
)


def _compile(src: str, name: str = "f"):
    ns: dict = {}
    exec(compile(textwrap.dedent(src), "<test>", "exec"), ns)
    return ns[name]


def sample(x: int) -> int:
    return x + 1


def test_defaults():
    c = Cache("auto")
    assert c.behavior == "auto" and c.version_override is None and c.serialize is False
    assert c.get_ignored_inputs() == () and c.salt == ""
    assert c.policies == [FunctionBodyPolicy()]
    assert c.is_enabled()


@pytest.mark.parametrize(
    ("given", "behavior"),
    [
        ("auto", "auto"),
        ("override", "override"),
        ("disable", "disable"),
        ("enabled", "auto"),
        ("enable", "auto"),
        ("ON", "auto"),
        ("off", "disable"),
        ("no", "disable"),
        (True, "auto"),
        (False, "disable"),
        (None, "disable"),
    ],
)
def test_cache_from_request_forms(given, behavior):
    assert cache_from_request(given).behavior == behavior


def test_cache_from_request_passes_cache_through():
    c = Cache("override", version_override="v1")
    assert cache_from_request(c) is c


def test_invalid_behavior_lists_choices():
    with pytest.raises(ValueError) as e:
        cache_from_request("sometimes")
    assert "'auto'" in str(e.value) and "'override'" in str(e.value) and "'disable'" in str(e.value)
    with pytest.raises(ValueError):
        Cache("sometimes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cache"):
        cache_from_request(3)  # type: ignore[arg-type]


def test_ignored_inputs_forms():
    assert Cache("auto", ignored_inputs="ts").get_ignored_inputs() == ("ts",)
    assert Cache("auto", ignored_inputs=("a", "b")).get_ignored_inputs() == ("a", "b")
    assert Cache("auto", ignored_inputs=["a"]).get_ignored_inputs() == ("a",)  # type: ignore[arg-type]
    assert Cache("disable", ignored_inputs="ts").get_ignored_inputs() == ("ts",)
    with pytest.raises(TypeError, match="ignored_inputs"):
        Cache("auto", ignored_inputs=5)  # type: ignore[arg-type]


def test_disabled_version_is_empty():
    assert Cache("disable").get_version() == ""
    assert not Cache("disable").is_enabled()


def test_override_version():
    assert Cache("override", version_override="v7").get_version() == "v7"
    assert Cache("auto", version_override="v7").get_version() == "v7"


def test_auto_version_from_function_body():
    c = Cache("auto")
    v1 = c.get_version(VersionParameters(func=sample))
    assert v1 == Cache("auto").get_version(VersionParameters(func=sample))
    assert Cache("auto", salt="s2").get_version(VersionParameters(func=sample)) != v1
    with pytest.raises(ValueError, match="VersionParameters"):
        c.get_version()


def test_custom_policy():
    class Fixed:
        def get_version(self, salt: str, params: VersionParameters) -> str:
            return "fixed" + salt

    assert isinstance(Fixed(), CachePolicy)
    a = Cache("auto", policies=Fixed()).get_version(VersionParameters(func=None))
    b = Cache("auto", policies=[Fixed()]).get_version(VersionParameters(func=None))
    assert a == b and len(a) == 64


def test_failing_policy_is_reported():
    class Broken:
        def get_version(self, salt, params):
            raise RuntimeError("boom")

    with pytest.raises(ValueError, match="boom"):
        Cache("auto", policies=Broken()).get_version(VersionParameters(func=sample))


def test_bad_policies():
    with pytest.raises(TypeError, match="get_version"):
        Cache("auto", policies=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one policy"):
        Cache("auto", policies=[])


def test_function_body_version_is_stable_and_change_sensitive():
    f1 = _compile("def f(x):\n    return x + 1\n")
    f1_again = _compile("def f(x):\n    # a comment\n    return x + 1\n")
    f2 = _compile("def f(x):\n    return x + 2\n")
    assert function_body_version(sample) == function_body_version(sample)
    assert len(function_body_version(sample)) == 64
    # exec'd code has no readable source: the code object is hashed, still deterministic
    assert function_body_version(f1) == function_body_version(_compile("def f(x):\n    return x + 1\n"))
    assert function_body_version(f1) != function_body_version(f2)
    assert function_body_version(f1_again) == function_body_version(f1)


def test_function_body_version_from_source(tmp_path, monkeypatch):
    mod = tmp_path / "cache_mod_one.py"
    mod.write_text("def g(x):\n    return x * 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    m = importlib.import_module("cache_mod_one")
    first = function_body_version(m.g)
    mod.write_text("def g(x):\n    # comments do not count\n\n    return x * 2\n")
    import linecache

    linecache.clearcache()
    assert function_body_version(importlib.reload(m).g) == first
    mod.write_text("def g(x):\n    return x * 3\n")
    linecache.clearcache()
    assert function_body_version(importlib.reload(m).g) != first


def test_frozen_and_equal():
    c = Cache("auto", salt="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.salt = "y"  # type: ignore[misc]
    assert c == Cache("auto", salt="x")
    assert hash(c) == hash(Cache("auto", salt="x"))
