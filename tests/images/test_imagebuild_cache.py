"""The image cache against a real registry: a present tag is not rebuilt, a missing one is built or reported."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from _registry import TokenIssuer, push_minimal_image, registry_server

import flyte
from flyte._build import build, build_images
from flyte._internal.imagebuild import dockerfile
from flyte._internal.imagebuild.registry import manifest_exists, parse_image_ref
from flyte.errors import ImageBuildError

pytestmark = pytest.mark.integration


def _image(registry: str, *packages: str) -> flyte.Image:
    return flyte.Image.from_debian_base(
        python_version=(3, 12), registry=registry, name="cache-test"
    ).with_pip_packages(*packages)


def test_a_tag_present_in_the_registry_is_not_rebuilt(registry: str, no_builder: None) -> None:
    image = _image(registry, "numpy>=2")
    push_minimal_image(registry, image.uri)

    result = build(image)

    assert result.status == "exists"
    assert result.uri == image.uri
    # Nothing was prepared for a build: the context folder was never written.
    assert not dockerfile.default_context_dir(image).exists()


def test_a_missing_tag_without_a_builder_is_reported_with_the_dockerfile_written(
    registry: str, no_builder: None
) -> None:
    image = _image(registry, "pandas")

    with pytest.raises(ImageBuildError) as info:
        build(image)

    message = str(info.value)
    assert image.uri in message
    for option in ("docker", "podman", "buildah"):
        assert option in message
    context = dockerfile.default_context_dir(image)
    assert str(context) in message
    assert "\n" not in message
    text = (context / "Dockerfile").read_text()
    assert "FROM python:3.12-slim-bookworm" in text
    assert "uv pip install --python /opt/venv/bin/python pandas" in text


def test_changing_the_definition_changes_the_tag_so_the_cache_misses(registry: str, no_builder: None) -> None:
    first = _image(registry, "requests")
    push_minimal_image(registry, first.uri)
    assert build(first).status == "exists"

    changed = first.with_env_vars({"MODE": "prod"})
    assert changed.uri != first.uri
    with pytest.raises(ImageBuildError, match="no image builder"):
        build(changed)


def test_force_builds_even_a_present_tag(registry: str, no_builder: None) -> None:
    image = _image(registry, "httpx")
    push_minimal_image(registry, image.uri)
    with pytest.raises(ImageBuildError, match="no image builder"):
        build(image, force=True)


def test_dry_run_writes_the_context_and_builds_nothing(registry: str, no_builder: None) -> None:
    image = _image(registry, "pyyaml")
    result = build(image, dry_run=True)
    assert result.status == "dry_run"
    assert result.context_dir is not None
    assert (result.context_dir / "Dockerfile").read_text() == result.dockerfile
    assert "pyyaml" in (result.dockerfile or "")


def test_registry_lookup_answers_present_missing_and_unreachable(registry: str) -> None:
    uri = f"{registry}/lookup/app:present"
    push_minimal_image(registry, uri)

    assert asyncio.run(manifest_exists(uri)).exists is True
    missing = asyncio.run(manifest_exists(f"{registry}/lookup/app:absent"))
    assert missing.exists is False
    assert "lookup/app:absent" in missing.reason

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    unreachable = asyncio.run(manifest_exists(f"{dead}/x:1"))
    assert unreachable.exists is None
    assert "could not be reached" in unreachable.reason


def test_a_registry_with_basic_auth_is_asked_with_the_configured_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bcrypt = pytest.importorskip("bcrypt")
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_bytes(b"flyte:" + bcrypt.hashpw(b"s3cret-pw", bcrypt.gensalt(rounds=4)) + b"\n")
    server = registry_server(tmp_path / "auth-registry", htpasswd)
    (tmp_path / "auth-registry").mkdir()
    address = next(server)
    try:
        uri = f"{address}/private/app:v1"
        push_minimal_image(address, uri, auth=("flyte", "s3cret-pw"))

        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
        monkeypatch.delenv("FLYTE_REGISTRY_USERNAME", raising=False)
        anonymous = asyncio.run(manifest_exists(uri))
        assert anonymous.exists is None
        assert "credentials" in anonymous.reason

        monkeypatch.setenv("FLYTE_REGISTRY_USERNAME", "flyte")
        monkeypatch.setenv("FLYTE_REGISTRY_PASSWORD", "s3cret-pw")
        found = asyncio.run(manifest_exists(uri))
        assert found.exists is True
        assert "s3cret-pw" not in found.reason
    finally:
        server.close()


def test_a_registry_with_token_auth_is_asked_with_a_bearer_token(tmp_path: Path, no_builder: None) -> None:
    pytest.importorskip("cryptography")
    issuer = TokenIssuer(tmp_path)
    root = tmp_path / "token-registry"
    root.mkdir()
    server = registry_server(root, auth_block=issuer.registry_auth())
    try:
        address = next(server)
        image = _image(address, "rich")
        repository = image.uri.split("/", 1)[1].rsplit(":", 1)[0]
        push_minimal_image(address, image.uri, token=issuer.token_for(f"repository:{repository}:pull,push"))

        assert build(image).status == "exists"
        # The token was asked for the repository it checks, with the registry's service name.
        assert issuer.requests[-1] == {"service": issuer.service, "scope": f"repository:{repository}:pull"}

        with pytest.raises(ImageBuildError, match="no image builder"):
            build(image.with_pip_packages("click"))
    finally:
        server.close()
        issuer.close()


def test_credentials_are_read_from_the_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from flyte._internal.imagebuild.registry import _credentials

    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(b"me:pw").decode()
    (config / "config.json").write_text(json.dumps({"auths": {"registry.example.com": {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.delenv("FLYTE_REGISTRY_USERNAME", raising=False)
    assert _credentials("registry.example.com") == ("me", "pw")
    assert _credentials("other.example.com") is None


def test_build_images_covers_dependencies_and_builds_a_shared_image_once(
    registry: str, no_builder: None
) -> None:
    image = _image(registry, "rich")
    push_minimal_image(registry, image.uri)
    base = flyte.TaskEnvironment(name="base_env", image=image)
    plain = flyte.TaskEnvironment(name="plain_env", image="python:3.12-slim")
    top = flyte.TaskEnvironment(name="top_env", image=image, depends_on=[base, plain])

    cache = build_images(top)

    assert cache.image_lookup == {
        "top_env": image.uri,
        "base_env": image.uri,
        "plain_env": "python:3.12-slim",
    }
    assert [("Name", "top_env"), ("image", image.uri)] in cache.repr()


def test_parse_image_ref_follows_the_docker_rules() -> None:
    assert parse_image_ref("localhost:5000/a/b:t").manifest_url == "http://localhost:5000/v2/a/b/manifests/t"
    ref = parse_image_ref("python:3.12")
    assert (ref.registry, ref.repository, ref.reference) == ("registry-1.docker.io", "library/python", "3.12")
    ref = parse_image_ref("ghcr.io/org/img")
    assert (ref.registry, ref.repository, ref.reference, ref.scheme) == (
        "ghcr.io",
        "org/img",
        "latest",
        "https",
    )
    assert parse_image_ref("ghcr.io/org/img@sha256:ab").reference == "sha256:ab"


# -- the CLI -----------------------------------------------------------------------------------------


def _workflow(tmp_path: Path, registry: str, package: str) -> Path:
    path = tmp_path / "wf.py"
    path.write_text(
        "import flyte\n"
        f"image = flyte.Image.from_debian_base(python_version=(3, 12), registry={registry!r}, name='cli-test')"
        f".with_pip_packages({package!r})\n"
        "env = flyte.TaskEnvironment(name='cli_env', image=image)\n"
        "@env.task\n"
        "def hello(x: int) -> int:\n"
        "    return x\n"
    )
    return path


def _flyte(*args: str, cwd: Path, env_path: str) -> subprocess.CompletedProcess[str]:

    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src, "PATH": env_path}
    return subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_build_skips_a_present_image_and_reports_a_missing_one(tmp_path: Path, registry: str) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    present = _workflow(tmp_path, registry, "click")
    uri = _uri_of(present)
    push_minimal_image(registry, uri)

    done = _flyte("build", str(present), "env", cwd=tmp_path, env_path=str(empty))
    assert done.returncode == 0, done.stderr
    assert uri in done.stdout
    assert "in registry (not rebuilt)" in done.stdout

    missing = _workflow(tmp_path, registry, "tqdm")
    failed = _flyte("build", str(missing), "env", cwd=tmp_path, env_path=str(empty))
    assert failed.returncode == 1
    error_lines = [line for line in failed.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert "no image builder" in error_lines[0] and "podman" in error_lines[0]


def test_cli_dry_run_prints_the_dockerfile(tmp_path: Path, registry: str) -> None:
    path = _workflow(tmp_path, registry, "numpy>=2")
    done = _flyte("build", "--dry-run", str(path), "cli_env", cwd=tmp_path, env_path="/usr/bin:/bin")
    assert done.returncode == 0, done.stderr
    assert "FROM python:3.12-slim-bookworm" in done.stdout
    assert "'numpy>=2'" in done.stdout
    assert "dry run (context written)" in done.stdout


def test_cli_names_the_environments_when_env_is_unknown(tmp_path: Path, registry: str) -> None:
    path = _workflow(tmp_path, registry, "click")
    done = _flyte("build", str(path), "nope", cwd=tmp_path, env_path="/usr/bin:/bin")
    assert done.returncode == 1
    assert "no environment named 'nope'" in done.stderr and "env" in done.stderr


def _uri_of(path: Path) -> str:
    from flyte._internal.loader import load_module

    return load_module(str(path)).image.uri


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client on this machine")
def test_a_docker_client_without_an_engine_is_not_a_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    from flyte._internal.imagebuild.builders import detect_builder

    if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        pytest.skip("this docker client has a running engine")
    monkeypatch.setenv("FLYTE_IMAGE_BUILDER", "docker")
    builder, reasons = detect_builder()
    assert builder is None
    assert reasons["docker"] == "the docker client is installed but its engine does not answer"


def test_an_image_without_a_registry_is_not_looked_up(no_builder: None) -> None:
    flyte.init(images={"base": "python:3.12-slim"})
    image = flyte.Image.from_ref_name("base").with_pip_packages("rich")
    assert image.registry is None
    with pytest.raises(ImageBuildError) as info:
        build(image)
    message = str(info.value)
    assert "no image builder" in message
    assert "could not be reached" not in message  # no registry was asked
    from flyte._internal.imagebuild.engine import resolve_image

    text = (dockerfile.default_context_dir(resolve_image(image)) / "Dockerfile").read_text()
    assert "FROM python:3.12-slim\n" in text
