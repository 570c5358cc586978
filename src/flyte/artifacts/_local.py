"""Artifacts of local runs: taken out of a task's outputs when they are encoded, read back from
the run store.

An artifact travels with its action's encoded outputs, under :data:`ARTIFACTS_KEY`: wherever the
outputs go (the run store, the cache, a worker process's reply, the control plane) the record of
what they published goes too, and a cache hit or a recovered action publishes the same artifacts
again. The engine's output decoders drop the entry, so tasks and ``Run.outputs()`` never see it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flyte.artifacts._card import Card
from flyte.artifacts._wrapper import ARTIFACTS_KEY, ArtifactWrapper

if TYPE_CHECKING:
    from flyte._task import TaskTemplate


def take_artifacts(task: TaskTemplate, outputs: dict[str, Any]) -> dict[str, Any]:
    """``outputs`` with every wrapped value unwrapped and their metadata under ARTIFACTS_KEY."""
    plain: dict[str, Any] = {}
    records: dict[str, dict[str, Any]] = {}
    for name, value in outputs.items():
        if type(value) is not ArtifactWrapper:
            plain[name] = value
            continue
        inner = object.__getattribute__(value, "_obj")
        metadata = object.__getattribute__(value, "_flyte_metadata")
        plain[name] = inner
        record = metadata.to_record()
        if record["version"] is None and metadata.version_from_content:
            from flyte.types import TypeEngine

            encoded = TypeEngine.encode_values({name: inner}, {name: task.interface.outputs.get(name, Any)})
            record["version"] = hashlib.blake2b(encoded, digest_size=16).hexdigest()
        record["type"] = _kind_of_value(inner)
        records[name] = record
    plain[ARTIFACTS_KEY] = records
    return plain


@dataclass(frozen=True)
class ProducedArtifact:
    """An artifact a local run produced: its identity, where it came from, and its value."""

    name: str
    version: str
    run_name: str
    action_name: str
    task_name: str
    output: str
    created_at: float | None
    description: str | None
    attrs: dict[str, str]
    partitions: dict[str, str]
    parents: tuple[str, ...]
    card: Card | None
    value: Any
    """The output's value (a File, Dir or DataFrame); its raw stored form when its type cannot be
    rebuilt here."""

    @property
    def kind(self) -> str:
        """ "model", "data" or "generic"."""
        from flyte.artifacts._metadata import KIND_KEY

        return self.attrs.get(KIND_KEY) or "generic"


def _kind_of_value(value: Any) -> str | None:
    from flyte.io import DataFrame, Dir, File

    for cls in (File, Dir, DataFrame):
        if isinstance(value, cls):
            return cls.__name__
    return None


def _typed(outputs: bytes, produced: dict[str, Any]) -> dict[str, Any]:
    """The produced outputs decoded as the File/Dir/DataFrame they were (raw when that fails)."""
    from flyte.io import DataFrame, Dir, File
    from flyte.types import TypeEngine

    classes = {"File": File, "Dir": Dir, "DataFrame": DataFrame}
    types = {o: classes[r["type"]] for o, r in produced.items() if r.get("type") in classes}
    try:
        return TypeEngine.decode_values(outputs, types)
    except Exception:
        return TypeEngine.decode_values(outputs, {})


def _from_action(run_name: str, action: Any, outputs: bytes | None) -> list[ProducedArtifact]:
    if not outputs:
        return []
    from flyte.types import TypeEngine

    produced = TypeEngine.decode_values(outputs, {}).get(ARTIFACTS_KEY) or {}
    if not produced:
        return []
    values = _typed(outputs, produced)
    found = []
    for output, record in produced.items():
        card = record.get("card")
        found.append(
            ProducedArtifact(
                name=record["name"],
                version=record.get("version") or f"{run_name}/{action.name}",
                run_name=run_name,
                action_name=action.name,
                task_name=action.task_name,
                output=output,
                created_at=action.ended_at,
                description=record.get("description"),
                attrs=dict(record.get("attrs") or {}),
                partitions=dict(record.get("partitions") or {}),
                parents=tuple(record.get("parents") or ()),
                card=Card(**card) if card else None,
                value=values.get(output),
            )
        )
    return found


def _store() -> Any:
    from flyte._internal.run_config import flyte_home
    from flyte._internal.store import open_store

    return open_store(flyte_home())


def _of_run(store: Any, run_name: str) -> Iterator[ProducedArtifact]:
    for action in store.list_actions(run_name):
        if action.phase.value == "succeeded":
            yield from _from_action(run_name, action, store.action_io(run_name, action.name)[1])


def produced_by(run_name: Any) -> list[ProducedArtifact]:
    """The artifacts that run ``run_name`` produced (from this machine's run store), in action order.

    ``run_name`` is a run's name or the run itself (what ``flyte.run`` returned). Raises
    ``flyte.errors.ActionNotFoundError`` when there is no such run.
    """
    if not isinstance(run_name, str):
        name = getattr(run_name, "name", None)
        if not isinstance(name, str):
            raise TypeError(
                f"flyte.artifacts.produced_by: expected a run or a run name, got {type(run_name).__name__}"
            )
        run_name = name
    store = _store()
    if store.get_run(run_name) is None:
        from flyte._internal.run_config import flyte_home
        from flyte.errors import ActionNotFoundError

        raise ActionNotFoundError(f"No run named '{run_name}' in {flyte_home()}")
    return list(_of_run(store, run_name))


def find(name: str, version: str | None = None, **partitions: Any) -> ProducedArtifact:
    """The newest recorded artifact called ``name`` (with that ``version`` and partition values).

    Searches the most recent 1000 local runs; raises ``LookupError`` when none matches.
    """
    from flyte.artifacts._metadata import _partition_text

    wanted = {k: _partition_text(k, v)[0] for k, v in partitions.items()}
    store = _store()
    best: ProducedArtifact | None = None
    for run in store.list_runs(limit=1000):
        for artifact in _of_run(store, run.name):
            if artifact.name != name or (version is not None and artifact.version != version):
                continue
            if any(artifact.partitions.get(k) != v for k, v in wanted.items()):
                continue
            if best is None or (artifact.created_at or 0) > (best.created_at or 0):
                best = artifact
    if best is None:
        what = f"'{name}'" + (f" version '{version}'" if version else "")
        what += f" with partitions {wanted}" if wanted else ""
        raise LookupError(f"No artifact {what} is recorded in the local runs")
    return best
