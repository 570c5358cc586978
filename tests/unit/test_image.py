"""flyte.Image: constructors, immutable builders, content-hash URIs and validation."""

from __future__ import annotations

import dataclasses
import pickle
import sys
from pathlib import Path

import pytest

from flyte._image import Image, PipPackages
from flyte._secret import Secret
from flyte.errors import InvalidImageNameError


@pytest.fixture
def base() -> Image:
    return Image.from_debian_base(python_version=(3, 12))


def test_direct_construction_is_refused():
    with pytest.raises(TypeError) as e:
        Image()
    assert "from_debian_base" in str(e.value) and "from_base" in str(e.value)
    with pytest.raises(TypeError):
        Image(base_image="python:3.12")


def test_from_debian_base_defaults():
    img = Image.from_debian_base()
    assert img.python_version == sys.version_info[:2]
    assert img.base_image == f"python:{sys.version_info[0]}.{sys.version_info[1]}-slim-bookworm"
    assert img.registry == "ghcr.io/flyteorg" and img.name == "flyte"
    assert img.uri.startswith("ghcr.io/flyteorg/flyte:")
    assert set(img.platform) == {"linux/amd64", "linux/arm64"}


def test_from_debian_base_registry_and_name():
    img = Image.from_debian_base(registry="localhost:5000", name="my-image", python_version=(3, 11))
    assert img.uri.startswith("localhost:5000/my-image:")
    assert img.python_version == (3, 11)


def test_uri_is_deterministic(base):
    again = Image.from_debian_base(python_version=(3, 12))
    assert base.uri == again.uri
    assert base == again
    assert base.with_pip_packages("numpy").uri == again.with_pip_packages("numpy").uri


def test_every_change_changes_the_uri(base):
    variants = [
        base,
        base.with_pip_packages("numpy"),
        base.with_pip_packages("numpy==2.0"),
        base.with_pip_packages("numpy", pre=True),
        base.with_pip_packages("numpy", index_url="https://example.com/simple"),
        base.with_apt_packages("git"),
        base.with_commands(["echo hi"]),
        base.with_env_vars({"A": "1"}),
        base.with_env_vars({"A": "2"}),
        base.with_workdir("/app"),
        Image.from_debian_base(python_version=(3, 11)),
        Image.from_debian_base(python_version=(3, 12), install_flyte=False),
        Image.from_debian_base(python_version=(3, 12), flyte_version="2.0.0"),
        Image.from_debian_base(python_version=(3, 12), platform=("linux/amd64",)),
    ]
    tags = [v.uri.rsplit(":", 1)[1] for v in variants]
    assert len(set(tags)) == len(tags)


def test_layer_order_matters(base):
    assert (
        base.with_apt_packages("a").with_pip_packages("b").uri
        != base.with_pip_packages("b").with_apt_packages("a").uri
    )


def test_env_var_order_does_not_matter(base):
    assert base.with_env_vars({"A": "1", "B": "2"}).uri == base.with_env_vars({"B": "2", "A": "1"}).uri


def test_builders_are_immutable(base):
    before_layers = base.layers
    before_uri = base.uri
    derived = base.with_pip_packages("numpy").with_apt_packages("git").with_env_vars({"X": "1"})
    assert derived is not base
    assert base.layers == before_layers and base.uri == before_uri
    assert len(derived.layers) == len(base.layers) + 3
    assert isinstance(derived.layers[len(base.layers)], PipPackages)
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.name = "other"  # type: ignore[misc]


def test_with_pip_packages_options(base):
    layer = base.with_pip_packages(
        "a", "b>=1", index_url="https://i", extra_index_urls="https://x", pre=True, extra_args="--no-deps"
    ).layers[-1]
    assert layer.packages == ("a", "b>=1")
    assert layer.extra_index_urls == ("https://x",)
    assert layer.get_pip_install_args() == [
        "--index-url https://i",
        "--extra-index-url https://x",
        "--pre",
        "--no-deps",
    ]


