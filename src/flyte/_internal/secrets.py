"""The local secret store, and turning a task's ``secrets=`` into env vars and files.

Layout on disk (``root`` defaults to ``$FLYTE_HOME/secrets``, mode 0700)::

    <root>/<key>.secret                  a secret without a group   (mode 0600)
    <root>/<group>.group/<key>.secret    a secret in a group        (dir 0700, file 0600)

Each ``.secret`` file is a small JSON record holding the key, group, creation and update times and,
with the default file backend, the value (base64). The suffixes keep secrets and groups from ever
sharing a name. Files are replaced atomically (temp file in the same directory + ``os.replace``),
so a reader sees the old record or the new one, never half of one.

With ``FLYTE_SECRETS_BACKEND=keyring`` (and the ``keyring`` package installed) the value goes to
the operating system's keyring instead and the record keeps only the metadata, so that listing
secrets still works without touching the keyring.

How a task sees its secrets (the reference's conventions):

* ``Secret("my-key")`` -> ``$MY_KEY``; ``Secret("k", group="g")`` -> ``$G_K``; ``as_env_var`` wins.
* ``Secret("k", mount="/etc/flyte/secrets")`` -> a file ``/etc/flyte/secrets/k`` (the key as
  written, case kept); with a group: ``<mount>/<group>/<key>``. Locally the files are written to a
  private temporary directory that mirrors the mount path, and ``$FLYTE_SECRETS_DEFAULT_DIR``
  points at the mirrored mount directory, as it points at ``/etc/flyte/secrets`` in a container.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Optional

from flyte._internal.redaction import Redactor
from flyte._internal.run_config import flyte_home
from flyte._secret import Secret
from flyte.errors import SecretNotFoundError

__all__ = [
    "BACKEND_ENV",
    "DEFAULT_MOUNT",
    "SECRETS_DIR_ENV",
    "MaterializedFiles",
    "Redactor",
    "ResolvedSecrets",
    "SecretInfo",
    "SecretStore",
    "StoreRedactor",
    "cleanup",
    "materialize_files",
    "resolve_secrets",
    "validate_name",
]

SECRETS_DIR_ENV = "FLYTE_SECRETS_DEFAULT_DIR"
"""Points a task at the directory its mounted secrets are in (``/etc/flyte/secrets`` in a container)."""

BACKEND_ENV = "FLYTE_SECRETS_BACKEND"
"""``file`` (default) or ``keyring``: where :class:`SecretStore` keeps the values."""

DEFAULT_MOUNT = "/etc/flyte/secrets"
"""The mount directory the reference supports for file secrets."""

_KEYRING_SERVICE = "flyte"
_SECRET_SUFFIX = ".secret"
_GROUP_SUFFIX = ".group"
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def validate_name(name: Any, what: str = "secret key") -> str:
    """Return ``name`` if it can name a secret or group on disk, else raise ``ValueError``.

    Allowed: 1-200 letters, digits, ``-``, ``_`` and ``.``; no path separators and no ``..``.
    """
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name or name == ".":
        raise ValueError(
            f"{what} {name!r} is not allowed: use 1-200 letters, digits, '-', '_' or '.' "
            "(no path separators, no '..')"
        )
    return name


def _describe(key: str, group: Optional[str]) -> str:
    return f"{key!r} in group {group!r}" if group else repr(key)


def _create_hint(key: str, group: Optional[str]) -> str:
    group_part = f" --group {group}" if group else ""
    return f"flyte create secret {key}{group_part} --value ..."


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _parse_time(text: Any, fallback: float) -> datetime:
    if isinstance(text, str):
        try:
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.fromtimestamp(fallback, tz=timezone.utc)


@dataclass(frozen=True)
class SecretInfo:
    """What the store tells about a secret: its name and times, never its value."""

    key: str
    group: Optional[str]
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        """``group/key``, or just ``key`` without a group."""
        return f"{self.group}/{self.key}" if self.group else self.key

    def to_dict(self) -> dict[str, Optional[str]]:
        """A JSON-ready form with ISO-8601 times."""
        return {
            "name": self.key,
            "group": self.group,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _keyring_module() -> Any:
    """The ``keyring`` module when ``FLYTE_SECRETS_BACKEND=keyring``, else None (file backend)."""
    backend = (os.environ.get(BACKEND_ENV) or "file").strip().lower()
    if backend == "file":
        return None
    if backend != "keyring":
        raise ValueError(f"{BACKEND_ENV}={backend!r} is not a secret backend; use 'file' or 'keyring'")
    try:
        import keyring
    except ImportError as e:
        raise RuntimeError(
            f"{BACKEND_ENV}=keyring, but the 'keyring' package is not installed; "
            f"install it or unset {BACKEND_ENV} to keep secrets in files"
        ) from e
    return keyring


class SecretStore:
    """Secrets kept on this machine, one record file per (group, key).

    Args:
        root: the directory to keep secrets in; defaults to ``$FLYTE_HOME/secrets`` (``~/.flyte/secrets``).
    """

    def __init__(self, root: Optional[Path] = None):
        self.root = Path(root) if root is not None else flyte_home() / "secrets"
        self._keyring = _keyring_module()

    # -- paths ---------------------------------------------------------------------------------

    def _path(self, key: str, group: Optional[str]) -> Path:
        validate_name(key)
        if group is None:
            return self.root / f"{key}{_SECRET_SUFFIX}"
        validate_name(group, "secret group")
        return self.root / f"{group}{_GROUP_SUFFIX}" / f"{key}{_SECRET_SUFFIX}"

    @staticmethod
    def _private_dir(path: Path) -> None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)

    # -- records -------------------------------------------------------------------------------

    @staticmethod
    def _read_record(path: Path) -> dict[str, Any]:
        try:
            with open(path, encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    @staticmethod
    def _write_atomically(path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _not_found(self, key: str, group: Optional[str]) -> SecretNotFoundError:
        return SecretNotFoundError(
            f"Secret {_describe(key, group)} is not in the local secret store ({self.root}). "
            f"Create it with: {_create_hint(key, group)}"
        )

    # -- public API ----------------------------------------------------------------------------

    def put(self, key: str, value: bytes | str, group: Optional[str] = None) -> SecretInfo:
        """Create or overwrite a secret; a ``str`` value is stored as UTF-8."""
        path = self._path(key, group)
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        self._private_dir(self.root)
        self._private_dir(path.parent)
        now = _now()
        previous = self._read_record(path) if path.exists() else {}
        created = _parse_time(previous.get("created_at"), now.timestamp()) if previous else now
        record: dict[str, Any] = {
            "version": 1,
            "key": key,
            "group": group,
            "created_at": created.isoformat(),
            "updated_at": now.isoformat(),
        }
        if self._keyring is not None:
            self._keyring.set_password(
                _KEYRING_SERVICE, self._keyring_user(key, group), base64.b64encode(data).decode("ascii")
            )
            record["backend"] = "keyring"
        else:
            record["backend"] = "file"
            record["value"] = base64.b64encode(data).decode("ascii")
        self._write_atomically(path, json.dumps(record).encode("utf-8"))
        return SecretInfo(key=key, group=group, created_at=created, updated_at=now)

    def get(self, key: str, group: Optional[str] = None) -> bytes:
        """The secret's value; raises :class:`~flyte.errors.SecretNotFoundError` when there is none."""
        path = self._path(key, group)
        if not path.is_file():
            raise self._not_found(key, group)
        record = self._read_record(path)
        encoded = record.get("value")
        if encoded is None and record.get("backend") == "keyring":
            keyring = self._keyring or _import_keyring_for_read()
            encoded = keyring.get_password(_KEYRING_SERVICE, self._keyring_user(key, group))
        if not isinstance(encoded, str):
            raise self._not_found(key, group)
        try:
            return base64.b64decode(encoded.encode("ascii"), validate=True)
        except ValueError as e:
            raise SecretNotFoundError(
                f"Secret {_describe(key, group)} in the local store ({path}) is unreadable; "
                f"recreate it with: {_create_hint(key, group)}"
            ) from e

    def exists(self, key: str, group: Optional[str] = None) -> bool:
        """Whether the store holds the secret."""
        return self._path(key, group).is_file()

    def info(self, key: str, group: Optional[str] = None) -> SecretInfo:
        """Metadata of one secret; raises :class:`~flyte.errors.SecretNotFoundError` when missing."""
        path = self._path(key, group)
        if not path.is_file():
            raise self._not_found(key, group)
        return self._info(path, key, group)

    def delete(self, key: str, group: Optional[str] = None) -> None:
        """Remove a secret; raises :class:`~flyte.errors.SecretNotFoundError` when missing."""
        path = self._path(key, group)
        if not path.is_file():
            raise self._not_found(key, group)
        record = self._read_record(path)
        path.unlink()
        if record.get("backend") == "keyring":
            keyring = self._keyring or _import_keyring_for_read()
            with contextlib.suppress(Exception):
                keyring.delete_password(_KEYRING_SERVICE, self._keyring_user(key, group))
        if group is not None:
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # only succeeds once the group is empty

    def list(self) -> list[SecretInfo]:
        """Every secret's metadata, sorted by group then key. Values are never read out."""
        if not self.root.is_dir():
            return []
        found: list[SecretInfo] = []
        for path in self.root.glob(f"*{_SECRET_SUFFIX}"):
            found.append(self._info(path, path.name[: -len(_SECRET_SUFFIX)], None))
        for group_dir in self.root.glob(f"*{_GROUP_SUFFIX}"):
            if not group_dir.is_dir():
                continue
            group = group_dir.name[: -len(_GROUP_SUFFIX)]
            for path in group_dir.glob(f"*{_SECRET_SUFFIX}"):
                found.append(self._info(path, path.name[: -len(_SECRET_SUFFIX)], group))
        return sorted(found, key=lambda i: (i.group or "", i.key))

    # -- helpers -------------------------------------------------------------------------------

    def _info(self, path: Path, key: str, group: Optional[str]) -> SecretInfo:
        record = self._read_record(path)
        mtime = path.stat().st_mtime
        return SecretInfo(
            key=key,
            group=group,
            created_at=_parse_time(record.get("created_at"), mtime),
            updated_at=_parse_time(record.get("updated_at"), mtime),
        )

    @staticmethod
    def _keyring_user(key: str, group: Optional[str]) -> str:
        return f"{group}/{key}" if group else key


