"""Argument checks shared by the ``Image`` constructors and ``with_*`` methods.

Each check names the method and parameter it guards (``what``) so a wrong call says where it went wrong.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Optional, TypeVar, Union

from flyte._secret import Secret, SecretRequest, secrets_from_request
from flyte.errors import InvalidImageNameError

Architecture = Literal["linux/amd64", "linux/arm64"]
_ARCHITECTURES: tuple[str, ...] = ("linux/amd64", "linux/arm64")
_MIN_PYTHON = (3, 10)

T = TypeVar("T")


def _ensure_tuple(value: Union[T, list[T], tuple[T, ...], None]) -> tuple[T, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def _abs(path: Union[str, Path], what: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what}: expected a path (str or Path), got {path!r}")
    text = os.fspath(path)
    if not text:
        raise ValueError(f"{what}: the path is empty")
    return Path(text).expanduser().absolute()


def _secret_mounts(value: Optional[SecretRequest], what: str) -> Optional[tuple[Secret, ...]]:
    if value is None:
        return None
    try:
        found = secrets_from_request(value)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{what} secret_mounts: {e}") from None
    return found or None


def _check_strings(values: Iterable[Any], what: str, hint: str) -> tuple[str, ...]:
    out = []
    for value in values:
        if isinstance(value, (list, tuple)):
            raise TypeError(f"{what}: got a {type(value).__name__} {value!r}; {hint}")
        if not isinstance(value, str) or not value.strip():
            raise TypeError(f"{what}: every entry must be a non-empty string, got {value!r}")
        out.append(value.strip())
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# name checks
# --------------------------------------------------------------------------------------------------

_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"^{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*$")
_REGISTRY_RE = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"
)


def _bad_name(message: str) -> InvalidImageNameError:
    return InvalidImageNameError("InvalidImageName", message)


def _check_name(name: Optional[str], what: str) -> Optional[str]:
    if name is None:
        return None
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise _bad_name(
            f"{what} name: {name!r} is not a valid image name; use lowercase letters, digits and '.', '_', "
            "'-' "
            "separators (and '/' between path parts), e.g. 'my-image'"
        )
    return name


def _check_registry(registry: Optional[str], what: str) -> Optional[str]:
    if registry is None:
        return None
    if not isinstance(registry, str):
        raise _bad_name(f"{what} registry: expected a string such as 'ghcr.io/my-org', got {registry!r}")
    cleaned = registry.strip().rstrip("/")
    if "://" in cleaned:
        raise _bad_name(
            f"{what} registry: {registry!r} must not include a scheme; write e.g. 'ghcr.io/my-org'"
        )
    if not _REGISTRY_RE.match(cleaned):
        raise _bad_name(
            f"{what} registry: {registry!r} is not a valid registry; use 'host[:port][/path]', "
            "e.g. 'ghcr.io/my-org' or 'localhost:5000'"
        )
    return cleaned


def _check_python_version(version: Any, what: str) -> tuple[int, int]:
    if (
        not isinstance(version, (tuple, list))
        or len(version) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in version)
    ):
        raise TypeError(
            f"{what} python_version: expected a (major, minor) pair such as (3, 12), got {version!r}"
        )
    pair = (int(version[0]), int(version[1]))
    if pair[0] != 3 or pair < _MIN_PYTHON:
        raise ValueError(
            f"{what} python_version: {pair!r} is not supported; use (3, 10) or newer, e.g. (3, 12)"
        )
    return pair


def _check_platform(platform: Any, what: str) -> tuple[str, ...]:
    values = _ensure_tuple(platform)
    if not values:
        raise ValueError(f"{what} platform: give at least one of {', '.join(map(repr, _ARCHITECTURES))}")
    for value in values:
        if value not in _ARCHITECTURES:
            raise ValueError(
                f"{what} platform: {value!r} is not supported; use {' or '.join(map(repr, _ARCHITECTURES))}"
            )
    return tuple(dict.fromkeys(values))


def _detect_python_version() -> tuple[int, int]:
    return sys.version_info.major, sys.version_info.minor


# --------------------------------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------------------------------


def _registry_secret(value: Optional[Union[str, Secret]], what: str) -> Optional[Secret]:
    if value is None:
        return None
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(key=value)
    raise TypeError(f"{what} registry_secret: expected a secret key or a flyte.Secret, got {value!r}")


def _opt_str(value: Optional[str], what: str, param: str) -> Optional[str]:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what} {param}: expected a string or None, got {value!r}")
    return value or None


def _pip_options(
    what: str,
    index_url: Optional[str],
    extra_index_urls: Union[str, list[str], tuple[str, ...], None],
    pre: bool,
    extra_args: Optional[str],
) -> dict[str, Any]:
    extras = _check_strings(
        _ensure_tuple(extra_index_urls), f"{what} extra_index_urls", "give a list of URLs"
    )
    return {
        "index_url": _opt_str(index_url, what, "index_url"),
        "extra_index_urls": extras or None,
        "pre": bool(pre),
        "extra_args": _opt_str(extra_args, what, "extra_args"),
    }


def _check_install_mode(mode: str, what: str) -> None:
    if mode not in ("dependencies_only", "install_project"):
        raise ValueError(
            f"{what} project_install_mode: {mode!r} is not allowed; use 'dependencies_only' or "
            "'install_project'"
        )


def _dst(dst: str, what: str) -> str:
    if not isinstance(dst, str) or not dst.strip():
        raise ValueError(
            f"{what} dst: expected a destination path in the image such as '.' or '/app', got {dst!r}"
        )
    return dst.strip()
