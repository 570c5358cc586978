"""The one error the type engine raises for a value that does not fit its type."""

from __future__ import annotations

import reprlib
from typing import Any

_NO_VALUE: Any = object()

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlong = 60
_short.maxlevel = 2


def short_repr(value: Any) -> str:
    """A repr of ``value`` cut to about 60 characters (cheap even for huge containers)."""
    try:
        text = _short.repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= 60 else text[:57] + "..."


class TypeTransformerFailedError(TypeError):
    """A value could not be converted to or from the type it was declared with.

    Attributes:
        expected: the declared type, as :meth:`TypeEngine.describe` writes it (``"list[int]"``).
        received: the name of the type actually found (``"str"``), or a short description.
        path: where inside the value the problem is: ``"[3]"``, ``".name"``, ``"['k'].x"``;
            ``""`` for the value itself.
        leaf_expected: the type wanted at ``path`` (``"int"`` for a bad element of ``list[int]``).
        name: for :meth:`TypeEngine.encode_values`, the key of the offending value; else ``None``.
    """

    def __init__(
        self,
        expected: str,
        received: str,
        path: str = "",
        value: Any = _NO_VALUE,
        *,
        detail: str = "",
    ) -> None:
        super().__init__(expected, received, path)
        self.expected = expected
        self.leaf_expected = expected
        self.received = received
        self.path = path
        self.value_repr = "" if value is _NO_VALUE or value is None else short_repr(value)
        self.detail = detail
        self.name: str | None = None

    def __str__(self) -> str:
        at = f" at {self.path}" if self.path else ""
        shown = f" ({self.value_repr})" if self.value_repr else ""
        tail = f": {self.detail}" if self.detail else ""
        return f"expected {self.expected}, got {self.received}{at}{shown}{tail}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through their args; keep every attribute instead.
        return (_rebuild, (type(self), dict(self.__dict__)))

    def prefixed(self, step: str) -> TypeTransformerFailedError:
        """Record that the failure sits below ``step`` (``"[3]"``, ``".x"``) and return self."""
        self.path = step + self.path
        return self

    def at_top(self, top_name: str) -> TypeTransformerFailedError:
        """Name the whole declared type as the expectation (the leaf stays in ``leaf_expected``)."""
        self.expected = top_name
        return self


def _rebuild(cls: type[TypeTransformerFailedError], state: dict[str, Any]) -> TypeTransformerFailedError:
    err = TypeError.__new__(cls)
    TypeError.__init__(err, state.get("expected"), state.get("received"), state.get("path"))
    err.__dict__.update(state)
    return err


def type_label(value: Any) -> str:
    """The received-type name used in messages (``None`` for None)."""
    return "None" if value is None else type(value).__name__


def mismatch(expected: str, value: Any, detail: str = "") -> TypeTransformerFailedError:
    """The usual error: ``value`` is not an ``expected``."""
    return TypeTransformerFailedError(expected, type_label(value), "", value, detail=detail)
