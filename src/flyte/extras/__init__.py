"""Optional building blocks for specialised workflows.

- :class:`Sleep` / :class:`SleepTask`: tasks that only wait for a ``timedelta`` input;
- :class:`DynamicBatcher` / :class:`TokenBatcher` (with :class:`BatchStats`, :class:`Prompt`,
  :class:`CostEstimator`, :class:`TokenEstimator`): batch work from many concurrent producers
  through one async function, for example model inference inside a reusable environment
  (``GPUSaturator`` is the reference's earlier name of ``TokenBatcher``);
- ``durable_sleep`` / ``durable_time``: older names of ``flyte.durable.sleep`` / ``time``;
- :class:`ContainerTask`: accepted, but running it raises :class:`UnsupportedExtraError`
  (flyte-engine does not run container images).
"""

from flyte.durable import sleep as durable_sleep
from flyte.durable import time as durable_time
from flyte.extras._batching import (
    BatchStats,
    CostEstimator,
    DynamicBatcher,
    Prompt,
    TokenBatcher,
    TokenEstimator,
)
from flyte.extras._sleep import Sleep, SleepTask
from flyte.extras._unsupported import ContainerTask, UnsupportedExtraError

GPUSaturator = TokenBatcher

__all__ = [
    "BatchStats",
    "ContainerTask",
    "CostEstimator",
    "DynamicBatcher",
    "GPUSaturator",
    "Prompt",
    "Sleep",
    "SleepTask",
    "TokenBatcher",
    "TokenEstimator",
    "UnsupportedExtraError",
    "durable_sleep",
    "durable_time",
]
