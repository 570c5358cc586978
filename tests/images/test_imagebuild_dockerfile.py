"""Every flyte.Image layer kind turned into Dockerfile lines and build-context files."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

import flyte
from flyte._build import image_uri_for
from flyte._image import PythonWheels
from flyte._internal.imagebuild.dockerfile import render_context, render_dockerfile
from flyte.errors import ImageBuildError, InvalidImageNameError


def _base() -> flyte.Image:
    return flyte.Image.from_debian_base(python_version=(3, 11), registry="localhost:5000", name="layers")


def test_the_header_creates_a_venv_for_the_python_version() -> None:
    text = render_dockerfile(_base())
    assert "FROM python:3.11-slim-bookworm" in text
    assert "RUN uv venv /opt/venv --python 3.11" in text
    assert 'PATH="/opt/venv/bin:$PATH"' in text
    assert f"ENV _F_IMG_ID={_base().uri}" in text
    # The default base installs build tools and the engine.
    assert "build-essential ca-certificates" in text
    assert "flyte-engine==" in text


def test_a_base_without_flyte_does_not_install_it() -> None:
    image = flyte.Image.from_debian_base(install_flyte=False, name="bare")
    assert "flyte-engine" not in render_dockerfile(image)


def test_apt_and_pip_packages_are_quoted_for_the_shell() -> None:
    image = (
        _base()
        .with_apt_packages("git", "curl")
        .with_pip_packages(
            "numpy>=2",
            "pandas",
            index_url="https://pypi.example/simple",
            extra_index_urls=["https://b/simple"],
            pre=True,
            extra_args="--no-deps",
        )
    )
    text = render_dockerfile(image)
    assert "apt-get install -y --no-install-recommends git curl" in text
    line = next(part for part in text.split("RUN ") if "'numpy>=2'" in part)
    words = shlex.split(line.split("\\\n")[-1].splitlines()[0])
    assert words[words.index("install") + 1 :] == [
        "--python",
        "/opt/venv/bin/python",
        "--index-url",
        "https://pypi.example/simple",
        "--extra-index-url",
        "https://b/simple",
        "--prerelease=allow",
        "--no-deps",
        "numpy>=2",
        "pandas",
    ]


def test_files_are_copied_into_the_context(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("requests\n")
    src = tmp_path / "pkg"
    (src / "sub").mkdir(parents=True)
    (src / "a.py").write_text("A = 1\n")
    (src / "sub" / "b.py").write_text("B = 2\n")
    (src / "skip.log").write_text("noise\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "a.pyc").write_bytes(b"x")
    ignore = tmp_path / ".dockerignore"
    ignore.write_text("# comment\n*.log\n")
    notes = tmp_path / "notes.md"
    notes.write_text("hello\n")
    image = (
        _base()
        .with_requirements(req)
        .with_dockerignore(ignore)
        .with_source_folder(src, "/app")
        .with_source_folder(src, "/flat", copy_contents_only=True)
        .with_source_file(notes, "/etc/notes")
    )

    ctx = render_context(image, tmp_path / "ctx")

    text = (tmp_path / "ctx" / "Dockerfile").read_text()
    assert text == ctx.dockerfile
    copied = sorted(
        p.relative_to(tmp_path / "ctx").as_posix() for p in (tmp_path / "ctx").rglob("*") if p.is_file()
    )
    assert "Dockerfile" in copied
    assert any(p.endswith("requirements/01/requirements.txt") for p in copied)
    assert any(p.endswith("pkg/sub/b.py") for p in copied)
    assert not any(p.endswith(".log") or p.endswith(".pyc") for p in copied)
    assert "-r /tmp/flyte-requirements/requirements.txt" in text
    assert "COPY _flyte/src/02/pkg /app/pkg" in text
    assert "COPY _flyte/src/03/pkg /flat" in text
    assert "COPY _flyte/src/04/notes.md /etc/notes/" in text
    # Every path the Dockerfile names is inside the context.
    for line in text.splitlines():
        for word in line.replace(",", " ").split():
            if word.startswith(("_flyte/", "source=_flyte/")):
                assert (tmp_path / "ctx" / word.removeprefix("source=")).exists(), word


def test_commands_env_and_workdir_keep_their_order(tmp_path: Path) -> None:
    image = (
        _base()
        .with_env_vars({"GREETING": "hello world", "HOME_COPY": "$HOME"})
        .with_workdir("/srv")
        .with_commands(["echo one > /tmp/one", "echo two"])
    )
    lines = render_dockerfile(image).splitlines()
    env = lines.index('ENV GREETING="hello world" HOME_COPY="\\$HOME"')
    workdir = lines.index("WORKDIR /srv")
    one = lines.index("RUN echo one > /tmp/one")
    assert env < workdir < one < lines.index("RUN echo two")
    # The user's working directory is not reset afterwards.
    assert lines[workdir:].count("WORKDIR /root") == 0


def test_build_secrets_are_secret_mounts_not_layers() -> None:
    image = _base().with_pip_packages(
        "private-pkg", secret_mounts=["PIP_TOKEN", flyte.Secret("netrc", mount="/run/s")]
    )
    text = render_dockerfile(image)
    assert "--mount=type=secret,id=flyte-PIP_TOKEN,env=PIP_TOKEN" in text
    assert "--mount=type=secret,id=flyte-netrc,target=/run/s/netrc" in text


def test_uv_project_poetry_and_uv_script(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname='proj'\nversion='0'\n")
    (project / "uv.lock").write_text("version = 1\n")
    (project / "poetry.lock").write_text("# lock\n")
    script = tmp_path / "job.py"
    script.write_text('# /// script\n# dependencies = ["rich>=13", "httpx"]\n# ///\nprint(1)\n')

    deps_only = render_dockerfile(_base().with_uv_project(project / "pyproject.toml"))
    assert "uv sync --frozen --no-dev --no-install-project" in deps_only
    assert "target=/tmp/flyte-uv/uv.lock" in deps_only

    whole = render_dockerfile(
        _base().with_uv_project(project / "pyproject.toml", project_install_mode="install_project")
    )
    assert "COPY _flyte/uv/01/proj /opt/flyte-projects/proj" in whole

    poetry = render_dockerfile(_base().with_poetry_project(project / "pyproject.toml"))
    assert "POETRY_VIRTUALENVS_CREATE=false poetry install --no-interaction --no-root" in poetry

    uv_script = render_dockerfile(flyte.Image.from_uv_script(script, name="job", python_version=(3, 12)))
    assert "'rich>=13' httpx" in uv_script
    assert "flyte-engine" not in uv_script


def test_wheels_and_code_bundle(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "mypkg-1.0-py3-none-any.whl").write_bytes(b"PK")
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text("print('hi')\n")
    image = (
        _base()
        .clone(addl_layer=PythonWheels(wheel_dir=dist, package_name="mypkg"))
        .with_code_bundle(copy_style="all", dst="/app")
    )

    ctx = render_context(image, tmp_path / "ctx", root_dir=code)

    assert "--find-links /tmp/flyte-wheels mypkg" in ctx.dockerfile
    assert "COPY _flyte/code/02/code /app/" in ctx.dockerfile
    assert (tmp_path / "ctx" / "_flyte" / "code" / "02" / "code" / "main.py").exists()
    assert (tmp_path / "ctx" / "_flyte" / "wheels" / "01" / "dist" / "mypkg-1.0-py3-none-any.whl").exists()


def test_the_same_definition_gives_the_same_dockerfile(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("requests\n")
    one = render_dockerfile(_base().with_requirements(req).with_pip_packages("a"))
    two = render_dockerfile(_base().with_requirements(req).with_pip_packages("a"))
    assert one == two


def test_a_dockerfile_image_is_built_from_its_own_folder(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    image = flyte.Image.from_dockerfile(tmp_path / "Dockerfile", registry="localhost:5000", name="own")
    ctx = render_context(image, tmp_path / "unused")
    assert ctx.context_dir == tmp_path
    assert ctx.dockerfile == "FROM alpine\n"


def test_an_image_used_as_is_has_nothing_to_build() -> None:
    with pytest.raises(ImageBuildError, match="nothing to build"):
        render_dockerfile(flyte.Image.from_base("python:3.12"))
    from flyte._build import build

    result = build(flyte.Image.from_base("python:3.12"))
    assert (result.status, result.uri) == ("as_is", "python:3.12")


def test_a_missing_file_is_reported_before_anything_is_written(tmp_path: Path) -> None:
    image = _base().with_requirements(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        render_context(image, tmp_path / "ctx")
    assert not (tmp_path / "ctx").exists()


# -- image_uri_for: what deploy records -------------------------------------------------------------------


def test_image_uri_for_images_environments_tasks_and_uris() -> None:
    image = _base().with_pip_packages("x")
    env = flyte.TaskEnvironment(name="uri_env", image=image)

    @env.task
    def t() -> None: ...

    assert image_uri_for(image) == image.uri == image_uri_for(env) == image_uri_for(t)
    assert image_uri_for("ghcr.io/a/b:1") == "ghcr.io/a/b:1"
    assert image_uri_for(flyte.TaskEnvironment(name="auto_env")) == flyte.Image.from_debian_base().uri


def test_image_uri_for_a_reference_name_uses_the_init_mapping() -> None:
    ref = flyte.Image.from_ref_name("gpu")
    with pytest.raises(InvalidImageNameError, match="gpu"):
        image_uri_for(ref)
    flyte.init(images={"gpu": "registry.example/gpu:3"})
    assert image_uri_for(ref) == "registry.example/gpu:3"
    layered = ref.with_pip_packages("torch")
    assert image_uri_for(layered).startswith("gpu:")
