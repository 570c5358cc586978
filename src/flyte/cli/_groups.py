"""The verb groups of the ``flyte`` command (``create``, ``get``, ``delete``).

Each resource module registers its subcommands onto these groups when imported
(``flyte.cli._secrets`` adds ``secret`` to all three), so ``main.py`` adds each group once.
"""

from __future__ import annotations

import click


@click.group(name="create")
def create() -> None:
    """Create resources: secrets, projects, config files, API keys.

    \b
    Examples:
      flyte create secret db_password --value s3cret
      flyte create project --id ml --name "Machine learning"
      flyte create config --devbox
    """


@click.group(name="get")
def get() -> None:
    """Show resources: runs, actions, logs, secrets (names only), projects, config, devbox.

    \b
    Examples:
      flyte get runs
      flyte get run NAME
      flyte get config
    """


@click.group(name="delete")
def delete() -> None:
    """Delete resources, such as secrets from the local secret store.

    \b
    Examples:
      flyte delete secret db_password
      flyte delete local-cache
    """
