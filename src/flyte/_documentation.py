"""Human-facing documentation of a task: a short and a long description plus per-input/output notes.

The Flyte 2 SDK has no public ``flyte.Documentation`` class; it derives a task's description from
the function's docstring (internally ``flyte._docstring.Docstring``). This module is ours: a small
:class:`Documentation` value the engine and UI can show, and :class:`Docstring`, which parses
Google-style (``Args:``/``Returns:``) and reST-style (``:param x:``/``:return:``) docstrings.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["Docstring", "Documentation"]

SHORT_DESCRIPTION_LIMIT = 255
LONG_DESCRIPTION_LIMIT = 2048

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Returns|Return|Yields|Raises|Examples?|Notes?)\s*:\s*$"
)
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(r"^:param\s+(?:[^:\s]+\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$")
_REST_RETURN = re.compile(r"^:returns?\s*:\s*(.*)$")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Docstring:
    """A parsed docstring, exposing its short and long description and per-input/output descriptions.

    Args:
        docstring: the text to parse; when omitted, taken from ``callable_``.
        callable_: a function whose ``__doc__`` is parsed.
    """

    def __init__(
        self, docstring: Optional[str] = None, callable_: Optional[Callable[..., Any]] = None
    ) -> None:
        if docstring is None and callable_ is not None:
            docstring = inspect.getdoc(callable_)
        self._text = inspect.cleandoc(docstring) if docstring else ""
        self._short = ""
        self._long = ""
        self._inputs: dict[str, str] = {}
        self._outputs: dict[str, str] = {}
        self._parse()

    def _parse(self) -> None:
        lines = self._text.splitlines()
        prose: list[str] = []
        section: Optional[str] = None
        current: Optional[tuple[dict[str, str], str]] = None
        for raw in lines:
            line = raw.strip()
            header = _SECTION.match(line)
            if header and raw == raw.lstrip():
                section = header.group(1).lower()
                current = None
                continue
            rest_param = _REST_PARAM.match(line)
            rest_return = _REST_RETURN.match(line)
            if rest_param:
                self._inputs[rest_param.group(1)] = rest_param.group(2).strip()
                current = (self._inputs, rest_param.group(1))
                continue
            if rest_return:
                self._outputs["o0"] = rest_return.group(1).strip()
                current = (self._outputs, "o0")
                continue
            if section in ("args", "arguments", "parameters", "params"):
                item = _GOOGLE_ITEM.match(line)
                if item and raw.startswith((" ", "\t")) and not raw.startswith(("        ", "\t\t")):
                    name = item.group(1).lstrip("*")
                    self._inputs[name] = item.group(2).strip()
                    current = (self._inputs, name)
                elif line and current is not None:
                    target, key = current
                    target[key] = f"{target[key]} {line}".strip()
                continue
            if section in ("returns", "return", "yields"):
                if line:
                    self._outputs["o0"] = f"{self._outputs.get('o0', '')} {line}".strip()
                continue
            if section is not None:
                continue  # Raises/Examples/Notes are not part of the descriptions
            if current is not None and line:
                target, key = current
                target[key] = f"{target[key]} {line}".strip()
                continue
            prose.append(raw)
        paragraphs = "\n".join(prose).strip()
        first, _, _rest = paragraphs.partition("\n\n")
        self._short = " ".join(first.split())
        self._long = paragraphs

    @property
    def short_description(self) -> str:
        """The first paragraph, on one line."""
        return self._short

    @property
    def long_description(self) -> str:
        """All the prose (sections such as ``Args:`` removed)."""
        return self._long

    @property
    def input_descriptions(self) -> dict[str, str]:
        """Description of each documented parameter, by name."""
        return dict(self._inputs)

    @property
    def output_descriptions(self) -> dict[str, str]:
        """Description of the return value, under the output name ``"o0"``."""
        return dict(self._outputs)


@dataclass(frozen=True)
class Documentation:
    """Documentation attached to a task or environment (ours; the SDK derives it from docstrings).

    Args:
        markdown: free-form Markdown shown as the long description.
        short_description: one line; defaults to the first paragraph of ``markdown``. Cut to 255 characters.
        source_url: where the code lives (e.g. a repository link).
        input_descriptions: per-input notes by input name.
        output_descriptions: per-output notes by output name (``"o0"`` for a single return value).
    """

    markdown: Optional[str] = None
    short_description: Optional[str] = None
    source_url: Optional[str] = None
    input_descriptions: dict[str, str] = field(default_factory=dict)
    output_descriptions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("markdown", "short_description", "source_url"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"Documentation {name}: expected a string or None, got {value!r}")
        for name in ("input_descriptions", "output_descriptions"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise TypeError(f"Documentation {name}: expected a dict of names to strings, got {value!r}")
        short = self.short_description
        if short is None and self.markdown:
            short = " ".join(self.markdown.strip().split("\n\n", 1)[0].split())
        if short is not None:
            object.__setattr__(self, "short_description", _truncate(short, SHORT_DESCRIPTION_LIMIT))

    def __hash__(self) -> int:
        return hash((self.markdown, self.short_description, self.source_url))

    @property
    def long_description(self) -> str:
        """The Markdown body, cut to 2048 characters (empty when unset)."""
        return _truncate(self.markdown or "", LONG_DESCRIPTION_LIMIT)

    @classmethod
    def from_callable(cls, func: Callable[..., Any], source_url: Optional[str] = None) -> Documentation:
        """Build documentation from ``func``'s docstring (Google or reST style)."""
        doc = Docstring(callable_=func)
        return cls(
            markdown=doc.long_description or None,
            short_description=doc.short_description or None,
            source_url=source_url,
            input_descriptions=doc.input_descriptions,
            output_descriptions=doc.output_descriptions,
        )
