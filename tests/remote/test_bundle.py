"""Code bundles: deterministic, content-hashed, path-safe, uploaded once, loadable by a worker."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
import types
from pathlib import Path

import httpx
import pytest

from flyte._internal.bundle import (
    _uploaded,
    build_bundle,
    bundle_key,
    extract_bundle,
    hash_of_key,
    load_task,
    module_files,
    upload_bundle,
)
from flyte.errors import CodeBundleError
from flyte.remote._client import ApiClient


def _module(name: str, file: Path) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = str(file)
    return module


def _project(root: Path) -> list[types.ModuleType]:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text("X = 1\n")
    (root / "wf.py").write_text("import pkg.mod\n")
    return [
        _module("pkg", root / "pkg" / "__init__.py"),
        _module("pkg.mod", root / "pkg" / "mod.py"),
        _module("__main__", root / "wf.py"),
    ]


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()


def test_equal_code_gives_equal_bytes_and_hash(tmp_path: Path) -> None:
    modules = _project(tmp_path)
    first = build_bundle(tmp_path, modules=modules)
    os.utime(tmp_path / "wf.py", (1, 1))  # a touched file is the same code
    (tmp_path / "pkg" / "mod.py").chmod(0o755)
    second = build_bundle(tmp_path, modules=list(reversed(modules)))
    assert first.data == second.data
    assert first.sha256 == second.sha256
    assert first.key == f"bundles/{first.sha256}.tgz"
    assert first.files == ("pkg/__init__.py", "pkg/mod.py", "wf.py")


def test_changed_code_changes_the_hash(tmp_path: Path) -> None:
    modules = _project(tmp_path)
    before = build_bundle(tmp_path, modules=modules)
    (tmp_path / "pkg" / "mod.py").write_text("X = 2\n")
    assert build_bundle(tmp_path, modules=modules).sha256 != before.sha256


def test_members_have_fixed_metadata(tmp_path: Path) -> None:
    bundle = build_bundle(tmp_path, modules=_project(tmp_path))
    for member in _members(bundle.data):
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (946684800, 0, 0, "", "")
        assert member.mode == 0o644


def test_only_user_modules_under_the_root_are_bundled(tmp_path: Path) -> None:
    root = tmp_path / "root"
    modules = _project(root)
    venv = root / ".env-custom"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr\n")
    skipped = {
        "in_venv": venv / "lib" / "thing.py",
        "site": root / "lib" / "site-packages" / "dep.py",
        "cache": root / "__pycache__" / "wf.cpython-311.py",
        "git": root / ".git" / "hook.py",
        "outside": tmp_path / "elsewhere.py",
    }
    for name, path in skipped.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        modules.append(_module(name, path))
    modules.append(types.ModuleType("builtin_like"))  # no __file__
    assert module_files(root, modules) == ["pkg/__init__.py", "pkg/mod.py", "wf.py"]


def test_the_loaded_modules_of_this_process_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "loaded_here.py").write_text("VALUE = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import loaded_here  # noqa: F401

    try:
        assert "loaded_here.py" in build_bundle(tmp_path).files
    finally:
        import sys

        sys.modules.pop("loaded_here", None)


def _tgz(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, content in members:
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def test_extract_round_trips(tmp_path: Path) -> None:
    bundle = build_bundle(tmp_path / "src", modules=_project(tmp_path / "src"))
    dest = extract_bundle(bundle.data, tmp_path / "cache" / bundle.sha256, bundle.sha256)
    assert (dest / "pkg" / "mod.py").read_text() == "X = 1\n"
    assert extract_bundle(bundle.data, dest, bundle.sha256) == dest  # already there: nothing to do
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [bundle.sha256]  # no temporary left


@pytest.mark.parametrize(
    "name", ["../evil.py", "a/../../evil.py", "/etc/evil.py", "C:/evil.py", "a\\..\\b.py"]
)
def test_extract_refuses_paths_outside_the_bundle(tmp_path: Path, name: str) -> None:
    data = _tgz([(tarfile.TarInfo(name), b"x")])
    with pytest.raises(CodeBundleError, match="outside the bundle"):
        extract_bundle(data, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    assert not (tmp_path / "evil.py").exists()


def test_extract_refuses_links(tmp_path: Path) -> None:
    link = tarfile.TarInfo("innocent.py")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    with pytest.raises(CodeBundleError, match="only files and directories"):
        extract_bundle(_tgz([(link, b"")]), tmp_path / "dest")


def test_extract_checks_the_hash(tmp_path: Path) -> None:
    bundle = build_bundle(tmp_path, modules=_project(tmp_path))
    with pytest.raises(CodeBundleError, match="does not match"):
        extract_bundle(bundle.data + b"x", tmp_path / "dest", bundle.sha256)


def test_bundle_keys_are_checked() -> None:
    sha = "ab" * 32
    assert hash_of_key(bundle_key(sha)) == sha
    for bad in ("bundles/../x.tgz", "data/" + sha + ".tgz", "bundles/" + sha.upper() + ".tgz"):
        with pytest.raises(CodeBundleError):
            hash_of_key(bad)


def test_upload_happens_once(tmp_path: Path) -> None:
    stored: dict[str, bytes] = {}
    puts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "HEAD":
            return httpx.Response(200 if path.removeprefix("/api/v1/data/") in stored else 404)
        if path == "/api/v1/data/upload-url":
            key = request.read().decode().split('"')[3]
            return httpx.Response(200, json={"url": f"/data/{key}?exp=1&sig=s", "key": key, "expires_at": 1})
        assert request.method == "PUT" and "authorization" not in request.headers  # signed URLs get no key
        puts.append(path)
        stored[path.removeprefix("/data/")] = request.read()
        return httpx.Response(201, json={"key": path, "size": 1, "sha256": ""})

    bundle = build_bundle(tmp_path, modules=_project(tmp_path))
    client = ApiClient("http://cp.test", "k", transport=httpx.MockTransport(handler))
    assert upload_bundle(client, bundle) == bundle.key
    assert upload_bundle(client, bundle) == bundle.key  # remembered in this process
    _uploaded.clear()  # another process: it asks the server, which has the bundle already
    upload_bundle(client, bundle)
    assert puts == [f"/data/{bundle.key}"]
    assert stored[bundle.key] == bundle.data


def test_a_worker_loads_tasks_from_an_extracted_bundle(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "lib" / "helpers.py").write_text("def inc(x):\n    return x + 1\n")
    (src / "script.py").write_text(
        "import flyte\nfrom lib.helpers import inc\n"
        "env = flyte.TaskEnvironment(name='bundled')\n\n"
        "@env.task\nasync def t(x: int) -> int:\n    return inc(x)\n\n"
        "if __name__ == '__main__':\n    raise SystemExit('the main block must not run in a worker')\n"
    )
    modules = [_module("__main__", src / "script.py"), _module("lib.helpers", src / "lib" / "helpers.py")]
    bundle = build_bundle(src, modules=modules)
    dest = extract_bundle(bundle.data, tmp_path / "cache" / bundle.sha256, bundle.sha256)
    import sys

    saved_path = list(sys.path)
    try:
        task = load_task(dest, "bundled.t", "__main__", "script.py")
        assert task.name == "bundled.t"
        assert asyncio.run(task.func(1)) == 2
        assert sys.modules[task.func.__module__].__file__.startswith(str(dest))
    finally:
        sys.path[:] = saved_path
        for name in [
            n for n, m in sys.modules.items() if str(getattr(m, "__file__", "")).startswith(str(dest))
        ]:
            del sys.modules[name]
