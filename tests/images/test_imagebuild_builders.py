"""The build commands each builder gets, and how build-time secrets reach them."""

from __future__ import annotations

from pathlib import Path

import pytest

import flyte
from flyte._internal.imagebuild.builders import Builder, detect_builder, secret_flags
from flyte._internal.imagebuild.dockerfile import render_context
from flyte._internal.secrets import SecretStore
from flyte.errors import ImageBuildError


def _ctx(tmp_path: Path, **pip):
    image = flyte.Image.from_debian_base(python_version=(3, 12), registry="localhost:5000", name="cmds")
    return render_context(image.with_pip_packages("rich", **pip), tmp_path / "ctx")


def test_docker_buildx_pushes_every_platform(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    [command] = Builder("docker").commands(ctx, push=True, secret_flags=[])
    assert command[:3] == ["docker", "buildx", "build"]
    assert command[command.index("--platform") + 1] == "linux/amd64,linux/arm64"
    assert command[command.index("-t") + 1] == ctx.image.uri
    assert command[command.index("-f") + 1] == str(tmp_path / "ctx" / "Dockerfile")
    assert command[-2:] == ["--push", str(tmp_path / "ctx")]


def test_without_push_docker_loads_one_platform(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    [command] = Builder("docker").commands(ctx, push=False, secret_flags=[])
    assert "--load" in command and "--push" not in command
    assert command[command.index("--platform") + 1] == "linux/amd64"


@pytest.mark.parametrize("tool", ["podman", "buildah"])
def test_podman_and_buildah_build_a_manifest_and_push_it(tmp_path: Path, tool: str) -> None:
    ctx = _ctx(tmp_path)
    build, push = Builder(tool).commands(ctx, push=True, secret_flags=["--secret", "id=x,env=X"])
    assert build[:2] == [tool, "build"]
    assert build[build.index("--manifest") + 1] == ctx.image.uri
    assert build[build.index("--secret") : build.index("--secret") + 2] == ["--secret", "id=x,env=X"]
    target = ctx.image.uri if tool == "podman" else f"docker://{ctx.image.uri}"
    assert push == [tool, "manifest", "push", "--all", ctx.image.uri, target]


def test_an_unknown_builder_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYTE_IMAGE_BUILDER", "kaniko")
    with pytest.raises(ImageBuildError, match="docker, podman, buildah"):
        detect_builder()


def test_without_tools_every_builder_is_reported_missing(no_builder: None) -> None:
    builder, reasons = detect_builder()
    assert builder is None
    assert reasons == {"docker": "not installed", "podman": "not installed", "buildah": "not installed"}


def test_build_secrets_come_from_the_environment_or_the_secret_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _ctx(tmp_path, secret_mounts=["PIP_TOKEN", "NETRC"])
    monkeypatch.setenv("PIP_TOKEN", "from-env")
    monkeypatch.delenv("NETRC", raising=False)
    SecretStore().put("NETRC", "machine x password y")

    with secret_flags(ctx) as flags:
        assert flags[:2] == ["--secret", "id=flyte-PIP_TOKEN,env=PIP_TOKEN"]
        assert flags[2] == "--secret"
        src = Path(flags[3].split("src=", 1)[1])
        assert src.read_text() == "machine x password y"
        assert src.stat().st_mode & 0o077 == 0
    assert not src.exists()  # the temporary copy is gone after the build


def test_a_missing_build_secret_names_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _ctx(tmp_path, secret_mounts=["MISSING_TOKEN"])
    monkeypatch.delenv("MISSING_TOKEN", raising=False)
    with pytest.raises(ImageBuildError, match="MISSING_TOKEN.*secret store"), secret_flags(ctx):
        pass
