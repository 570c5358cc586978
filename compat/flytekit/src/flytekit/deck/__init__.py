"""flytekit's ``Deck``: HTML shown with a task, rendered here as a tab of the action's report.

A task with ``enable_deck=True`` is a report task (``flyte.report``); each ``Deck(name)`` is the
report tab of that name and ``deck.append(html)`` logs to it. Outside such a task a deck keeps its
HTML in memory only (``deck.html``), as flytekit does in local runs with decks off.
"""

from __future__ import annotations

from typing import Any


class Deck:
    """A named page of HTML for the running task."""

    def __init__(self, name: str, html: str | None = "", auto_add_to_deck: bool = True) -> None:
        self.name = name
        self._html: list[str] = []
        if html:
            self.append(html)

    def append(self, html: str) -> Deck:
        self._html.append(html)
        import flyte.report

        flyte.report.get_tab(self.name).log(html)
        return self

    @property
    def html(self) -> str:
        return "\n".join(self._html)

    def __repr__(self) -> str:
        return f"Deck({self.name!r})"


class TopFrameRenderer:
    """Renders the first rows of a pandas DataFrame as an HTML table."""

    def __init__(self, max_rows: int = 10, max_cols: int = 100) -> None:
        self.max_rows = max_rows
        self.max_cols = max_cols

    def to_html(self, df: Any) -> str:
        return str(df.head(self.max_rows).to_html(max_cols=self.max_cols))


class MarkdownRenderer:
    """Shows markdown text preformatted (no markdown library is required)."""

    def to_html(self, text: str) -> str:
        import html

        return f"<pre>{html.escape(text)}</pre>"


__all__ = ["Deck", "MarkdownRenderer", "TopFrameRenderer"]
