"""Code bundles: the user's code, shipped to the control plane's workers as one archive.

A bundle holds every module the client has loaded from under the root directory
(``flyte.init(root_dir=...)``, default: the working directory): each ``sys.modules`` entry whose
file lies there, minus virtual environments, ``site-packages``, ``.git`` and ``__pycache__``.
The archive is deterministic -- sorted members, fixed mtimes, owners and modes, a gzip header
without a timestamp -- so the same code gives the same bytes and the same SHA-256, and is
stored once as ``bundles/<sha256>.tgz`` (uploads are skipped when the key already exists).

On the worker side a bundle is verified against its hash, checked member by member (only plain
files and directories, no absolute paths, no ``..``) and extracted once per hash.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import importlib
import io
import os
import shutil
import sys
import tarfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import TYPE_CHECKING, Any

from flyte._environment import Environment
from flyte._internal.loader import load_module
from flyte._internal.run_guard import RunDuringImport
from flyte._task import TaskTemplate
from flyte.errors import CodeBundleError, ModuleLoadError, TaskNotFoundError

if TYPE_CHECKING:
    from flyte.remote._client import ApiClient

SKIP_DIRS = frozenset(
    {".git", "__pycache__", "site-packages", "dist-packages", ".venv", "venv", ".tox", ".nox", "node_modules"}
)
"""Directory names whose contents never go into a bundle."""
BUNDLE_MTIME = 946684800
"""The modification time of every member (2000-01-01): the archive must not depend on the clock."""


@dataclass(frozen=True)
class Bundle:
    """A built archive: its bytes, its hash and the files it holds (POSIX, relative to ``root``)."""

    root: Path
    files: tuple[str, ...]
    data: bytes
    sha256: str

    @property
    def key(self) -> str:
        return bundle_key(self.sha256)


def bundle_key(sha256: str) -> str:
    return f"bundles/{sha256}.tgz"


def hash_of_key(key: str) -> str:
    """``bundles/<sha256>.tgz`` -> ``<sha256>``; refuses anything else."""
    name = key.removeprefix("bundles/").removesuffix(".tgz")
    if not key.startswith("bundles/") or len(name) != 64 or any(c not in "0123456789abcdef" for c in name):
        raise CodeBundleError(f"'{key}' is not a code bundle key (bundles/<sha256>.tgz)")
    return name


# -- building -----------------------------------------------------------------------------------


def relative_file(path: str | os.PathLike[str] | None, root: Path) -> str | None:
    """``path`` relative to ``root`` as a POSIX string, or None when it lies outside."""
    if not path:
        return None
    for candidate, base in (
        (Path(os.path.abspath(path)), root.absolute()),
        (Path(path).resolve(), root.resolve()),
    ):
        try:
            rel = candidate.relative_to(base)
        except ValueError:
            continue
        return rel.as_posix()
    return None


class _VenvCheck:
    """Remembers which directories belong to a virtual environment (they hold ``pyvenv.cfg``)."""

    def __init__(self, root: Path):
        self._root = root
        self._known: dict[Path, bool] = {}

    def inside_venv(self, directory: Path) -> bool:
        if directory in self._known:
            return self._known[directory]
        found = (directory / "pyvenv.cfg").is_file()
        if not found and directory != self._root and directory.parent != directory:
            found = self.inside_venv(directory.parent)
        self._known[directory] = found
        return found


def module_files(root: Path, modules: Iterable[ModuleType] | None = None) -> list[str]:
    """The files (relative to ``root``, sorted) of the loaded modules that belong in a bundle."""
    root = root.absolute()
    venvs = _VenvCheck(root)
    found: set[str] = set()
    for module in list(sys.modules.values()) if modules is None else modules:
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        rel = relative_file(file, root)
        if rel is None:
            continue
        parts = PurePosixPath(rel).parts
        if any(part in SKIP_DIRS for part in parts) or not (root / rel).is_file():
            continue
        if venvs.inside_venv((root / rel).parent):
            continue
        found.add(rel)
    return sorted(found)


def build_bundle(
    root: Path, extra: Iterable[str] = (), modules: Iterable[ModuleType] | None = None
) -> Bundle:
    """Archive the loaded modules under ``root`` (plus ``extra`` files, relative to it)."""
    root = root.absolute()
    files = sorted(set(module_files(root, modules)) | set(extra))
    raw = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,  # type: ignore[call-overload]
    ):
        for rel in files:
            try:
                content = (root / rel).read_bytes()
            except OSError as e:
                raise CodeBundleError(f"Cannot read '{root / rel}' for the code bundle: {e}") from None
            info = tarfile.TarInfo(rel)
            info.size = len(content)
            info.mtime = BUNDLE_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    data = raw.getvalue()
    return Bundle(root, tuple(files), data, hashlib.sha256(data).hexdigest())


_uploaded: set[tuple[str, str]] = set()


def upload_bundle(client: ApiClient, bundle: Bundle) -> str:
    """Store ``bundle`` on the server unless it is there already; returns its key."""
    key = bundle.key
    if (client.endpoint, key) in _uploaded:
        return key
    if not client.exists(key):
        client.upload(key, bundle.data)
    _uploaded.add((client.endpoint, key))
    return key


# -- extracting -------------------------------------------------------------------------------------


def checked_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's members, refusing links, devices, absolute paths and ``..`` segments."""
    members = tar.getmembers()
    for m in members:
        name = m.name
        parts = PurePosixPath(name).parts
        if (
            not name
            or name.startswith(("/", "\\"))
            or "\\" in name
            or "\0" in name
            or ".." in parts
            or (len(name) > 1 and name[1] == ":")
        ):
            raise CodeBundleError(f"Refusing code bundle member '{name}': it points outside the bundle")
        if not (m.isfile() or m.isdir()):
            raise CodeBundleError(
                f"Refusing code bundle member '{name}': only files and directories are allowed"
            )
    return members


