"""flyte.PodTemplate (no kubernetes package needed)."""

from __future__ import annotations

import types

import pytest

from flyte._pod import PodTemplate


def test_defaults():
    p = PodTemplate()
    assert p.primary_container_name == "primary" and p.pod_spec is None
    assert p.pod_spec_dict() == {}


def test_dict_spec():
    spec = {"containers": [{"name": "primary", "env": [{"name": "A", "value": "1"}]}]}
    p = PodTemplate(pod_spec=spec, labels={"team": "ml"}, annotations={"a": "b"})
    assert p.pod_spec_dict() == spec
    assert p.pod_spec_dict() is not spec


def test_object_spec_duck_typed():
    container = types.SimpleNamespace(name="main")
    spec = types.SimpleNamespace(containers=[container], to_dict=lambda: {"containers": [{"name": "main"}]})
    p = PodTemplate.from_spec(spec)
    assert p.primary_container_name == "main"
    assert p.pod_spec_dict() == {"containers": [{"name": "main"}]}


def test_from_spec_resolution():
    two = {"containers": [{"name": "a"}, {"name": "b"}]}
    with pytest.raises(ValueError, match="primary_container_name"):
        PodTemplate.from_spec(two)
    assert PodTemplate.from_spec(two, primary_container_name="b").primary_container_name == "b"
    with pytest.raises(ValueError, match="'c'"):
        PodTemplate.from_spec(two, primary_container_name="c")
    with_primary = {"containers": [{"name": "side"}, {"name": "primary"}]}
    assert PodTemplate.from_spec(with_primary).primary_container_name == "primary"


def test_validation():
    with pytest.raises(ValueError, match="primary_container_name"):
        PodTemplate(primary_container_name="")
    with pytest.raises(TypeError, match="labels"):
        PodTemplate(labels={"a": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="pod_spec"):
        PodTemplate(pod_spec="spec")


def test_hashable_and_frozen():
    p = PodTemplate(pod_spec={"containers": []})
    assert hash(p) == hash(PodTemplate(pod_spec={"containers": []}))
    with pytest.raises(AttributeError):
        p.labels = {}  # type: ignore[misc]
