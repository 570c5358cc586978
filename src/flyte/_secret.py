"""Secrets a task (or an image build) needs: ``flyte.Secret`` and the ``secrets=`` argument forms."""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass
from typing import Optional, Union

__all__ = ["Secret", "SecretRequest", "secrets_from_request"]

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_NOT_ENV_CHAR = re.compile(r"[^A-Za-z0-9_]")


def _default_env_name(key: str, group: Optional[str]) -> str:
    """``group_key`` upper-cased, each character not allowed in an env var name turned into ``_``."""
    raw = f"{group}_{key}" if group else key
    name = _NOT_ENV_CHAR.sub("_", raw).upper()
    return f"_{name}" if name[:1].isdigit() else name


@dataclass(frozen=True)
class Secret:
    """A secret from the secret store, made available to a task as an environment variable or a file.

    When neither ``mount`` nor ``as_env_var`` is given, the secret is exposed as an environment
    variable named after the key (prefixed by the group when there is one), upper-cased, with ``-``
    and other characters not allowed in variable names replaced by ``_``: ``Secret("my-key")`` is
    read from ``os.environ["MY_KEY"]``.

    Args:
        key: the secret's name in the store.
        group: optional group the secret belongs to, for stores that organize secrets in groups.
        mount: an absolute directory to place the secret under as a file, instead of an env var.
        as_env_var: the environment variable to expose the secret as; must match ``[A-Z_][A-Z0-9_]*``
            (upper case, as in the reference SDK).
    """

    key: str
    group: Optional[str] = None
    mount: Optional[pathlib.Path] = None
    as_env_var: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise ValueError(f"Secret key: expected a non-empty string naming the secret, got {self.key!r}")
        if self.group is not None and (not isinstance(self.group, str) or not self.group.strip()):
            raise ValueError(f"Secret group: expected a non-empty string or None, got {self.group!r}")
        if self.mount is not None:
            if not isinstance(self.mount, (str, pathlib.PurePath)):
                raise TypeError(f"Secret mount: expected an absolute path (str or Path), got {self.mount!r}")
            mount = pathlib.Path(self.mount)
            if not mount.is_absolute():
                raise ValueError(
                    f"Secret mount: {str(self.mount)!r} is not an absolute path; use e.g. "
                    "'/etc/flyte/secrets'"
                )
            object.__setattr__(self, "mount", mount)
        if self.as_env_var is not None:
            if not isinstance(self.as_env_var, str) or not _ENV_NAME.match(self.as_env_var):
                hint = ""
                if isinstance(self.as_env_var, str) and _ENV_NAME.match(self.as_env_var.upper()):
                    hint = f"; did you mean {self.as_env_var.upper()!r}?"
                raise ValueError(
                    f"Secret {self.key!r} as_env_var: {self.as_env_var!r} is not a valid environment "
                    "variable name; it must match [A-Z_][A-Z0-9_]* (upper-case letters, digits and '_', "
                    f"not starting with a digit){hint}"
                )
        elif self.mount is None:
            object.__setattr__(self, "as_env_var", _default_env_name(self.key, self.group))

    def stable_hash(self) -> str:
        """A hex digest of the secret's fields that is the same in every process and run."""
        import hashlib

        parts = (self.key, self.group or "", str(self.mount) if self.mount else "", self.as_env_var or "")
        return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()

    def __hash__(self) -> int:
        return int(self.stable_hash()[:16], 16)


SecretRequest = Union[str, Secret, list[Union[str, Secret]]]


def secrets_from_request(
    value: Union[SecretRequest, tuple[Union[str, Secret], ...], None],
) -> tuple[Secret, ...]:
    """Normalize a ``secrets=`` argument (a key, a Secret, a list/tuple of those, or None) to a tuple.

    Raises:
        TypeError: an item is neither a string nor a :class:`Secret`.
        ValueError: two secrets would be exposed under the same environment variable.
    """
    if value is None:
        return ()
    items = [value] if isinstance(value, (str, Secret)) else value
    if not isinstance(items, (list, tuple)):
        raise TypeError(
            "secrets: expected a secret key, a flyte.Secret, or a list of those, got "
            f"{type(value).__name__}: {value!r}"
        )
    result: list[Secret] = []
    seen_env: dict[str, str] = {}
    for item in items:
        if isinstance(item, str):
            secret = Secret(key=item)
        elif isinstance(item, Secret):
            secret = item
        else:
            raise TypeError(f"secrets: each item must be a secret key (str) or a flyte.Secret, got {item!r}")
        if secret.as_env_var is not None:
            other = seen_env.get(secret.as_env_var)
            if other is not None and other != secret.key:
                raise ValueError(
                    f"secrets: {other!r} and {secret.key!r} would both be exposed as ${secret.as_env_var}; "
                    "give one of them a different as_env_var"
                )
            seen_env[secret.as_env_var] = secret.key
        if secret not in result:
            result.append(secret)
    return tuple(result)
