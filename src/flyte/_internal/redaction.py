"""Hiding secret values: every value handed to a task in this process is replaced by ``***``
wherever the engine writes text (captured logs, recorded errors, CLI output)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Optional, TypeVar

E = TypeVar("E", bound=BaseException)

MIN_REDACTED_LEN = 4


class Redactor:
    """Replaces secret values in text with ``***``.

    Values shorter than 4 characters are left alone, since hiding every ``a`` or ``42`` would garble
    output while protecting nothing. Longer values are matched longest first, so a value containing
    another is hidden whole. With no values, :meth:`redact` returns its input untouched.
    """

    MASK = "***"

    def __init__(self, values: Iterable[str] = ()):
        kept = sorted({v for v in values if isinstance(v, str) and len(v) >= MIN_REDACTED_LEN}, key=len)
        kept.reverse()
        self._pattern: Optional[re.Pattern[str]] = (
            re.compile("|".join(re.escape(v) for v in kept)) if kept else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by ``***``."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(self.MASK, text)


_known_values: set[str] = set()
_redactor = Redactor()
_known_lock = threading.Lock()


def register_secret_values(values: Iterable[str]) -> None:
    """Remember values that were given to tasks, so that :func:`redact` hides them everywhere."""
    global _redactor
    new = {v for v in values if isinstance(v, str) and len(v) >= MIN_REDACTED_LEN} - _known_values
    if not new:
        return
    with _known_lock:
        _known_values.update(new)
        _redactor = Redactor(_known_values)


def redact(text: str) -> str:
    """``text`` with every secret value known to this process replaced by ``***``."""
    return _redactor.redact(text)


def redact_error(error: E) -> E:
    """``error`` with every secret value known to this process hidden in its message (its string
    arguments are replaced in place); used where an error leaves a run for its caller."""
    if _redactor and error.args:
        error.args = tuple(_redactor.redact(a) if isinstance(a, str) else a for a in error.args)
    return error
