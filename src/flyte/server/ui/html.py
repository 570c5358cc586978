"""The console's HTML building blocks: escaping, the page layout, phases, times and values.

Pages are rendered on the server from plain Python strings; every piece of data goes through
:func:`esc` (or :func:`attr`) before it meets markup, so a run name, a log line or an error
message can never become HTML. Nothing here reads a store.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from flyte._internal.durations import format_duration
from flyte.models import ActionPhase
from flyte.server.ui.reader import ref_kind

STATIC = "/ui/static"
ASSET_VERSION = hashlib.sha256(
    b"".join((Path(__file__).parent / "static" / name).read_bytes() for name in ("console.css", "console.js"))
).hexdigest()[:12]
"""Changes with the static files, so that a browser never keeps an old console.js."""


def esc(value: object) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def attr(**values: object) -> str:
    """``name="value"`` pairs, escaped; ``data_x`` becomes ``data-x``; None values are left out."""
    return " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in values.items() if v is not None
    )


def q(part: str) -> str:
    """A path segment, percent-encoded."""
    return quote(part, safe="")


def run_url(run: str) -> str:
    return f"/runs/{q(run)}"


def action_url(run: str, action: str) -> str:
    return f"/runs/{q(run)}/actions/{q(action)}"


def with_query(path: str, **params: object) -> str:
    items = [(k, str(v)) for k, v in params.items() if v not in (None, "", ())]
    return f"{path}?{urlencode(items)}" if items else path


def phase_badge(phase: ActionPhase | str) -> str:
    value = phase.value if isinstance(phase, ActionPhase) else str(phase)
    return f'<span class="phase phase-{esc(value)}" data-phase="{esc(value)}">{esc(value.replace("_", " "))}</span>'


def timestamp(at: float | None) -> str:
    """A ``<time>`` element: UTC on the server, turned into the viewer's local time by console.js."""
    if at is None:
        return '<span class="muted">-</span>'
    when = datetime.fromtimestamp(at, tz=timezone.utc)
    shown = when.strftime("%Y-%m-%d %H:%M:%S") + "Z"
    return f'<time datetime="{when.isoformat()}" data-ts="{at!r}">{shown}</time>'


def duration(seconds: float | None) -> str:
    """``420ms``, ``12.3s``, ``4m05s``, ``2h03m``; ``-`` when unknown."""
    return format_duration(seconds, millis=True)


def error_text(error_type: str | None, message: str | None) -> str:
    if not error_type and not message:
        return ""
    if error_type and message and not message.startswith(f"{error_type}:"):
        return f"{error_type}: {message}"
    return message or error_type or ""


def first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def layout(
    title: str,
    body: str,
    *,
    csrf: str = "",
    signed_in: bool = False,
    source_label: str = "",
    nav: Sequence[tuple[str, str]] = (),
) -> str:
    """The whole page around ``body``: header with navigation (Runs, then ``nav``'s (label, path)
    pages), the CSRF token for console.js."""
    sign_out = (
        f'<form method="post" action="/signout" class="signout">{csrf_field(csrf)}'
        '<button type="submit" class="link">Sign out</button></form>'
        if signed_in
        else ""
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{esc(csrf)}">
<title>{esc(title)} · Flyte console</title>
<link rel="stylesheet" href="{STATIC}/console.css?v={ASSET_VERSION}">
<script src="{STATIC}/console.js?v={ASSET_VERSION}" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/">Flyte console</a>
  <nav><a href="/runs">Runs</a>{"".join(f'<a href="{esc(path)}">{esc(label)}</a>' for label, path in nav)}</nav>
  <span class="source muted">{esc(source_label)}</span>
  {sign_out}
</header>
<main>
{body}
</main>
</body>
</html>"""


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(token)}">'


def button_form(action: str, label: str, csrf: str, confirm: str, extra: dict[str, str] | None = None,
                kind: str = "") -> str:  # fmt: skip
    """A POST button that asks ``confirm`` first (console.js; without JS the form posts directly)."""
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in (extra or {}).items()
    )
    return (
        f'<form method="post" action="{esc(action)}" class="inline" {attr(data_confirm=confirm)}>'
        f'{csrf_field(csrf)}{hidden}<button type="submit" class="btn {esc(kind)}">{esc(label)}</button></form>'
    )


# -- values by type --------------------------------------------------------------------------------


def render_values(values: dict[str, Any] | None, blob_link: Any, empty: str = "none") -> str:
    """Named values as a table: scalars inline, structured values as JSON, files as links.

    ``blob_link(path)`` is the URL that serves a File, Dir or DataFrame of this action.
    """
    if not values:
        return f'<p class="muted">{esc(empty)}</p>'
    rows = "".join(
        f'<tr><th scope="row">{esc(name)}</th><td>{render_value(value, blob_link)}</td></tr>'
        for name, value in values.items()
    )
    return f'<table class="values">{rows}</table>'


def render_value(value: Any, blob_link: Any) -> str:
    if value is None:
        return '<code class="scalar null">None</code>'
    if isinstance(value, bool):
        return f'<code class="scalar bool">{value}</code>'
    if isinstance(value, (int, float)):
        return f'<code class="scalar number">{esc(value)}</code>'
    if isinstance(value, str):
        return f'<code class="scalar string">{esc(value)}</code>'
    if isinstance(value, dict):
        kind = ref_kind(value)
        if kind is not None:
            path = str(value.get("path") or value.get("uri"))
            label = "DataFrame" if kind == "dataframe" else "File/Dir"
            name = value.get("name") or path.rstrip("/").rsplit("/", 1)[-1]
            fmt = f' <span class="muted">{esc(value.get("format"))}</span>' if value.get("format") else ""
            return (
                f'<span class="ref"><span class="kind">{label}</span> '
                f'<a href="{esc(blob_link(path))}">{esc(name)}</a>{fmt}'
                f'<br><code class="muted small">{esc(path)}</code></span>'
            )
    if isinstance(value, list) and value and all(isinstance(v, dict) and ref_kind(v) for v in value[:50]):
        return (
            "<ul class='refs'>"
            + "".join(f"<li>{render_value(v, blob_link)}</li>" for v in value[:200])
            + "</ul>"
        )
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if len(text) > 20000:
        text = text[:20000] + "\n… (truncated)"
    return f'<pre class="json">{esc(text)}</pre>'