def extract_bundle(data: bytes, dest: Path, sha256: str | None = None) -> Path:
    """Verify and extract ``data`` to ``dest`` (atomically: a complete directory or none)."""
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise CodeBundleError(f"Code bundle {sha256} does not match its hash (corrupt download?)")
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in checked_members(tar):
                target = tmp.joinpath(*PurePosixPath(member.name).parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
        tmp.mkdir(parents=True, exist_ok=True)  # an empty bundle is still a bundle
        try:
            os.rename(tmp, dest)
        except OSError:  # another process extracted the same bundle first
            if not dest.is_dir():
                raise
    except (tarfile.TarError, OSError, EOFError) as e:
        raise CodeBundleError(f"Cannot extract code bundle into '{dest}': {e}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


class BundleCache:
    """A worker's extracted code bundles under ``root``, each downloaded and extracted once."""

    def __init__(self, client: ApiClient, root: Path):
        self._client = client
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    async def ensure(self, key: str) -> Path:
        sha = hash_of_key(key)
        dest = self.root / sha
        if dest.is_dir():
            return dest
        async with self._locks.setdefault(sha, asyncio.Lock()):
            if not dest.is_dir():
                data = await self._client.adownload(key)
                await asyncio.to_thread(extract_bundle, data, dest, sha)
        return dest


# -- loading tasks from an extracted bundle ----------------------------------------------------------


def _activate(bundle_dir: Path) -> None:
    """Make ``bundle_dir`` the place imports look first, forgetting modules of other bundles.

    Tasks already found keep working (their module objects stay alive); only new imports see
    this bundle's code.
    """
    cache_root = str(bundle_dir.parent) + os.sep
    own = str(bundle_dir) + os.sep
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and file.startswith(cache_root) and not file.startswith(own):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not (p + os.sep).startswith(cache_root) or p == str(bundle_dir)]
    if not sys.path or sys.path[0] != str(bundle_dir):
        if str(bundle_dir) in sys.path:
            sys.path.remove(str(bundle_dir))
        sys.path.insert(0, str(bundle_dir))
    importlib.invalidate_caches()


def _from_bundle(module: ModuleType, bundle_dir: Path) -> bool:
    return str(getattr(module, "__file__", "")).startswith(str(bundle_dir) + os.sep)


def _import_module(bundle_dir: Path, module: str | None, file: str | None) -> ModuleType:
    """Import by name (the bundle is first on sys.path), else load the file; the client's
    ``__main__`` script is always loaded from its file, under a name derived from its path."""
    path = bundle_dir.joinpath(*PurePosixPath(file).parts) if file else None
    if module and module != "__main__":
        try:
            mod = importlib.import_module(module)
        except (ImportError, RunDuringImport):  # RunDuringImport: loaded from its file below instead
            if path is None:
                raise
        else:
            if path is None or _from_bundle(mod, bundle_dir):
                return mod
    if path is None or not path.is_file():
        raise ModuleLoadError(f"The code bundle has no file '{file}' (module '{module}')")
    return load_module(str(path), bundle_dir)


def find_task(module: ModuleType, task_name: str) -> TaskTemplate[Any, Any]:
    """The task named ``task_name`` (``env.func``) defined in ``module``."""
    for value in list(vars(module).values()):
        if isinstance(value, TaskTemplate) and value.name == task_name:
            return value
        if isinstance(value, Environment):
            found = getattr(value, "_tasks", {}).get(task_name)
            if found is not None:
                return found
    raise TaskNotFoundError(
        f"Task '{task_name}' is not defined in module '{module.__name__}' of the code bundle"
    )


def load_task(
    bundle_dir: Path, task_name: str, module: str | None, file: str | None, by_value: bytes | None = None
) -> TaskTemplate[Any, Any]:
    """Import the task's module from the extracted bundle and return the task.

    ``by_value`` is the task cloudpickled, for a task no import can find (defined inside a
    function); what it refers to by reference (its module's functions) comes from the bundle.
    """
    _activate(bundle_dir)
    if by_value is not None:
        import cloudpickle  # only tasks sent by value pay for it

        task = cloudpickle.loads(by_value)
        if not isinstance(task, TaskTemplate):
            raise TaskNotFoundError(f"The task sent by value as '{task_name}' is not a task")
        return task
    try:
        mod = _import_module(bundle_dir, module, file)
    except (ModuleLoadError, TaskNotFoundError):
        raise
    except Exception as e:
        raise ModuleLoadError(
            f"Cannot import '{module or file}' from the code bundle to run task '{task_name}': "
            f"{type(e).__name__}: {e}"
        ) from e
    return find_task(mod, task_name)
