"""Extras that need infrastructure this engine does not run (containers started by the SDK).

They can be imported and constructed, so that a module defining one still loads and its other
tasks still run; using one raises :class:`UnsupportedExtraError` naming what is missing.
"""

from __future__ import annotations

import pathlib
from typing import Any, Literal

from flyte.errors import RuntimeUserError


class UnsupportedExtraError(RuntimeUserError):
    """A ``flyte.extras`` feature was used that flyte-engine does not support."""

    def __init__(self, message: str):
        super().__init__("UnsupportedExtra", message)


class ContainerTask:
    """A task that runs a prebuilt container image with a command (the ``raw-container`` type).

    Accepted so that code defining one loads; flyte-engine does not run containers, so calling
    it (or awaiting ``.aio``) raises :class:`UnsupportedExtraError`.
    """

    MetadataFormat = Literal["JSON", "YAML", "PROTO"]

    def __init__(
        self,
        name: str,
        image: Any,
        command: list[str],
        inputs: dict[str, type] | None = None,
        arguments: list[str] | None = None,
        outputs: dict[str, type] | None = None,
        input_data_dir: str | pathlib.Path = "/var/inputs",
        output_data_dir: str | pathlib.Path = "/var/outputs",
        metadata_format: MetadataFormat = "JSON",
        local_logs: bool = True,
        **kwargs: Any,
    ):
        self.name = name
        self.image = image
        self.command = list(command)
        self.inputs = dict(inputs or {})
        self.arguments = list(arguments or [])
        self.outputs = dict(outputs or {})
        self.input_data_dir = pathlib.Path(input_data_dir)
        self.output_data_dir = pathlib.Path(output_data_dir)
        self.metadata_format = metadata_format
        self.local_logs = local_logs
        self.task_type = "raw-container"
        self.settings = kwargs

    def __repr__(self) -> str:
        return f"ContainerTask(name={self.name!r}, image={self.image!r}, command={self.command!r})"

    def _unsupported(self) -> UnsupportedExtraError:
        return UnsupportedExtraError(
            f"ContainerTask '{self.name}' cannot run: flyte-engine does not run container images "
            f"(image {self.image!r}, command {self.command!r}); write the step as a Python @env.task instead"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._unsupported()

    async def aio(self, *args: Any, **kwargs: Any) -> Any:
        raise self._unsupported()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise self._unsupported()

    def container_args(self, sctx: Any = None) -> list[str]:
        """The command line the container would run: ``command`` then ``arguments``."""
        return self.command + self.arguments
