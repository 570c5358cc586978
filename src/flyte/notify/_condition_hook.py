"""Announcing a new condition to its webhook (``flyte.ConditionWebhook``), off the hot path.

The payload's strings are templates: ``{callback_uri}`` (how to answer the condition),
``{run_name}``, ``{action_name}``, ``{condition}`` and ``{prompt}``. The request is sent with the
same retries as notifications (``flyte.notify._sender``), and a failure is one line on stderr: a
webhook that cannot be reached never fails the run, and the condition can still be signaled.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flyte._internal.conditions import ConditionRecord

BACKGROUND_THREADS = 4
"""Condition announcements sent at once from one process (a local run)."""

_pool: ThreadPoolExecutor | None = None


def payload_of(record: ConditionRecord, callback_uri: str) -> dict[str, Any]:
    """The JSON body POSTed to the condition's webhook."""
    variables = {
        "callback_uri": callback_uri,
        "run_name": record.run_name,
        "action_name": record.action,
        "condition": record.name,
        "prompt": record.prompt,
    }
    template = (record.webhook or {}).get("payload")
    if template is None:
        template = {
            "run": "{run_name}",
            "action": "{action_name}",
            "condition": "{condition}",
            "prompt": "{prompt}",
            "data_type": record.data_type,
            "callback_uri": "{callback_uri}",
        }
    return _render(template, variables)


def _render(template: Any, variables: dict[str, str]) -> Any:
    """Every ``{name}`` of ``variables`` replaced in the strings of ``template`` (nested too)."""
    if isinstance(template, str):
        for key, value in variables.items():
            template = template.replace("{" + key + "}", value)
        return template
    if isinstance(template, dict):
        return {k: _render(v, variables) for k, v in template.items()}
    if isinstance(template, (list, tuple)):
        return [_render(v, variables) for v in template]
    return template


async def announce(record: ConditionRecord, callback_uri: str) -> bool:
    """POST the condition's webhook (with retries); True once delivered."""
    from flyte.notify._sender import _where, post_json

    url = (record.webhook or {}).get("url")
    if not url:
        return False
    try:
        tries, failure = await post_json("POST", url, {}, payload_of(record, callback_uri))
    except Exception as e:  # a URL that cannot even be parsed
        tries, failure = 1, type(e).__name__
    if failure is not None:
        print(
            f"flyte: webhook of condition '{record.name}' (run '{record.run_name}') to {_where(url)} "
            f"was not delivered after {tries} tries: {failure}",
            file=sys.stderr,
            flush=True,
        )
        return False
    return True


def announce_in_background(record: ConditionRecord, callback_uri: str) -> None:
    """Send the announcement from a helper thread; the process waits for it at exit."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(BACKGROUND_THREADS, thread_name_prefix="flyte-condition-hook")
        atexit.register(_pool.shutdown, wait=True)
    _pool.submit(asyncio.run, announce(record, callback_uri))
