"""The exceptions flyte raises, in one tree.

::

    RuntimeError
    ├── BaseRuntimeError                       code, kind ("user" | "system" | "unknown"), worker
    │   ├── InitializationError                flyte used before init / bad configuration
    │   ├── RuntimeSystemError                 the engine failed, not the user's code
    │   │   ├── WorkerDiedError                a worker process exited mid-action
    │   │   └── UnionRpcError                  talking to the control plane failed
    │   ├── RuntimeUnknownError
    │   ├── LogsNotYetAvailableError
    │   └── RuntimeUserError                   the user's code or inputs are at fault
    │       ├── CustomError                    a user exception that crossed a process boundary
    │       ├── OOMError                       the action exceeded its memory limit
    │       ├── TaskTimeoutError               a flyte.Timeout bound fired
    │       │   ├── MaxRuntimeExceededError
    │       │   ├── MaxQueuedTimeExceededError
    │       │   └── DeadlineExceededError
    │       ├── RetriesExhaustedError
    │       ├── NonRecoverableError            raise it to skip the remaining retries
    │       ├── ActionAbortedError
    │       ├── InlineIOMaxBytesBreached
    │       ├── RuntimeDataValidationError     an input or output does not match its type
    │       ├── SyncTaskCallInAsyncContextError
    │       ├── TraceDoesNotAllowNestedTasksError
    │       ├── NotInTaskContextError
    │       ├── ModuleLoadError / TaskNotFoundError / RemoteTaskNotFoundError
    │       ├── ResourceExhaustedError         a request no local node can ever satisfy
    │       ├── SecretNotFoundError
    │       ├── ConditionTimedoutError / ConditionAlreadyExistsError / ConditionFailedError
    │       └── ... (see the classes below)
    └── ActionNotFoundError

Every error carries a short machine-readable ``code`` (by default the class name) and a
``kind`` telling whose fault it is. Messages name the task, the parameter and what was
expected, so that a user can act on them without reading a traceback.
"""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["system", "unknown", "user"]


class BaseRuntimeError(RuntimeError):
    """Root of the errors raised by the engine for a failed action or a bad call."""

    def __init__(self, code: str, kind: ErrorKind, root_cause_message: str, worker: str | None = None):
        super().__init__(root_cause_message)
        self.code = code
        self.kind = kind
        self.worker = worker

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):  # keep errors picklable across worker processes whatever their __init__ takes
        return (_rebuild_error, (type(self), self.code, self.kind, self.message, self.worker, self.__dict__))

    def _raise_self(self, *_args):
        """A failed ``flyte.map`` item returned as a value re-raises when used in arithmetic."""
        raise self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _raise_self
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _raise_self


def _rebuild_error(
    cls: type[BaseRuntimeError], code: str, kind: ErrorKind, message: str, worker: str | None, state: dict
) -> BaseRuntimeError:
    err = BaseRuntimeError.__new__(cls)
    BaseRuntimeError.__init__(err, code, kind, message, worker)
    err.__dict__.update(state)
    return err


class InitializationError(BaseRuntimeError):
    """flyte was used before ``flyte.init()`` or with a configuration that cannot work."""

    def __init__(self, code: str, kind: ErrorKind, message: str, worker: str | None = None):
        super().__init__(code, kind, message, worker)


class RuntimeSystemError(BaseRuntimeError):
    """The engine itself failed (a dead worker, a lost connection); the user's code may be fine."""

    def __init__(self, code: str, message: str, worker: str | None = None):
        super().__init__(code, "system", message, worker)


class UnionRpcError(RuntimeSystemError):
    """A call to the control-plane server failed."""


class WorkerDiedError(RuntimeSystemError):
    """The worker process running an action exited before reporting a result."""

    def __init__(self, message: str, worker: str | None = None):
        super().__init__("WorkerDied", message, worker)


class RuntimeUnknownError(BaseRuntimeError):
    """An action failed and the engine cannot tell whose fault it was."""

    def __init__(self, code: str, message: str, worker: str | None = None):
        super().__init__(code, "unknown", message, worker)


class LogsNotYetAvailableError(BaseRuntimeError):
    """The logs of an action are not available yet."""

    def __init__(self, message: str):
        super().__init__("LogsNotYetAvailable", "system", message, None)


class RuntimeUserError(BaseRuntimeError):
    """An action failed because of the user's code, inputs or definitions."""

    def __init__(self, code: str, message: str, worker: str | None = None):
        super().__init__(code, "user", message, worker)


class CustomError(RuntimeUserError):
    """A user exception whose class could not be rebuilt on this side of a process boundary.

    ``code`` holds the original class name and the message the original message.
    """

    def __init__(self, code: str, message: str):
        super().__init__(code, message)

    @classmethod
    def from_exception(cls, e: BaseException) -> CustomError:
        """Wrap ``e``: its class name becomes the code, its text the message."""
        err = cls(type(e).__name__, str(e))
        err.__cause__ = e
        return err


