"""The single HTML page a report is rendered into: a row of tab buttons and one panel per tab."""

from __future__ import annotations

import html

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; }}
  nav {{ display: flex; gap: 0.25rem; padding: 0.5rem 1rem 0; border-bottom: 1px solid #d0d7de;
        background: #f6f8fa; }}
  nav button {{ border: 1px solid transparent; border-bottom: none; background: none; padding: 0.45rem 0.9rem;
               cursor: pointer; font: inherit; border-radius: 6px 6px 0 0; }}
  nav button[aria-selected="true"] {{ background: #fff; border-color: #d0d7de; margin-bottom: -1px; }}
  section {{ padding: 1rem; }}
  section[hidden] {{ display: none; }}
</style>
</head>
<body>
<nav role="tablist">{buttons}</nav>
{panels}
<script>
  function flyteShowTab(index) {{
    document.querySelectorAll("nav button").forEach(function (b, i) {{
      b.setAttribute("aria-selected", i === index ? "true" : "false");
    }});
    document.querySelectorAll("section").forEach(function (s, i) {{ s.hidden = i !== index; }});
  }}
  flyteShowTab(0);
</script>
</body>
</html>
"""


def render_page(title: str, tabs: list[tuple[str, str]]) -> str:
    """A complete HTML document for ``(tab name, tab HTML)`` pairs; the first tab is shown.

    Tab names are escaped; tab content is inserted as given (it is the task's own HTML).
    """
    buttons = "".join(
        f'<button role="tab" onclick="flyteShowTab({i})">{html.escape(name)}</button>'
        for i, (name, _) in enumerate(tabs)
    )
    panels = "\n".join(
        f'<section role="tabpanel" data-tab="{html.escape(name, quote=True)}">{body}</section>'
        for name, body in tabs
    )
    return _PAGE.format(title=html.escape(title), buttons=buttons, panels=panels)
