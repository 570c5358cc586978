"""``flyte.remote.Artifact``: artifacts that runs published (``flyte.artifacts.new``), looked up by
name, version, partition, producing run or attributes, with their metadata and their value.

Locally they are read from this machine's run store; after ``flyte.init(endpoint=...)`` from the
control plane (``POST /api/v1/artifacts/search``). Both run the same query
(``flyte.artifacts._search``). Calls block; each has an ``.aio`` twin, as in the reference.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Literal

from flyte._initialize import get_init_config
from flyte._syncify import syncify, syncify_classmethod
from flyte.artifacts._card import Card
from flyte.artifacts._metadata import KIND_KEY, Kind
from flyte.artifacts._search import Query, attr_filters, search, selection, utc_seconds, value_of


class _listing:
    """A classmethod listing artifacts: the call returns an iterator, ``.aio`` an async one."""

    def __init__(self, fn: Callable[..., list[Any]]):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, cls: type) -> Any:
        fn = self.fn

        def sync(*args: Any, **kwargs: Any) -> Iterator[Any]:
            return iter(fn(cls, *args, **kwargs))

        async def aio(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            for item in await asyncio.to_thread(fn, cls, *args, **kwargs):
                yield item

        functools.update_wrapper(sync, fn)
        sync.aio = aio  # type: ignore[attr-defined]
        return sync


def _find(query: Query) -> list[dict[str, Any]]:
    """Records matching ``query``: from the control plane when one is configured, else locally."""
    if get_init_config().is_remote:
        from flyte.remote._task import _client

        return list(_client().call("POST", "/api/v1/artifacts/search", json=query.to_json()) or [])
    from flyte._internal.run_config import flyte_home
    from flyte._internal.store import open_store

    return search(open_store(flyte_home()), query)


def _outputs(run_name: str, action_name: str) -> bytes | None:
    """The encoded outputs of the producing action."""
    if get_init_config().is_remote:
        from flyte._internal.controllers._wire import b64d, q
        from flyte.remote._task import _client

        io = _client().call("GET", f"/api/v1/runs/{q(run_name)}/actions/{q(action_name)}/io") or {}
        return b64d(io.get("outputs_b64"))
    from flyte._internal.run_config import flyte_home
    from flyte._internal.store import open_store

    return open_store(flyte_home()).action_io(run_name, action_name)[1]


def _not_found(name: str, detail: str) -> Exception:
    from flyte.errors import ActionNotFoundError

    return ActionNotFoundError(f"No artifact '{name}'{detail} is recorded")


@dataclass(frozen=True)
class Artifact:
    """One published artifact version: its identity, where it came from and its value."""

    record: dict[str, Any]
    """Everything recorded about it (JSON), as the store and the server keep it."""

    name = property(lambda self: self.record["name"])
    version = property(lambda self: self.record["version"])
    description = property(lambda self: self.record.get("description"))
    run_name = property(lambda self: self.record["run_name"])
    """The run that produced it."""
    action_name = property(lambda self: self.record["action_name"])
    """The action (of ``run_name``) that produced it."""
    task_name = property(lambda self: self.record["task_name"])
    output = property(lambda self: self.record["output"])
    """The output of the producing task it is (``o0``...)."""
    parents = property(lambda self: tuple(self.record.get("parents") or ()))

    @property
    def attrs(self) -> dict[str, str]:
        """The free-form key/value metadata (the kind under ``flyte.io/kind``)."""
        return dict(self.record.get("attrs") or {})

    @property
    def kind(self) -> Kind:
        """ "model", "data" or "generic" (never None)."""
        declared = self.attrs.get(KIND_KEY)
        if declared in ("model", "data", "generic"):
            return declared  # type: ignore[return-value]
        card = self.card
        return card.card_type if card is not None else "generic"

    @property
    def card(self) -> Card | None:
        data = self.record.get("card")
        return Card(**data) if data else None

    @property
    def partitions(self) -> dict[str, Any]:
        """Partition values by key: a ``date`` for a daily time partition, a UTC ``datetime`` for an
        hourly one, strings otherwise."""
        time_key, grain = (self.record.get("time_partition") or (None, None))[:2]
        out: dict[str, Any] = {}
        for key, text in (self.record.get("partitions") or {}).items():
            if key == time_key:
                moment = datetime.fromisoformat(text)
                out[key] = (
                    moment.replace(tzinfo=moment.tzinfo or timezone.utc) if grain == "hour" else moment.date()
                )
            else:
                out[key] = text
        return out

    @property
    def created_at(self) -> datetime | None:
        stamp = self.record.get("created_at")
        return None if stamp is None else datetime.fromtimestamp(stamp, tz=timezone.utc)

    @property
    def tracker(self) -> str:
        """Its id as a tracking string: ``project/domain/name@version``."""
        project, domain = self.record.get("project") or "", self.record.get("domain") or ""
        return f"{project}/{domain}/{self.name}@{self.version}"

    @property
    def source(self) -> str:
        """Where it came from: ``run <run>/<action>``."""
        return f"run {self.run_name}/{self.action_name}"

    @property
    def created_by(self) -> str:
        return ""

    @property
    def source_run_url(self) -> str | None:
        """The console page of the producing run (None for a local run)."""
        endpoint = get_init_config().endpoint
        return f"{endpoint.rstrip('/')}/runs/{self.run_name}" if endpoint else None

    @property
    def source_action_url(self) -> str | None:
        base = self.source_run_url
        return f"{base}/actions/{self.action_name}" if base else None

    @property
    def url(self) -> str | None:
        return self.source_action_url

    async def to_python(self, python_type: Any = None) -> Any:
        """Its value: the File, Dir or DataFrame the task returned (or as ``python_type``)."""
        outputs = await asyncio.to_thread(_outputs, self.run_name, self.action_name)
        return value_of(outputs, self.record, python_type)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.record)

    def to_json(self) -> str:
        import json

        return json.dumps(self.record, default=str)

    def __repr__(self) -> str:
        return f"Artifact(name={self.name!r}, version={self.version!r}, source={self.source!r})"

    @syncify_classmethod
    async def get(
        cls: type[Artifact],
        name: str,
        version: str | Literal["latest"] = "latest",
        *,
        project: str | None = None,
        domain: str | None = None,
        partitions: Mapping[str, Any] | None = None,
        **partition_kwargs: Any,
    ) -> Artifact:
        """The artifact ``name`` at ``version`` (the newest one with "latest"), or the newest
        version of one partition (``Artifact.get("events", date=day, region="us")``).

        Raises ``ValueError`` for a version together with partitions, or a range or list (use
        ``listall``); ``flyte.errors.ActionNotFoundError`` when nothing matches.
        """
        wanted = {**(partitions or {}), **partition_kwargs}
        for key, value in wanted.items():
            if isinstance(value, (list, tuple, set, frozenset)):
                raise ValueError(
                    f"Artifact.get selects one partition, but {key!r} is a range or list ({value!r}); "
                    "use Artifact.listall(name, latest_per_partition=True, ...) for several"
                )
        if wanted and version != "latest":
            raise ValueError("Artifact.get takes either a version or partition values, not both")
        query = Query(
            name=name,
            version=None if version == "latest" else version,
            partitions=selection(wanted),
            project=project,
            domain=domain,
            limit=1,
        )
        found = await asyncio.to_thread(_find, query)
        if not found:
            detail = "" if version == "latest" else f" version '{version}'"
            detail += "".join(f" {k}={_text(v)}" for k, v in wanted.items())
            raise _not_found(name, detail)
        return cls(found[0])

    @_listing
    def listall(
        cls: type[Artifact],
        name: str | None = None,
        created_after: datetime | None = None,
        limit: int = -1,
        *,
        project: str | None = None,
        domain: str | None = None,
        source_run: str | None = None,
        source_action: str | None = None,
        source_external_ref: str | None = None,
        kind: Kind | None = None,
        attrs: Mapping[str, str | Sequence[str]] | None = None,
        latest_per_partition: bool = False,
        partitions: Mapping[str, Any] | None = None,
        **partition_kwargs: Any,
    ) -> list[Artifact]:
        """Artifacts, newest first: every version of ``name``, those a run or action produced, of a
        kind, with attrs (a value or any of several), in a partition selection (one value, a list
        of values, or a ``(start, end)`` time range); ``latest_per_partition`` keeps the newest
        version of each partition (needs a name). ``limit=-1`` means no limit.
        """
        if latest_per_partition and name is None:
            raise ValueError("latest_per_partition requires an artifact name")
        if source_external_ref is not None:
            return []  # nothing here is imported from an external system
        query = Query(
            name=name,
            created_after=utc_seconds(created_after),
            source_run=source_run,
            source_action=source_action,
            kind=kind,
            attrs=attr_filters(attrs),
            partitions=selection({**(partitions or {}), **partition_kwargs}),
            project=project,
            domain=domain,
            latest_per_partition=latest_per_partition,
            limit=limit,
        )
        return [cls(r) for r in _find(query)]

    @_listing
    def list_names(
        cls: type[Artifact],
        search: str | None = None,
        limit: int = -1,
        *,
        project: str | None = None,
        domain: str | None = None,
    ) -> list[ArtifactGroup]:
        """Distinct artifact names (those containing ``search``), newest activity first, each with
        its latest version and its number of versions."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for record in _find(Query(search=search, project=project, domain=domain)):
            groups.setdefault(record["name"], []).append(record)
        found = [ArtifactGroup(name, cls(records[0]), len(records)) for name, records in groups.items()]
        return found if limit < 0 else found[:limit]

    @syncify_classmethod
    async def partition_values(
        cls: type[Artifact],
        name: str,
        key: str,
        *,
        project: str | None = None,
        domain: str | None = None,
        limit: int = 1000,
        partitions: Mapping[str, Any] | None = None,
        **fixed: Any,
    ) -> list[Any]:
        """The distinct values of partition ``key`` among the versions of ``name`` (scoped by the
        other keys given), sorted ascending."""
        query = Query(
            name=name, partitions=selection({**(partitions or {}), **fixed}), project=project, domain=domain
        )
        found = await asyncio.to_thread(_find, query)
        values = {cls(r).partitions[key] for r in found if key in (r.get("partitions") or {})}
        return sorted(values)[:limit]

    @syncify_classmethod
    async def create(cls: type[Artifact], value: Any, **kwargs: Any) -> Artifact:
        """Publishing from outside a task needs the platform's artifact service."""
        raise NotImplementedError(
            "Artifact.create needs the platform's artifact service, which flyte-engine does not provide; "
            "return flyte.artifacts.new(value, Metadata(...)) from a task instead"
        )

    @syncify
    async def delete(self) -> None:
        """Delete this artifact from the remote system (not implemented, as in the reference)."""
        raise NotImplementedError("Artifact deletion not yet implemented.")


@dataclass(frozen=True)
class ArtifactGroup:
    """One distinct artifact name: its latest version and how many versions it has."""

    name: str
    latest: Artifact
    versions: int


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)
