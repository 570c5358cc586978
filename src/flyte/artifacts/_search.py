"""Finding recorded artifacts in a run store: one query, read by ``flyte.remote.Artifact`` locally
and by the control plane's ``/api/v1/artifacts`` route, so both answer the same way.

An artifact is recorded with the outputs of the action that produced it (see ``_local``); a query
walks the most recent runs (:data:`SCAN_RUNS`), newest first, and keeps the records that match.
A query travels as JSON (:meth:`Query.to_json`): partition selections are normalised to text
before they leave the caller, so the server never sees a Python ``date``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from flyte.artifacts._metadata import KIND_KEY, TimePartition, _partition_text
from flyte.artifacts._wrapper import ARTIFACTS_KEY

SCAN_RUNS = 1000
"""How many of the most recent runs a query looks through."""


def _time_text(value: Any) -> str | None:
    """The stored text of a time value (``date``, ``datetime``, ``TimePartition`` or an ISO string)."""
    if isinstance(value, (date, datetime, TimePartition)):
        return _partition_text("", value)[0]
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed.date().isoformat() if len(value.strip()) == 10 else _partition_text("", parsed)[0]
    return None


def selection(partitions: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Partition values as the reference's ``get``/``listall`` take them, normalised to text.

    A 2-tuple of time values is an inclusive range, a list (or set) any of its values, anything
    else one value (a ``date`` daily, a ``datetime`` hourly, as :class:`Metadata` stores them).
    """
    out: dict[str, dict[str, Any]] = {}
    for key, value in partitions.items():
        if value is None:
            raise ValueError(f"Partition {key!r} is None; give a value to select by")
        if isinstance(value, tuple) and len(value) == 2 and any(_time_text(v) for v in value):
            lo, hi = (_time_text(v) for v in value)
            if lo is None or hi is None:
                raise ValueError(
                    f"Partition {key!r}: a 2-tuple is a time range and both bounds must be dates, "
                    f"datetimes or ISO strings; got {value!r}. For several string values use a list."
                )
            out[key] = {"range": [lo, hi]}
        elif isinstance(value, (list, tuple, set, frozenset)):
            out[key] = {"in": [_time_text(v) or str(v) for v in value]}
        else:
            out[key] = {"eq": _time_text(value) or str(value)}
    return out


def _sortable(text: str) -> str:
    """A stored time text comparable with another: a day reads as its midnight."""
    return text + "T00:00:00" if len(text) == 10 else text


def _partition_matches(stored: Mapping[str, str], wanted: Mapping[str, Mapping[str, Any]]) -> bool:
    for key, rule in wanted.items():
        have = stored.get(key)
        if have is None:
            return False
        if "eq" in rule and have != rule["eq"]:
            return False
        if "in" in rule and have not in rule["in"]:
            return False
        if "range" in rule:
            lo, hi = (_sortable(v) for v in rule["range"])
            if not lo <= _sortable(have) <= hi:
                return False
    return True


