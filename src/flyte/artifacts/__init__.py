"""Artifacts: task outputs published under a name, version and metadata.

```python
import flyte.artifacts as artifacts
from flyte.io import File

@env.task
async def train() -> File:
    weights = await File.from_local("weights.pt")
    return artifacts.new(weights, artifacts.Metadata(name="sentiment-model", kind="model"))
```

Only offloaded data can be an artifact (File, Dir, DataFrame), returned as a top-level output.
Locally, an artifact is recorded with the action that produced it (in the run store, alongside the
action's outputs) and read back with :func:`produced_by` (every artifact of a run) or
:func:`find` (the newest version of a name); both are flyte-engine additions. A version defaults to
``<run>/<action>``.

``produces`` (caller-declared artifacts) and artifact handles (``Artifact``, ``Daily``...) need the
platform's lineage service and are not available here.
"""

from typing import Any

from flyte.artifacts._card import Card, CardFormat, CardType
from flyte.artifacts._local import ProducedArtifact, find, produced_by
from flyte.artifacts._metadata import KIND_KEY, MAX_PARENTS, Granularity, Kind, Metadata, TimePartition
from flyte.artifacts._wrapper import ArtifactLike, new


def produces(**outputs: Any) -> Any:
    """Declare the outputs of the task called next as artifacts (needs a lineage service)."""
    raise NotImplementedError(
        "flyte.artifacts.produces needs the platform's lineage service, which flyte-engine does not "
        "provide; return flyte.artifacts.new(value, Metadata(...)) from the task instead"
    )


__all__ = [
    "KIND_KEY",
    "MAX_PARENTS",
    "ArtifactLike",
    "Card",
    "CardFormat",
    "CardType",
    "Granularity",
    "Kind",
    "Metadata",
    "ProducedArtifact",
    "TimePartition",
    "find",
    "new",
    "produced_by",
    "produces",
]
