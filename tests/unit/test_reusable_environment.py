"""flyte.ReusePolicy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flyte._reusable_environment import ReusePolicy


def test_defaults_are_normalized():
    p = ReusePolicy()
    assert p.replicas == (2, 2) and p.min_replicas == 2 and p.max_replicas == 2
    assert p.idle_ttl == timedelta(seconds=30) and p.scaledown_ttl == timedelta(seconds=30)
    assert p.concurrency == 1 and p.scope == "global"
    assert p.get_scaledown_ttl() == timedelta(seconds=30)


def test_forms():
    p = ReusePolicy(
        replicas=(1, 4), idle_ttl=timedelta(minutes=5), concurrency=3, scaledown_ttl=60, scope="run"
    )
    assert p.replicas == (1, 4) and p.capacity == 12
    assert p.idle_ttl == timedelta(minutes=5) and p.scaledown_ttl == timedelta(seconds=60)
    assert ReusePolicy(replicas=3).replicas == (3, 3)


@pytest.mark.parametrize("field", ["idle_ttl", "scaledown_ttl"])
def test_ttl_minimum(field):
    with pytest.raises(ValueError, match="at least 30 seconds"):
        ReusePolicy(**{field: 29})
    with pytest.raises(ValueError, match="at least 30 seconds"):
        ReusePolicy(**{field: timedelta(seconds=5)})
    with pytest.raises(TypeError, match=field):
        ReusePolicy(**{field: None})


def test_invalid_replicas_and_concurrency():
    with pytest.raises(ValueError, match="more than maximum"):
        ReusePolicy(replicas=(3, 1))
    with pytest.raises(TypeError, match="replicas"):
        ReusePolicy(replicas=(1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="replicas"):
        ReusePolicy(replicas=0)
    with pytest.raises(ValueError, match="concurrency"):
        ReusePolicy(concurrency=0)
    with pytest.raises(ValueError, match="scope"):
        ReusePolicy(scope="everywhere")  # type: ignore[arg-type]


def test_single_replica_warns(caplog):
    with caplog.at_level("WARNING", logger="flyte"):
        ReusePolicy(replicas=1)
    assert "starve" in caplog.text


def test_hashable():
    assert hash(ReusePolicy(replicas=2)) == hash(ReusePolicy(replicas=(2, 2)))