@dataclass
class Query:
    """What to look for; every field unset matches everything (newest first)."""

    name: str | None = None
    version: str | None = None
    created_after: float | None = None
    source_run: str | None = None
    source_action: str | None = None
    kind: str | None = None
    attrs: dict[str, list[str]] = field(default_factory=dict)
    partitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    search: str | None = None
    """A substring of the name (``list_names``)."""
    project: str | None = None
    domain: str | None = None
    latest_per_partition: bool = False
    limit: int = -1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Query:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether one artifact record (as :func:`search` returns them) is wanted."""
        if self.name is not None and record["name"] != self.name:
            return False
        if self.search and self.search not in record["name"]:
            return False
        if self.version is not None and record["version"] != self.version:
            return False
        if self.source_run is not None and record["run_name"] != self.source_run:
            return False
        if self.source_action is not None and record["action_name"] != self.source_action:
            return False
        if self.created_after is not None and (record["created_at"] or 0) <= self.created_after:
            return False
        attrs = record["attrs"]
        if self.kind is not None and (attrs.get(KIND_KEY) or "generic") != self.kind:
            return False
        if any(attrs.get(k) not in values for k, values in self.attrs.items()):
            return False
        return _partition_matches(record["partitions"], self.partitions)


def attr_filters(attrs: Mapping[str, str | Sequence[str]] | None) -> dict[str, list[str]]:
    """``{key: value or values}`` as lists (a value matches when it is any of them)."""
    return {k: [v] if isinstance(v, str) else list(v) for k, v in (attrs or {}).items()}


def utc_seconds(moment: datetime | None) -> float | None:
    """Unix seconds of ``moment`` (a naive datetime is UTC, as in the reference)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def records_of_action(run: Any, action: Any, outputs: bytes | None) -> list[dict[str, Any]]:
    """The artifacts one succeeded action recorded, as JSON-able records (no values)."""
    if not outputs:
        return []
    from flyte.types import TypeEngine

    produced = TypeEngine.decode_values(outputs, {}).get(ARTIFACTS_KEY) or {}
    labels = getattr(run, "labels", None) or {}
    return [
        {
            "name": r["name"],
            "version": r.get("version") or f"{run.name}/{action.name}",
            "run_name": run.name,
            "action_name": action.name,
            "task_name": action.task_name,
            "output": output,
            "type": r.get("type"),
            "created_at": action.ended_at,
            "description": r.get("description"),
            "attrs": dict(r.get("attrs") or {}),
            "partitions": dict(r.get("partitions") or {}),
            "time_partition": r.get("time_partition"),
            "parents": list(r.get("parents") or ()),
            "card": r.get("card"),
            "project": labels.get("project"),
            "domain": labels.get("domain"),
        }
        for output, r in produced.items()
    ]


def _candidates(store: Any, query: Query) -> Iterator[dict[str, Any]]:
    if query.source_run is not None:
        run = store.get_run(query.source_run)
        runs = [run] if run is not None else []
    else:
        labels = {k: v for k, v in (("project", query.project), ("domain", query.domain)) if v}
        runs = store.list_runs(limit=SCAN_RUNS, labels=labels or None)
    for run in runs:
        found: list[dict[str, Any]] = []
        for action in store.list_actions(run.name):
            if action.phase.value != "succeeded":
                continue
            if query.source_action is not None and action.name != query.source_action:
                continue
            found.extend(records_of_action(run, action, store.action_io(run.name, action.name)[1]))
        yield from found


def search(store: Any, query: Query) -> list[dict[str, Any]]:
    """The records matching ``query``, newest first (at most ``limit`` of them when it is >= 0)."""
    hits = [r for r in _candidates(store, query) if query.matches(r)]
    hits.sort(key=lambda r: r["created_at"] or 0, reverse=True)
    if query.latest_per_partition:
        seen: set[tuple[tuple[str, str], ...]] = set()
        newest = []
        for record in hits:
            identity = tuple(sorted(record["partitions"].items()))
            if identity not in seen:
                seen.add(identity)
                newest.append(record)
        hits = newest
    return hits if query.limit < 0 else hits[: query.limit]


def value_of(outputs: bytes | None, record: Mapping[str, Any], python_type: Any = None) -> Any:
    """The artifact's value from its action's encoded outputs: a File, Dir or DataFrame (or
    ``python_type``), rebuilt from the stored reference without downloading the data."""
    from flyte.io import DataFrame, Dir, File
    from flyte.types import TypeEngine

    output = record["output"]
    if python_type is None:
        python_type = {"File": File, "Dir": Dir, "DataFrame": DataFrame}.get(record.get("type") or "")
    types = {output: python_type} if python_type is not None else {}
    values = TypeEngine.decode_values(outputs, types) if outputs else {}
    if output not in values:
        from flyte.errors import ActionNotFoundError

        raise ActionNotFoundError(
            f"Artifact '{record['name']}' version '{record['version']}': output '{output}' of action "
            f"'{record['action_name']}' in run '{record['run_name']}' is no longer recorded"
        )
    return values[output]