def _import_keyring_for_read() -> Any:
    """The keyring module for a record written by the keyring backend, whatever the current setting."""
    try:
        import keyring
    except ImportError as e:
        raise RuntimeError(
            "this secret was stored in the OS keyring, but the 'keyring' package is not installed"
        ) from e
    return keyring


# ---------------------------------------------------------------------------------------------
# Resolving a task's secrets
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedSecrets:
    """A task's secrets, looked up and ready to hand to the action.

    Attributes:
        env: environment variables to set, name -> value.
        files: files to provide, the path the task expects (``<mount>[/<group>]/<key>``) -> content.
        mounts: the distinct mount directories, in the order the secrets were declared.
        values: every secret value as text, for :class:`Redactor`.
    """

    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    mounts: tuple[str, ...] = ()
    values: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.env or self.files)


def mount_file_path(secret: Secret) -> str:
    """Where a mounted secret's file appears: ``<mount>/<key>``, or ``<mount>/<group>/<key>``."""
    if secret.mount is None:
        raise ValueError(f"secret {secret.key!r} has no mount")
    parts = [secret.group, secret.key] if secret.group else [secret.key]
    return str(PurePosixPath(_mount_dir(secret)).joinpath(*parts))


def _mount_dir(secret: Secret) -> str:
    return posixpath.normpath(Path(str(secret.mount)).as_posix())


