"""Inline script metadata (PEP 723 ``# /// script`` blocks) read by ``Image.from_uv_script``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

_UV_BLOCK = re.compile(r"(?m)^# /// script\s*$\n((?:^#(?:| .*)$\n)+?)^# ///\s*$")


@dataclass(frozen=True)
class UVScriptMetadata:
    """What a script's ``# /// script`` block declares."""

    requires_python: Optional[str] = None
    dependencies: tuple[str, ...] = ()


def parse_uv_script_metadata(script: Path) -> UVScriptMetadata:
    """Read the inline metadata block (PEP 723) of ``script``.

    Raises:
        ValueError: there is no ``# /// script`` block or it is not valid TOML.
    """
    text = script.read_text(encoding="utf-8")
    match = _UV_BLOCK.search(text if text.endswith("\n") else text + "\n")
    if match is None:
        raise ValueError(
            f"Image.from_uv_script script: {str(script)!r} has no '# /// script' metadata block; "
            "start the file with '# /// script', 'dependencies = [...]', '# ///'"
        )
    body = "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in match.group(1).splitlines())
    try:
        data = _load_toml(body)
    except Exception as e:
        raise ValueError(
            f"Image.from_uv_script script: the metadata block of {str(script)!r} is not valid TOML: {e}"
        ) from e
    deps = data.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ValueError(
            f"Image.from_uv_script script: 'dependencies' in {str(script)!r} must be a list of strings"
        )
    requires = data.get("requires-python")
    return UVScriptMetadata(
        requires_python=requires if isinstance(requires, str) else None, dependencies=tuple(deps)
    )


def _load_toml(text: str) -> dict[str, Any]:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            return _load_simple_toml(text)
    return tomllib.loads(text)


def _load_simple_toml(text: str) -> dict[str, Any]:
    """Enough TOML for script metadata (``key = "str"`` and ``key = [..]``) when no TOML parser exists."""
    import ast

    data: dict[str, Any] = {}
    for match in re.finditer(r'(?ms)^([A-Za-z0-9_-]+)\s*=\s*(\[.*?\]|"[^"\n]*"|\'[^\'\n]*\')\s*$', text):
        data[match.group(1)] = ast.literal_eval(match.group(2))
    return data
