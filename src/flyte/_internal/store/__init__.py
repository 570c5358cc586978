"""The embedded run store (SQLite) and what the local controller builds on it."""

from flyte._internal.store.cache import TaskCache
from flyte._internal.store.recorder import StoreRecorder
from flyte._internal.store.records import ActionRecord, LogRecord, PhaseEvent, RunRecord, TraceRecord
from flyte._internal.store.replay import Replay
from flyte._internal.store.sqlite import RunStore, open_store, store_for_url

__all__ = [
    "ActionRecord",
    "LogRecord",
    "PhaseEvent",
    "Replay",
    "RunRecord",
    "RunStore",
    "StoreRecorder",
    "TaskCache",
    "TraceRecord",
    "open_store",
    "store_for_url",
]
