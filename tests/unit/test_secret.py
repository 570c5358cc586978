"""flyte.Secret and secrets_from_request."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from flyte._secret import Secret, secrets_from_request


@pytest.mark.parametrize(
    ("kwargs", "env"),
    [
        ({"key": "my-secret"}, "MY_SECRET"),
        ({"key": "api_key"}, "API_KEY"),
        ({"key": "k", "group": "grp"}, "GRP_K"),
        ({"key": "openai.key"}, "OPENAI_KEY"),
        ({"key": "k", "as_env_var": "OPENAI_API_KEY"}, "OPENAI_API_KEY"),
    ],
)
def test_env_var_names(kwargs, env):
    assert Secret(**kwargs).as_env_var == env


def test_mount_means_no_default_env_var():
    s = Secret("k", mount="/etc/flyte/secrets")
    assert s.mount == Path("/etc/flyte/secrets") and s.as_env_var is None


def test_invalid_env_var():
    with pytest.raises(ValueError) as e:
        Secret("k", as_env_var="1-BAD")
    assert "as_env_var" in str(e.value) and "[A-Z_][A-Z0-9_]*" in str(e.value)


def test_relative_mount_rejected():
    with pytest.raises(ValueError, match="absolute"):
        Secret("k", mount="secrets/here")


def test_empty_key_rejected():
    with pytest.raises(ValueError, match="key"):
        Secret("")


def test_secrets_from_request_forms():
    assert secrets_from_request(None) == ()
    assert secrets_from_request("a") == (Secret("a"),)
    s = Secret("b", as_env_var="B2")
    assert secrets_from_request(s) == (s,)
    assert secrets_from_request(["a", s]) == (Secret("a"), s)
    assert secrets_from_request(("a", "a")) == (Secret("a"),)


def test_secrets_from_request_errors():
    with pytest.raises(TypeError, match="secrets"):
        secrets_from_request(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="secrets"):
        secrets_from_request(["a", 5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="A_B"):
        secrets_from_request(["a-b", "a_b"])


def test_stable_hash_and_frozen():
    s = Secret("k", group="g")
    assert s.stable_hash() == Secret("k", group="g").stable_hash()
    assert hash(s) == hash(Secret("k", group="g"))
    assert s.stable_hash() != Secret("k").stable_hash()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.key = "other"  # type: ignore[misc]


def test_as_env_var_must_be_upper_case_as_in_the_reference():
    with pytest.raises(ValueError) as e:
        Secret("openai", as_env_var="openai_key")
    message = str(e.value)
    assert "'openai'" in message and "as_env_var" in message and "did you mean 'OPENAI_KEY'?" in message
    assert Secret("openai", as_env_var="OPENAI_KEY").as_env_var == "OPENAI_KEY"
