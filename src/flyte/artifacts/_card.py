"""Cards: a rendered description (HTML, Markdown, an image...) attached to an artifact."""

from __future__ import annotations

import pathlib
import shutil
import tempfile
from dataclasses import dataclass
from typing import Literal

CardType = Literal["model", "data", "generic"]
CardFormat = Literal["html", "md", "json", "yaml", "csv", "tsv", "png", "jpg", "jpeg"]


@dataclass(frozen=True, kw_only=True)
class Card:
    """Where a card's content lives (``uri``), how to render it and what it describes."""

    uri: str
    format: CardFormat = "html"
    card_type: CardType = "generic"

    @classmethod
    def create_from(
        cls,
        *,
        content: str | None = None,
        local_path: pathlib.Path | None = None,
        format: CardFormat = "html",
        card_type: CardType = "generic",
    ) -> Card:
        """A card from raw ``content`` or a file at ``local_path``, stored with the task's outputs
        (inside a task) or in a temporary directory (outside one)."""
        if not content and not local_path:
            raise ValueError("Card.create_from: give content or local_path")
        from flyte._context import current_frame

        frame = current_frame()
        inside = frame is not None and frame.tctx.output_path
        folder = pathlib.Path(frame.tctx.output_path) if inside else None  # type: ignore[union-attr]
        folder = folder or pathlib.Path(tempfile.mkdtemp(prefix="flyte-card-"))
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{card_type}.{format}"
        if content:
            target.write_text(content)
        else:
            shutil.copyfile(pathlib.Path(local_path), target)  # type: ignore[arg-type]
        return cls(uri=target.resolve().as_uri(), format=format, card_type=card_type)
