"""The wire format shared by the control-plane client, its controller and its workers.

Encoded values travel base64; a task travels as a ``TaskRef`` (where a worker finds it in the code
bundle, and how to run it); an action's exception travels as its type name and message and is
rebuilt on the other side:

- a builtin exception type (``ValueError``, ``KeyError``, ...) or a ``flyte.errors`` type is
  rebuilt as itself; a class of that name in the task's module (or ``__main__``) as an instance
  of that class; any other type arrives as ``flyte.errors.CustomError(code=<type name>)``;
- at the call site a user exception is then re-typed by ``flyte.errors.user_error_of``, so that
  it is both the reference's ``RuntimeUserError`` (``code`` = class name) and its own class;
- a timed-out action raises the matching ``flyte.errors`` timeout class, an aborted one
  ``ActionAbortedError``.
"""

from __future__ import annotations

import ast
import base64
import builtins
import inspect
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import flyte.errors as errors
from flyte._cache import VersionParameters
from flyte._internal.bundle import relative_file
from flyte._internal.overrides import overrides_of
from flyte._internal.redaction import redact
from flyte._internal.tracebacks import user_traceback
from flyte._retry import Backoff

if TYPE_CHECKING:
    from flyte._resources import Device
    from flyte._task import TaskTemplate


def b64e(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def b64d(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def q(name: str) -> str:
    """A run or action name as one URL path segment."""
    return quote(name, safe="")


def http_error(status: int, detail: str, method: str, path: str, endpoint: str) -> Exception:
    """The exception a single request would have raised for an item of a batch answered with
    ``status`` and ``detail`` (the client's mapping of HTTP errors, in one place)."""
    import httpx

    from flyte.remote._client import error_for

    response = httpx.Response(status, json={"detail": detail}, request=httpx.Request(method, endpoint + path))
    return error_for(response, endpoint)


def task_file(task: TaskTemplate[Any, Any]) -> str | None:
    module = sys.modules.get(getattr(task.func, "__module__", "") or "")
    file = getattr(module, "__file__", None)
    if file is None:
        try:
            file = inspect.getsourcefile(task.func)
        except TypeError:
            file = None
    return file


def _resources(task: TaskTemplate[Any, Any]) -> dict[str, Any] | None:
    r = task.resources
    if r is None:
        return None
    return {
        "cpu": r.cpu_request_cores(),
        "cpu_limit": r.cpu_limit_cores(),
        "memory": r.memory_request_bytes(),
        "memory_limit": r.memory_limit_bytes(),
        "gpu": r.gpu_count(),
        "disk": r.disk_bytes(),
        "shm": "auto" if r.shm == "auto" else r.shm_bytes(),
        "accelerator": _accelerator(r.device()),
    }


def _accelerator(device: Device | None) -> dict[str, Any] | None:
    """The accelerator a task asks for, for executors that place tasks by it (Ray)."""
    if device is None:
        return None
    return {
        "class": device.device_class,
        "device": device.device,
        "quantity": device.quantity,
        "partition": device.partition,
    }


def _reusable(task: TaskTemplate[Any, Any]) -> dict[str, Any] | None:
    """The task's ``ReusePolicy``, for executors that keep replicas warm (Ray actors)."""
    policy = task.reusable
    if policy is None:
        return None
    return {
        "env": task.env_name,
        "replicas": list(policy.replicas),
        "concurrency": policy.concurrency,
        "idle_ttl": _seconds(policy.idle_ttl),
        "scaledown_ttl": _seconds(policy.scaledown_ttl),
        "scope": policy.scope,
    }


def _backoff(task: TaskTemplate[Any, Any]) -> float | dict[str, float | None] | None:
    backoff = task.retries.backoff
    if backoff is None:
        return None
    if isinstance(backoff, Backoff):
        cap = None if backoff.cap is None else _seconds(backoff.cap)
        return {"base": _seconds(backoff.base), "factor": float(backoff.factor), "cap": cap}
    return _seconds(backoff)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def task_ref(task: TaskTemplate[Any, Any], bundle_key: str, root: Path) -> dict[str, Any]:
    """The ``TaskRef`` of ``task``: where a worker finds it in the bundle, and how to run it. A
    deployed task (``flyte.remote.Task.get``) brings its own: its registered bundle and settings."""
    wire_ref = getattr(task, "wire_ref", None)
    if wire_ref is not None:
        return wire_ref()
    return template_ref(task, bundle_key, root)


def template_ref(task: TaskTemplate[Any, Any], bundle_key: str, root: Path) -> dict[str, Any]:
    """The ``TaskRef`` of a template defined in code under ``root``, its code in ``bundle_key``."""
    cache = task.cache
    version = None
    if cache.is_enabled():
        version = cache.get_version(VersionParameters(func=task.func, image=task.image))
    timeout = task.timeout
    return {
        "name": task.name,
        "is_async": task.is_async,
        "module": getattr(task.func, "__module__", None),
        "file": relative_file(task_file(task), root),
        "bundle_key": bundle_key,
        "retries": task.retries.count,
        "timeout": timeout.max_runtime_seconds if timeout else None,
        "cache": {
            "behavior": cache.behavior,
            "version": version,
            "serialize": cache.serialize,
            "ignored_inputs": list(cache.get_ignored_inputs()),
        },
        "env_vars": dict(task.env_vars),
        "secrets": [
            {
                "key": s.key,
                "group": s.group,
                "as_env_var": s.as_env_var,
                "mount": str(s.mount) if s.mount else None,
            }
            for s in task.secrets
        ],
        "resources": _resources(task),
        "reusable": _reusable(task),
        # extensions (docs/control-plane.md): retry backoff and the other time bounds
        "backoff": _backoff(task),
        "max_queued_time": timeout.max_queued_seconds if timeout else None,
        "deadline": timeout.deadline_seconds if timeout else None,
        # the settings changed at the call site, applied by the worker to the template it imports
        "overrides_b64": b64e(overrides_of(task)),
        **_notifications(task),
        # a task defined inside a function cannot be imported: it travels cloudpickled (extension)
        "by_value_b64": b64e(_by_value(task)),
    }


def _notifications(task: TaskTemplate[Any, Any]) -> dict[str, Any]:
    """``{"notifications": [...]}`` for a task that has some (sent by the server), else nothing."""
    if not task.notifications:
        return {}
    from flyte.notify._spec import to_wire

    return {"notifications": to_wire(task.notifications)}


def _by_value(task: TaskTemplate[Any, Any]) -> bytes | None:
    if "<locals>" not in (getattr(task.func, "__qualname__", "") or ""):
        return None
    import cloudpickle  # only tasks defined in functions pay for it

    try:
        return cloudpickle.dumps(task)
    except Exception as e:
        raise errors.CodeBundleError(
            f"Task '{task.name}' is defined inside a function and cannot be sent by value: "
            f"{type(e).__name__}: {e}; define it at module level"
        ) from e


def error_fields(e: BaseException) -> dict[str, Any]:
    """How an action's exception is reported: type name, message, whose fault, retryable."""
    type_name = e.code if isinstance(e, errors.CustomError) else type(e).__name__
    kind = "system" if isinstance(e, errors.RuntimeSystemError) else "user"
    return {
        "error_type": type_name,
        "error_message": redact(str(e)),  # it leaves the process here: no secret in it
        "error_kind": kind,
        "retryable": not isinstance(e, (errors.NonRecoverableError, errors.SecretNotFoundError)),
        "error_traceback": user_traceback(e),
        "error_code": errors.own_code(e),
    }


def _builtin(type_name: str, message: str) -> Exception | None:
    cls = getattr(builtins, type_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        return None
    arg: Any = message
    if cls is KeyError and len(message) >= 2 and message[0] == message[-1] and message[0] in "'\"":
        try:
            arg = ast.literal_eval(message)  # str(KeyError('x')) is "'x'": give back 'x'
        except (ValueError, SyntaxError):
            arg = message
    try:
        return cls(arg)
    except Exception:  # a builtin with a special constructor (UnicodeDecodeError, ...)
        return None


def _flyte_error(type_name: str, message: str) -> Exception | None:
    cls = getattr(errors, type_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        return None
    if issubclass(cls, errors.BaseRuntimeError):
        kind: errors.ErrorKind = "system" if issubclass(cls, errors.RuntimeSystemError) else "user"
        return errors._rebuild_error(cls, type_name, kind, message, None, {})
    try:
        return cls(message)
    except Exception:
        return None


def _user_class_error(type_name: str, message: str, near: Sequence[str]) -> Exception | None:
    """An instance of the user's own exception class ``type_name``, looked up in the modules the
    task came from (and ``__main__``): the wire carries the class name only."""
    for module_name in (*near, "__main__"):
        cls = getattr(sys.modules.get(module_name), type_name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            err = cls.__new__(cls)
            err.args = (message,)
            return err
    return None


def rebuild_error(
    type_name: str | None, message: str | None, near: Sequence[str] = (), code: str | None = None
) -> Exception:
    """An exception from a reported type name and message (see the module docstring); ``near``
    names the modules where a user-defined class of that name is looked for; ``code``, a flyte
    error's own code (``RuntimeUserError("Quota", ...)``), is given back to it."""
    type_name = type_name or "RuntimeError"
    message = message or ""
    error = (
        _builtin(type_name, message)
        or _flyte_error(type_name, message)
        or _user_class_error(type_name, message, near)
        or errors.CustomError(type_name, message)
    )
    if code and isinstance(error, errors.BaseRuntimeError):
        error.code = code
    return error


def error_of(action: dict[str, Any], near: Sequence[str] = ()) -> Exception:
    """The exception a terminal, unsuccessful action stands for (``near``: see ``rebuild_error``)."""
    phase = action.get("phase")
    name = action.get("name", "?")
    task = action.get("task_name", "?")
    message = action.get("error_message")
    type_name = action.get("error_type")
    if phase == "aborted":  # the message a local parent gets (its record holds the reason alone)
        reason = f": {message}" if message else ""
        return errors.ActionAbortedError(f"Action '{name}' of task '{task}' was aborted{reason}")
    if phase == "timed_out":
        error = _flyte_error(type_name, message or "") if type_name else None
        if isinstance(error, errors.TaskTimeoutError):
            return error
        return errors.TaskTimeoutError(message or f"Action '{name}' of task '{task}' timed out")
    if type_name is None and not message:
        return errors.RuntimeUnknownError("Unknown", f"Action '{name}' of task '{task}' ended as {phase}")
    return rebuild_error(type_name, message, near, action.get("error_code"))