def _as_text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def _from_environment(secret: Secret, environ: Mapping[str, str]) -> Optional[bytes]:
    """A value the user provided outside the store, as the reference expects for local runs.

    An env-var secret may come from that variable already being set; a mounted secret from a file
    at ``$FLYTE_SECRETS_DEFAULT_DIR/[<group>/]<key>`` or at its real mount path.
    """
    if secret.as_env_var and secret.as_env_var in environ:
        return environ[secret.as_env_var].encode("utf-8", "surrogateescape")
    if secret.mount is not None:
        relative = [secret.group, secret.key] if secret.group else [secret.key]
        candidates = [Path(mount_file_path(secret))]
        if environ.get(SECRETS_DIR_ENV):
            candidates.insert(0, Path(environ[SECRETS_DIR_ENV]).joinpath(*relative))
        for candidate in candidates:
            try:
                return candidate.read_bytes()
            except OSError:
                continue
    return None


def resolve_secrets(
    secrets: tuple[Secret, ...],
    store: SecretStore,
    task_name: str,
    environ: Optional[Mapping[str, str]] = None,
) -> ResolvedSecrets:
    """Look up every secret a task declares, before the task starts.

    A secret not in ``store`` may still be supplied the way the reference documents for local runs
    (see :func:`_from_environment`; ``environ`` defaults to ``os.environ``). Whatever is still
    missing is reported together in one :class:`~flyte.errors.SecretNotFoundError` naming the task.
    """
    environ = os.environ if environ is None else environ
    env: dict[str, str] = {}
    files: dict[str, bytes] = {}
    mounts: list[str] = []
    values: set[str] = set()
    missing: list[str] = []
    hints: list[str] = []
    for secret in secrets:
        problem = ""
        value: Optional[bytes] = None
        try:
            validate_name(secret.key)
            if secret.group is not None:
                validate_name(secret.group, "secret group")
        except ValueError as e:
            problem = f" ({e})"
        else:
            try:
                value = store.get(secret.key, secret.group)
            except SecretNotFoundError:
                value = None
        if value is None and (not problem or secret.mount is None):
            value = _from_environment(secret, environ)
        if value is None:
            where = []
            if secret.as_env_var:
                where.append(f"env ${secret.as_env_var}")
            if secret.mount is not None:
                where.append(f"file {mount_file_path(secret)}")
            missing.append(f"{_describe(secret.key, secret.group)} ({', '.join(where)}){problem}")
            if not problem:
                hints.append(_create_hint(secret.key, secret.group))
            continue
        text = _as_text(value)
        if secret.as_env_var:
            if "\x00" in text:
                missing.append(
                    f"{_describe(secret.key, secret.group)} (its value contains a NUL byte and cannot be "
                    "an environment variable; give the Secret a mount instead)"
                )
                continue
            env[secret.as_env_var] = text
        if secret.mount is not None:
            files[mount_file_path(secret)] = value
            mount_dir = _mount_dir(secret)
            if mount_dir not in mounts:
                mounts.append(mount_dir)
        values.add(text)
        if text.strip() != text:
            values.add(text.strip())
    if missing:
        lines = [
            f"Task {task_name!r} cannot start: {len(missing)} secret(s) could not be provided "
            f"(local secret store: {store.root}):",
            *(f"  - {item}" for item in missing),
        ]
        if hints:
            lines.append("Create them with:")
            lines.extend(f"  {hint}" for hint in hints)
            lines.append(
                f"or, for one run, set the environment variable listed above (file secrets: put the file "
                f"under ${SECRETS_DIR_ENV})."
            )
        raise SecretNotFoundError("\n".join(lines))
    return ResolvedSecrets(env=env, files=files, mounts=tuple(mounts), values=frozenset(values))


