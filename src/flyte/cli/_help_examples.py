"""Examples for the ``--help`` of commands whose docstrings do not give one yet.

``add_missing_examples(main)`` appends an ``Examples:`` paragraph to each command listed here
whose help has none; a command whose own docstring gains examples keeps its own.
"""

from __future__ import annotations

import inspect

import click

EXAMPLES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("get", "run"): ("flyte get run NAME", "flyte get run NAME -of json", "flyte get run --phase failed"),
    ("get", "action"): ("flyte get action NAME", "flyte get action NAME a1 -of yaml"),
    ("get", "io"): ("flyte get io NAME", "flyte get io NAME a1 --outputs-only -of json"),
    ("get", "logs"): ("flyte get logs NAME", "flyte get logs NAME a1 --show-ts --stream stderr"),
    ("delete", "local-cache"): ("flyte delete local-cache",),
    ("abort",): ("flyte abort run NAME",),
    ("abort", "run"): ("flyte abort run NAME", 'flyte abort run NAME --reason "wrong inputs" --no-wait'),
}


def add_missing_examples(root: click.Group) -> None:
    """Give each command in :data:`EXAMPLES` an examples paragraph unless its help has one."""
    for path, lines in EXAMPLES.items():
        command: click.Command | None = root
        for name in path:
            command = command.commands.get(name) if isinstance(command, click.Group) else None
        if command is None or "Example" in (command.help or ""):
            continue
        block = "\n".join(f"  {line}" for line in lines)
        text = inspect.cleandoc(command.help or "")  # click dedents at format time: keep one margin
        command.help = f"{text}\n\n\b\nExamples:\n{block}"