def test_with_pip_packages_rejects_a_list(base):
    with pytest.raises(TypeError, match="separate arguments"):
        base.with_pip_packages(["numpy", "pandas"])  # type: ignore[arg-type]


def test_secret_mounts_are_normalized(base):
    layer = base.with_pip_packages("private", secret_mounts=["GITHUB_PAT"]).layers[-1]
    assert layer.secret_mounts == (Secret(key="GITHUB_PAT"),)


def test_requirements_file_content_is_hashed(base, tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("numpy\n")
    first = base.with_requirements(req).uri
    assert base.with_requirements(str(req)).uri == first
    req.write_text("numpy\npandas\n")
    assert base.with_requirements(req).uri != first


def test_requirements_location_does_not_matter(base, tmp_path):
    a = tmp_path / "a" / "requirements.txt"
    b = tmp_path / "b" / "requirements.txt"
    for p in (a, b):
        p.parent.mkdir()
        p.write_text("numpy\n")
    assert base.with_requirements(a).uri == base.with_requirements(b).uri


def test_requirements_must_be_txt(base, tmp_path):
    with pytest.raises(ValueError, match=r"\.txt"):
        base.with_requirements(tmp_path / "reqs.in")


def test_missing_requirements_file_fails_validation(base, tmp_path):
    img = base.with_requirements(tmp_path / "missing.txt")  # defining is allowed (it may be built elsewhere)
    assert img.uri  # and the identifier can still be computed
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        img.validate()


def test_source_folder_content_is_hashed(base, tmp_path):
    src = tmp_path / "pkg"
    src.mkdir()
    (src / "mod.py").write_text("x = 1\n")
    first = base.with_source_folder(src).uri
    assert base.with_source_folder(src).uri == first
    (src / "mod.py").write_text("x = 2\n")
    second = base.with_source_folder(src).uri
    assert second != first
    (src / "new.py").write_text("")
    assert base.with_source_folder(src).uri != second
    assert base.with_source_folder(src, dst="/app").uri != base.with_source_folder(src).uri
    base.with_source_folder(src).validate()


def test_source_file(base, tmp_path):
    f = tmp_path / "config.yaml"
    f.write_text("a: 1\n")
    img = base.with_source_file(f, dst="/etc/app")
    img.validate()
    first = img.uri
    f.write_text("a: 2\n")
    assert base.with_source_file(f, dst="/etc/app").uri != first
    with pytest.raises(ValueError, match="not a file"):
        base.with_source_file(tmp_path).validate()
    with pytest.raises(ValueError, match="not a folder"):
        base.with_source_folder(f).validate()


def test_uv_project(base, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    (tmp_path / "uv.lock").write_text("lock-1")
    img = base.with_uv_project(tmp_path / "pyproject.toml")
    img.validate()
    first = img.uri
    (tmp_path / "uv.lock").write_text("lock-2")
    assert base.with_uv_project(tmp_path / "pyproject.toml").uri != first
    (tmp_path / "uv.lock").unlink()
    with pytest.raises(FileNotFoundError, match="uv.lock"):
        base.with_uv_project(tmp_path / "pyproject.toml").validate()
    with pytest.raises(ValueError, match="project_install_mode"):
        base.with_uv_project(tmp_path / "pyproject.toml", project_install_mode="everything")  # type: ignore[arg-type]


def test_from_base_uses_the_uri_as_is():
    img = Image.from_base("python:3.12-slim")
    assert img.uri == "python:3.12-slim"
    assert img.clone().uri == "python:3.12-slim"


def test_from_base_needs_name_and_extendable_for_layers():
    img = Image.from_base("python:3.12-slim")
    with pytest.raises(ValueError, match="extendable=True"):
        img.with_pip_packages("numpy")
    named = img.clone(name="my-image", extendable=True).with_pip_packages("numpy")
    assert named.uri.startswith("my-image:")
    assert named.base_image == "python:3.12-slim"


def test_from_base_rejects_garbage():
    with pytest.raises(InvalidImageNameError):
        Image.from_base("")
    with pytest.raises(InvalidImageNameError):
        Image.from_base("python 3")


def test_invalid_names_and_registries():
    with pytest.raises(InvalidImageNameError, match="My Image"):
        Image.from_debian_base(name="My Image")
    with pytest.raises(InvalidImageNameError, match="scheme"):
        Image.from_debian_base(registry="https://ghcr.io/org")


def test_invalid_python_version_and_platform():
    with pytest.raises(ValueError, match=r"\(3, 10\) or newer"):
        Image.from_debian_base(python_version=(2, 7))
    with pytest.raises(TypeError, match="python_version"):
        Image.from_debian_base(python_version="3.12")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="linux/amd64"):
        Image.from_debian_base(platform=("windows/amd64",))  # type: ignore[arg-type]


def test_from_dockerfile(tmp_path):
    df = tmp_path / "Dockerfile"
    df.write_text("FROM python:3.12\n")
    img = Image.from_dockerfile(df, registry="localhost:5000", name="custom")
    img.validate()
    first = img.uri
    assert first.startswith("localhost:5000/custom:")
    df.write_text("FROM python:3.11\n")
    assert Image.from_dockerfile(df, registry="localhost:5000", name="custom").uri != first
    with pytest.raises(ValueError, match="Dockerfile"):
        img.with_pip_packages("numpy")
    with pytest.raises(FileNotFoundError):
        Image.from_dockerfile(tmp_path / "nope", registry="r.io", name="x").validate()


def test_from_uv_script(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(
        '# /// script\n# requires-python = ">=3.12"\n# dependencies = ["httpx"]\n# ///\nprint(1)\n'
    )
    img = Image.from_uv_script(script, name="uv-app", python_version=(3, 12))
    img.validate()
    assert img.uri.startswith("ghcr.io/flyteorg/uv-app:")
    first = img.uri
    script.write_text('# /// script\n# dependencies = ["httpx", "rich"]\n# ///\nprint(1)\n')
    assert Image.from_uv_script(script, name="uv-app", python_version=(3, 12)).uri != first


def test_from_uv_script_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        Image.from_uv_script(tmp_path / "missing.py", name="x")
    plain = tmp_path / "plain.py"
    plain.write_text("print(1)\n")
    with pytest.raises(ValueError, match="# /// script"):
        Image.from_uv_script(plain, name="x")


def test_clone_changes_registry_and_name(base):
    c = base.with_pip_packages("numpy").clone(registry="r.example.com/team", name="mine")
    assert c.uri.startswith("r.example.com/team/mine:")
    assert c.layers == base.with_pip_packages("numpy").layers


def test_registry_secret(base):
    c = base.clone(registry_secret="regcred")
    assert c._image_registry_secret == Secret(key="regcred")


def test_from_ref_name():
    img = Image.from_ref_name("gpu-image")
    assert img.uri.startswith("gpu-image:")
    assert img.with_pip_packages("x").uri != img.uri


def test_env_var_validation(base):
    with pytest.raises(ValueError, match="1BAD"):
        base.with_env_vars({"1BAD": "x"})
    with pytest.raises(TypeError):
        base.with_env_vars({"A": object()})  # type: ignore[dict-item]
    assert base.with_env_vars({"N": 3}).layers[-1].env_vars == (("N", "3"),)  # type: ignore[dict-item]


def test_pickle_and_hash(base):
    img = base.with_pip_packages("numpy").with_env_vars({"A": "1"})
    again = pickle.loads(pickle.dumps(img))
    assert again == img and again.uri == img.uri
    assert hash(img) == hash(base.with_pip_packages("numpy").with_env_vars({"A": "1"}))


def test_relative_paths_are_resolved_at_definition(base, tmp_path, monkeypatch):
    (tmp_path / "requirements.txt").write_text("numpy\n")
    monkeypatch.chdir(tmp_path)
    img = base.with_requirements("requirements.txt")
    monkeypatch.chdir(Path(tmp_path).parent)
    img.validate()  # still finds the file after the working directory changed
