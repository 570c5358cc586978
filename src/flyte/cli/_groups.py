"""The verb groups of the ``flyte`` command (``create``, ``get``, ``delete``).

Each resource module registers its subcommands onto these groups when imported
(``flyte.cli._secrets`` adds ``secret`` to all three), so ``main.py`` adds each group once.
"""

from __future__ import annotations

import click


@click.group(name="create")
def create() -> None:
    """Create resources, such as secrets in the local secret store."""


@click.group(name="get")
def get() -> None:
    """Show resources, such as the secrets in the local secret store (names only, never values)."""


@click.group(name="delete")
def delete() -> None:
    """Delete resources, such as secrets from the local secret store."""