# ---------------------------------------------------------------------------------------------
# Files for mounted secrets
# ---------------------------------------------------------------------------------------------


class MaterializedFiles(dict[str, Path]):
    """Mount path -> real file, plus where they live and the env the task needs to find them.

    Attributes:
        root: the private directory holding the files (None when there were none); pass it to
            :func:`cleanup` when the action ends.
        env: ``{FLYTE_SECRETS_DEFAULT_DIR: <mirrored mount dir>}`` when any secret is mounted.
    """

    def __init__(self, mapping: Mapping[str, Path], root: Optional[Path], env: dict[str, str]):
        super().__init__(mapping)
        self.root = root
        self.env = env


def _mirror(root: Path, absolute: str) -> Path:
    """``absolute`` re-rooted under ``root``; refuses anything that would land outside it."""
    normalized = PurePosixPath(posixpath.normpath(absolute))
    relative = normalized.relative_to(normalized.anchor) if normalized.anchor else normalized
    if any(part == ".." for part in relative.parts):
        raise ValueError(f"secret mount path {absolute!r} escapes its directory")
    target = root.joinpath(*relative.parts)
    if not Path(os.path.abspath(target)).is_relative_to(os.path.abspath(root)):
        raise ValueError(f"secret mount path {absolute!r} escapes its directory")
    return target