class OOMError(RuntimeUserError):
    """The action used more memory than its ``Resources(memory=...)`` limit."""


class TaskInterruptedError(RuntimeUserError):
    """The action was interrupted (an interruptible action's node went away)."""


class PrimaryContainerNotFoundError(RuntimeUserError):
    """The pod template names no primary container."""


class TaskTimeoutError(RuntimeUserError):
    """An action exceeded one of its ``flyte.Timeout`` bounds; the subclasses say which."""

    def __init__(self, message: str, code: str = "TaskTimeoutError"):
        super().__init__(code, message)


class MaxQueuedTimeExceededError(TaskTimeoutError):
    """The action waited longer than ``Timeout.max_queued_time`` before it started."""

    def __init__(self, message: str):
        super().__init__(message, code="MaxQueuedTimeExceededError")


class MaxRuntimeExceededError(TaskTimeoutError):
    """One attempt of the action ran longer than ``Timeout.max_runtime``."""

    def __init__(self, message: str):
        super().__init__(message, code="MaxRuntimeExceededError")


class DeadlineExceededError(TaskTimeoutError):
    """The action did not finish, across all attempts, within ``Timeout.deadline``."""

    def __init__(self, message: str):
        super().__init__(message, code="DeadlineExceededError")


class RetriesExhaustedError(RuntimeUserError):
    """Every allowed attempt of the action failed."""


class NonRecoverableError(RuntimeUserError):
    """Raise this from a task to fail it at once: remaining retries are skipped."""

    def __init__(self, message: str, code: str = "NonRecoverableError"):
        super().__init__(code, message)


class InvalidImageNameError(RuntimeUserError):
    """An image name or URI is not valid."""


class ImagePullBackOffError(RuntimeUserError):
    """An image could not be pulled."""


class ImageBuildError(RuntimeUserError):
    """Building an image failed."""

    def __init__(self, message: str):
        super().__init__("ImageBuildError", message)


class NotInTaskContextError(RuntimeUserError):
    """Something that only works inside a running task was used outside one."""


class ConditionTimedoutError(RuntimeUserError):
    """A condition (``flyte.new_condition``) was not signaled within its ``timeout``."""

    def __init__(self, message: str):
        super().__init__("ConditionTimedoutError", message)


class ConditionAlreadyExistsError(RuntimeUserError):
    """A condition was signaled after it had already been answered (or had timed out)."""

    def __init__(self, message: str):
        super().__init__("ConditionAlreadyExistsError", message)


class ConditionFailedError(RuntimeUserError):
    """A condition ended without a value: it was aborted, or its run ended while it waited."""

    def __init__(self, message: str):
        super().__init__("ConditionFailedError", message)


class ActionNotFoundError(RuntimeError):
    """No run or action has that name."""


class RemoteTaskNotFoundError(RuntimeUserError):
    """No deployed task has that name."""

    def __init__(self, message: str):
        super().__init__("RemoteTaskNotFoundError", message)


class RemoteTaskUsageError(RuntimeUserError):
    """A remote task reference was used in a way it does not support."""

    def __init__(self, message: str):
        super().__init__("RemoteTaskUsageError", message)


class TaskNotFoundError(RuntimeUserError):
    """A file or module was loaded but has no task of the requested name."""

    def __init__(self, message: str):
        super().__init__("TaskNotFoundError", message)


class ModuleLoadError(RuntimeUserError):
    """A workflow file or module could not be imported."""

    def __init__(self, message: str):
        super().__init__("ModuleLoadError", message)


class RuntimeDataValidationError(RuntimeUserError):
    """An input or output value does not match the type the task declares."""

    def __init__(self, var: str, e: Exception | str, task_name: str = ""):
        where = f"task '{task_name}', " if task_name else ""
        super().__init__("DataValidationError", f"{where}parameter '{var}': {e}")
        self.var = var
        self.task_name = task_name


class DeploymentError(RuntimeUserError):
    """A task or environment cannot be deployed as defined."""

    def __init__(self, message: str):
        super().__init__("DeploymentError", message)


class InlineIOMaxBytesBreached(RuntimeUserError):
    """An input or output is larger than the task's ``max_inline_io_bytes``."""

    def __init__(self, message: str):
        super().__init__("InlineIOMaxBytesBreached", message)


class ActionAbortedError(RuntimeUserError):
    """The action was aborted; the message carries the reason."""

    def __init__(self, message: str):
        super().__init__("ActionAbortedError", message)


class SlowDownError(RuntimeUserError):
    """The server asked the client to slow down."""

    def __init__(self, message: str):
        super().__init__("SlowDownError", message)


class ResourceExhaustedError(SlowDownError):
    """A resource request cannot be satisfied (for example, larger than the whole local node)."""


class OnlyAsyncIOSupportedError(RuntimeUserError):
    """A sync I/O call was made where only the async form works."""

    def __init__(self, message: str):
        super().__init__("OnlyAsyncIOSupportedError", message)


