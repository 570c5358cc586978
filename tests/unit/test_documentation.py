"""Docstring parsing and the Documentation value."""

from __future__ import annotations

import pytest

from flyte._documentation import Docstring, Documentation


def google(a: int, b: str) -> int:
    """Add things up.

    More detail
    on two lines.

    Args:
        a: the first value,
            continued here.
        b (str): the second value.

    Returns:
        the total.

    Raises:
        ValueError: never.
    """
    return a


def rest(a: int) -> int:
    """Double it.

    :param a: the value
    :return: twice the value
    """
    return a


def test_google_style():
    d = Docstring(callable_=google)
    assert d.short_description == "Add things up."
    assert d.long_description == "Add things up.\n\nMore detail\non two lines."
    assert d.input_descriptions == {"a": "the first value, continued here.", "b": "the second value."}
    assert d.output_descriptions == {"o0": "the total."}


def test_rest_style():
    d = Docstring(callable_=rest)
    assert d.short_description == "Double it."
    assert d.input_descriptions == {"a": "the value"}
    assert d.output_descriptions == {"o0": "twice the value"}


def test_empty():
    d = Docstring()
    assert d.short_description == "" and d.input_descriptions == {}


def test_documentation_from_callable():
    doc = Documentation.from_callable(google, source_url="https://example.com/repo")
    assert doc.short_description == "Add things up."
    assert doc.input_descriptions["b"] == "the second value."
    assert doc.source_url == "https://example.com/repo"


def test_documentation_limits_and_defaults():
    doc = Documentation(markdown="First para.\n\n" + "x" * 3000)
    assert doc.short_description == "First para."
    assert len(doc.long_description) == 2048
    assert len(Documentation(short_description="y" * 400).short_description) == 255
    with pytest.raises(TypeError, match="markdown"):
        Documentation(markdown=5)  # type: ignore[arg-type]
