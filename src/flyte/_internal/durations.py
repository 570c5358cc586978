"""How long something took, as the CLI and the web console both print it."""

from __future__ import annotations


def format_duration(seconds: float | None, *, millis: bool = False) -> str:
    """``0.42s`` (``420ms`` with ``millis``), ``12.3s``, ``4m05s``, ``2h03m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if millis and seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if not millis and seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