def materialize_files(resolved: ResolvedSecrets, base_dir: Path) -> MaterializedFiles:
    """Write mounted secrets into a fresh private directory under ``base_dir``.

    The directory (0700) mirrors each mount path, e.g. ``/etc/flyte/secrets/k`` becomes
    ``<tmp>/etc/flyte/secrets/k`` (0600), since a local run cannot write to ``/etc``. The result maps
    each mount path to its real file; its ``env`` sets ``FLYTE_SECRETS_DEFAULT_DIR`` to the mirrored
    ``/etc/flyte/secrets`` when used, otherwise to the first mount directory declared.
    """
    if not resolved.files:
        return MaterializedFiles({}, None, {})
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="secrets-", dir=base_dir))  # created 0700
    os.chmod(root, 0o700)
    mapping: dict[str, Path] = {}
    try:
        for mount_path, content in resolved.files.items():
            target = _mirror(root, mount_path)
            parent = target.parent
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            while parent != root:  # mkdir's mode is masked by umask; make every level private
                os.chmod(parent, 0o700)
                parent = parent.parent
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
            os.chmod(target, 0o600)
            mapping[mount_path] = target
    except BaseException:
        cleanup(root)
        raise
    default = DEFAULT_MOUNT if DEFAULT_MOUNT in resolved.mounts else resolved.mounts[0]
    env = {SECRETS_DIR_ENV: str(_mirror(root, default))} if resolved.mounts else {}
    return MaterializedFiles(mapping, root, env)


def cleanup(path: Optional[Path]) -> None:
    """Remove a directory made by :func:`materialize_files`; a missing path or None is fine."""
    if path is None:
        return
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Redaction
# ---------------------------------------------------------------------------------------------


class StoreRedactor:
    """Hides the values of every secret in the given stores, following changes to the stores.

    A control plane uses it on what workers send (log lines, error messages): the worker that
    read a secret redacts first, and the server, which never hands values out, redacts again
    with the values of the secret store its workers read from. Each use costs one ``stat`` per
    secret; the values are read again only when a secret was created, changed or deleted.
    """

    def __init__(self, roots: list[Path]):
        self._stores = [SecretStore(root) for root in dict.fromkeys(Path(r) for r in roots)]
        self._stamp: tuple[Any, ...] | None = None
        self._redactor = Redactor()

    def _current_stamp(self) -> tuple[Any, ...]:
        # every record file's inode and mtime: a record is replaced by a new file (a new inode), so
        # this changes with every put and delete even where timestamps are coarse
        stamps: list[Any] = []
        for store in self._stores:
            if not store.root.is_dir():
                continue
            for path in [
                *store.root.glob(f"*{_SECRET_SUFFIX}"),
                *store.root.glob(f"*{_GROUP_SUFFIX}/*{_SECRET_SUFFIX}"),
            ]:
                with contextlib.suppress(OSError):
                    st = path.stat()
                    stamps.append((str(path), st.st_ino, st.st_mtime_ns))
        return tuple(sorted(stamps))

    def _reload(self) -> None:
        values: set[str] = set()
        for store in self._stores:
            for info in store.list():
                with contextlib.suppress(Exception):  # a record being replaced, a keyring gone
                    text = _as_text(store.get(info.key, info.group))
                    values.update({text, text.strip()})
        self._redactor = Redactor(values)

    def redact(self, text: str) -> str:
        """``text`` with the value of every secret in the stores replaced by ``***``."""
        stamp = self._current_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            self._reload()
        return self._redactor.redact(text)
