"""Task inputs and outputs <-> encoded bytes, with errors that name the task and the parameter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flyte.artifacts._wrapper import ARTIFACTS_KEY, ArtifactWrapper
from flyte.errors import InlineIOMaxBytesBreached, RuntimeDataValidationError
from flyte.types import TypeTransformerFailedError
from flyte.types._engine import decode_values, encode_values_spliced
from flyte.types._wire import Encoded, whole

if TYPE_CHECKING:
    from flyte._task import TaskTemplate


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.2f} MiB"


def _check_size(task: TaskTemplate, data: Encoded, what: str) -> Encoded:
    if len(data) > task.max_inline_io_bytes:
        raise InlineIOMaxBytesBreached(
            f"Task '{task.name}': its {what} take {_mib(len(data))} encoded, above its max_inline_io_bytes "
            f"of {_mib(task.max_inline_io_bytes)}. Pass large data as flyte.io.File, Dir or DataFrame, "
            f"or raise the limit with @env.task(max_inline_io_bytes=...)."
        )
    return data


def encode_inputs(task: TaskTemplate, bound: dict[str, Any]) -> bytes:
    return whole(encode_inputs_spliced(task, bound))


def encode_inputs_spliced(task: TaskTemplate, bound: dict[str, Any]) -> Encoded:
    """:func:`encode_inputs`, with large ``bytes`` values left spliced (for use in this process)."""
    try:
        data = encode_values_spliced(bound, task.interface.input_types)
    except TypeTransformerFailedError as e:
        raise RuntimeDataValidationError(getattr(e, "name", "?"), e, task.name) from None
    return _check_size(task, data, "inputs")


def decode_inputs(task: TaskTemplate, data: Encoded) -> dict[str, Any]:
    try:
        return decode_values(data, task.interface.input_types)
    except TypeTransformerFailedError as e:
        raise RuntimeDataValidationError(getattr(e, "name", "?"), e, task.name) from None


def encode_outputs(task: TaskTemplate, value: Any) -> bytes:
    return whole(encode_outputs_spliced(task, value))


def encode_outputs_spliced(task: TaskTemplate, value: Any) -> Encoded:
    """:func:`encode_outputs`, with large ``bytes`` values left spliced (for use in this process)."""
    outputs = task.interface.outputs_as_dict(value, task.name)
    if ArtifactWrapper in map(type, outputs.values()):  # flyte.artifacts.new(...) outputs
        from flyte.artifacts._local import take_artifacts

        outputs = take_artifacts(task, outputs)
    try:
        data = encode_values_spliced(outputs, task.interface.outputs)
    except TypeTransformerFailedError as e:
        name = getattr(e, "name", "o0")
        raise RuntimeDataValidationError(f"return value {name}", e, task.name) from None
    return _check_size(task, data, "outputs")


def decode_outputs(task: TaskTemplate, data: Encoded) -> Any:
    try:
        outputs = decode_values(data, task.interface.outputs)
    except TypeTransformerFailedError as e:
        raise RuntimeDataValidationError(f"return value {getattr(e, 'name', 'o0')}", e, task.name) from None
    outputs.pop(ARTIFACTS_KEY, None)
    return task.interface.outputs_as_value(outputs)
