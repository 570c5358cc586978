from __future__ import annotations

from pathlib import Path

import pytest

import flyte
import flyte.errors
from flyte._initialize import get_init_config

env = flyte.TaskEnvironment(name="init")


@env.task
async def one() -> int:
    return 1


def test_runs_work_without_init():
    assert flyte.run(one).outputs() == (1,)


def test_init_without_endpoint_is_local(tmp_path: Path):
    flyte.init(project="p", domain="development", root_dir=tmp_path)
    config = get_init_config()
    assert not config.is_remote
    assert config.project == "p"
    assert config.root_dir == tmp_path.resolve()
    assert flyte.current_domain() == "development"
    assert flyte.run(one).outputs() == (1,)


def test_init_from_config_without_a_file_selects_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    flyte.init_from_config()
    assert not get_init_config().is_remote
    assert flyte.run(one).outputs() == (1,)


def test_init_from_config_reads_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = tmp_path / ".flyte" / "config.yaml"
    cfg.parent.mkdir()
    cfg.write_text("admin:\n  endpoint: http://127.0.0.1:8080\ntask:\n  project: proj\n  domain: dev\n")
    monkeypatch.chdir(tmp_path)
    flyte.init_from_config()
    config = get_init_config()
    assert config.endpoint == "http://127.0.0.1:8080"
    assert config.project == "proj"
    assert config.source_config_path == cfg


def test_init_from_config_with_a_missing_explicit_file_fails(tmp_path: Path):
    with pytest.raises(flyte.errors.InitializationError, match="does not exist"):
        flyte.init_from_config(tmp_path / "nope.yaml")


def test_init_from_config_with_bad_yaml_fails(tmp_path: Path):
    bad = tmp_path / "c.yaml"
    bad.write_text("admin: [unclosed\n")
    with pytest.raises(flyte.errors.InitializationError, match="not valid YAML"):
        flyte.init_from_config(bad)


def test_init_from_api_key_takes_the_endpoint_of_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / ".flyte" / "config.yaml"
    cfg.parent.mkdir()
    cfg.write_text("admin:\n  endpoint: http://127.0.0.1:8181\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLYTE_ADMIN_ENDPOINT", raising=False)
    flyte.init_from_api_key("key-1", project="ml", domain="dev")
    config = get_init_config()
    assert (config.endpoint, config.api_key, config.project, config.domain) == (
        "http://127.0.0.1:8181",
        "key-1",
        "ml",
        "dev",
    )


def test_init_from_api_key_reads_the_environment_and_has_an_aio_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLYTE_API_KEY", "key-2")
    monkeypatch.setenv("FLYTE_ADMIN_ENDPOINT", "http://127.0.0.1:8282")
    asyncio.run(flyte.init_from_api_key.aio())
    config = get_init_config()
    assert (config.endpoint, config.api_key) == ("http://127.0.0.1:8282", "key-2")


def test_init_from_api_key_without_a_key_or_a_server_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("FLYTE_ADMIN_ENDPOINT", raising=False)
    with pytest.raises(flyte.errors.InitializationError, match="no API key.*FLYTE_API_KEY"):
        flyte.init_from_api_key()
    with pytest.raises(flyte.errors.InitializationError, match="FLYTE_ADMIN_ENDPOINT or admin.endpoint"):
        flyte.init_from_api_key("key-3")
