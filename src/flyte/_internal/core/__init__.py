"""The action core: the lifecycle of one action, written once for every backend.

The local controller (``flyte._internal.controllers.local``), the control plane's scheduler
(``flyte.server.scheduler``) and every executor (in-process threads, local worker processes,
devbox workers, Ray tasks) keep these rules by calling this package; they differ only in where
an attempt runs and where state is kept. The conformance suite (``tests/conformance``) runs the
same scenarios on every backend and requires the same outcomes; ``tests/unit/core`` has a test
per rule.

1. **Identity.** A child's name derives from its parent's id, the task, the digest of its encoded
   inputs, the call's sequence among identical calls of that parent, and its group
   (:func:`child_id`). Re-running the same code meets the same names: that is what replay,
   ``--recover`` and trace checkpoints rest on.
2. **Replay before cache.** When a run recovers another, an action that succeeded there under
   the same name, task and inputs is not executed again: it ends ``succeeded`` with the recorded
   outputs and cache status ``recovered``. A ``@flyte.trace`` call is replayed likewise when the
   call at the same position of the same action had the same name and inputs (:func:`replays`).
3. **Cache.** One key (:func:`cache_key`): task name, cache version, and the inputs as the cache
   sees them (files by content hash, ``ignored_inputs`` left out). A hit ends the action at once
   (``hit``); ``overwrite_cache`` skips the read (``overwritten``); ``disable_run_cache`` skips read
   and write. With ``serialize=True`` concurrent identical calls execute once; the others wait and
   take its result.
4. **Admission.** Before its first attempt an action takes its share of the executor: the CPU,
   memory and GPUs it requests (a request above the whole node is clamped to it with one warning,
   or refused under ``strict_resources``) and a slot under the run's ``max_action_concurrency``;
   a parent waiting on its children gives both back meanwhile. It waits in
   ``waiting_for_resources``; ``max_queued_time`` bounds the wait
   (:meth:`ActionPolicy.queued_too_long`): ``MaxQueuedTimeExceededError``, ``timed_out``.
5. **Attempts.** A failed attempt is retried while the error is retryable (:func:`is_retryable`),
   retries are left (``retries`` counts retries, not attempts) and the deadline has not passed; the
   delay before retry n is the task's backoff (:func:`backoff_delay`). Otherwise the action ends
   with the last attempt's error: ``timed_out`` for the timeout family, ``failed`` for the rest
   (:meth:`ActionPolicy.after_failure`).
6. **Time bounds.** ``max_runtime`` bounds one attempt, ``deadline`` the action from its creation
   across attempts and waits; both are enforced where the attempt runs (:func:`run_attempt`),
   so a sync body is stopped too, and the deadline also by whoever holds the action's state
   (a queued action past it ends ``timed_out``).
7. **Children end with their parent.** A parent is a nursery: when it ends, its unfinished
   children end ``aborted``, with a reason naming the parent and how it ended
   (:func:`children_reason`). Aborting a run aborts every action in it; aborting one action
   aborts its subtree and its parent gets ``ActionAbortedError``, which it may catch.
8. **Errors.** A user exception reaches the parent's call site and the caller of ``flyte.run`` as
   both the reference's ``RuntimeUserError`` (``code`` = its class name) and its own class;
   timeouts, aborts and system errors keep their ``flyte.errors`` types. An action records its
   error's type, message and user traceback, secrets redacted.
9. **One attempt runner.** Environment variables (the run's win over the task's), secrets (as env
   vars and files, registered for redaction, removed after), log capture, isolation in a worker
   process when a thread cannot give what the task needs, and the time limits of rule 6 are
   applied by :func:`run_attempt` for every executor. A sync child of a sync parent that needs
   none of them (nor a cache, admission or retries) runs on the parent's thread
   (:func:`run_attempt_here`), inside the parent's attempt: the parent's limits, output capture
   and abort reach it there.
"""

from flyte._internal.core.cache import cache_key, without_inputs
from flyte._internal.core.identity import child_id, replays
from flyte._internal.core.policy import (
    ActionPolicy,
    End,
    Overdue,
    Retry,
    backoff_delay,
    children_reason,
    is_retryable,
    is_timeout,
)

__all__ = [
    "ActionPolicy",
    "End",
    "Overdue",
    "Retry",
    "backoff_delay",
    "cache_key",
    "child_id",
    "children_reason",
    "is_retryable",
    "is_timeout",
    "replays",
    "without_inputs",
]