class RestrictedTypeError(RuntimeUserError):
    """A type is used where it is not allowed."""

    def __init__(self, message: str):
        super().__init__("RestrictedTypeUsage", message)


class CodeBundleError(RuntimeUserError):
    """The code bundle for a remote run could not be built."""

    def __init__(self, message: str):
        super().__init__("CodeBundleError", message)


class SyncTaskCallInAsyncContextError(RuntimeUserError):
    """A sync task was called with ``task(...)`` from an async task; use ``await task.aio(...)``."""

    def __init__(self, message: str):
        super().__init__("SyncTaskCallInAsyncContextError", message)


class TraceDoesNotAllowNestedTasksError(RuntimeUserError):
    """A task was called from inside a ``@flyte.trace`` function; traces cannot contain tasks."""

    def __init__(self, message: str):
        super().__init__("TraceDoesNotAllowNestedTasksError", message)


class SecretNotFoundError(RuntimeUserError):
    """A task requests a secret that is not in the secret store."""

    def __init__(self, message: str):
        super().__init__("SecretNotFoundError", message)


class ParameterMaterializationError(RuntimeUserError):
    """A parameter with delayed materialization could not be materialized."""

    def __init__(self, message: str):
        super().__init__("ParameterMaterializationError", message)


# -- a user exception as the reference's RuntimeUserError and as itself -----------------------------
#
# The reference SDK hands a parent (and the caller of ``flyte.run``) a ``RuntimeUserError`` whose
# ``code`` is the original class name. Code written for it catches ``RuntimeUserError`` and checks
# ``e.code``; code written for plain Python catches ``ValueError``. Both must work, so a user
# exception crossing an action boundary is re-typed as a class deriving from both its own class
# and ``RuntimeUserError`` (made once per original class), carrying the original's args,
# attributes and traceback.

_USER_ERROR_CLASSES: dict[type, type | None] = {}


class _UserErrorOf:
    """Marker base of the re-typed user exceptions (see ``user_error_of``)."""

    __slots__ = ()
    original_class: type[BaseException]

    @property
    def message(self) -> str:
        return str(self)

    def __reduce__(self):  # rebuilt from the original class on the other side of a process boundary
        return (_rebuild_user_error, (self.original_class, self.args, dict(self.__dict__)))


def _user_error_class(cls: type[BaseException]) -> type[BaseException] | None:
    try:
        return _USER_ERROR_CLASSES[cls]
    except KeyError:
        pass
    made: type[BaseException] | None
    try:
        made = type(
            cls.__name__,
            (_UserErrorOf, cls, RuntimeUserError),
            {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "original_class": cls},
        )
    except Exception:  # a class that refuses subclasses or mixes layouts: CustomError stands in
        made = None
    _USER_ERROR_CLASSES[cls] = made
    return made


def _rebuild_user_error(cls: type[BaseException], args: tuple, state: dict) -> BaseException:
    made = _user_error_class(cls)
    err = (
        BaseException.__new__(made)
        if made is not None
        else CustomError(cls.__name__, str(args[0] if args else ""))
    )
    err.args = args
    err.__dict__.update(state)
    return err


def own_code(e: BaseException | None) -> str | None:
    """The ``code`` of a flyte error built with a code of its own (``RuntimeUserError("Quota",
    ...)``), which a record or the wire must carry beside the class name; None when the code is
    just the class name (the common case) or ``e`` has none."""
    if not isinstance(e, BaseRuntimeError) or isinstance(e, CustomError):
        return None  # a CustomError travels as its code already
    code = getattr(e, "code", None)
    return code if isinstance(code, str) and code != type(e).__name__ else None


def user_error_of(e: BaseException) -> BaseException:
    """``e`` as seen by a parent action or by the caller of ``flyte.run``.

    flyte's own errors (timeouts, OOM, aborts, system errors, ...) and non-``Exception``
    exceptions are returned unchanged. Any other exception becomes an instance of both its own
    class and :class:`RuntimeUserError`, with ``code`` set to the original class name and the
    original message, args, attributes and traceback. A class that cannot be subclassed gives a
    :class:`CustomError` with the same code and message, chained to the original.
    """
    if isinstance(e, (BaseRuntimeError, _UserErrorOf)) or not isinstance(e, Exception):
        return e
    if isinstance(e, ActionNotFoundError):
        return e
    made = _user_error_class(type(e))
    if made is None:
        err: BaseException = CustomError.from_exception(e)
    else:
        err = made.__new__(made)  # type: ignore[call-overload]  # its own __new__ (OSError has one)
        err.args = e.args
        try:
            err.__dict__.update(e.__dict__)
        except (AttributeError, TypeError):
            pass
        err.code = type(e).__name__  # type: ignore[attr-defined]
        err.kind = "user"  # type: ignore[attr-defined]
        err.worker = getattr(e, "worker", None)  # type: ignore[attr-defined]
        err.__cause__ = e.__cause__
        err.__context__ = e.__context__
        err.__suppress_context__ = e.__suppress_context__
    err.__traceback__ = e.__traceback__
    return err
