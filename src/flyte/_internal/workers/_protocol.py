"""What the parent and its worker processes agree on: frames, messages, task locators, errors.

A frame is a 4-byte big-endian length followed by one msgpack array whose first item is the
message kind. Messages are positional arrays (cheaper to pack than maps); the layouts are:

parent -> worker
    ``[EXEC, call_id, locator, inputs, tctx, env, memory_limit, sys_path | None, replaying]``
    (``replaying``: the run recovers another, so trace calls ask for a recorded result first)
    ``[SUB_OK, sub_id, outputs]`` / ``[SUB_ERR, sub_id, error]``
worker -> parent
    ``[READY, pid]``
    ``[STARTED, call_id]`` (the task is loaded: its body starts now, and so does its max_runtime)
    ``[OK, call_id, outputs]`` / ``[ERR, call_id, error]``
    ``[SUB, sub_id, call_id, locator, inputs, group, custom_context]`` (the action calls a child task;
    the group and custom context are those in effect where it was called)
    ``[SUB_CANCEL, sub_id]`` (the action stopped waiting for that child)
    ``[TRACE, call_id, name, inputs, outputs, error, started_at, ended_at]``
    ``[REPLAY, sub_id, call_id, name, inputs]`` (a trace call's recorded result, if any; answered by
    ``[SUB_OK, sub_id, [outputs, started_at, ended_at] | None]``)

A task is found on either side by its locator ``[module, qualname, task name, module file,
overrides, by value]``: the file is the fallback when the module cannot be imported by name
(always so for ``__main__``); overrides are the settings changed at the call site
(``flyte._internal.overrides``); a task no worker could import (defined in a function, or
interactively) travels by value, cloudpickled.
"""

from __future__ import annotations

import importlib
import importlib.util
import pickle
import struct
import sys
import traceback
from typing import TYPE_CHECKING, Any

import msgpack

from flyte._internal.overrides import apply, overrides_of
from flyte._internal.run_guard import RunDuringImport, exec_user_module
from flyte.errors import CustomError, ModuleLoadError, TaskNotFoundError
from flyte.models import ActionID, Checkpoints, GroupData, RawDataPath, TaskContext

if TYPE_CHECKING:
    from flyte._task import TaskTemplate

EXEC, SUB_OK, SUB_ERR = 1, 2, 3
READY, OK, ERR, SUB, SUB_CANCEL, TRACE, STARTED, REPLAY = 10, 11, 12, 13, 14, 15, 16, 17

HEADER = struct.Struct(">I")
MAIN_ALIAS = "__flyte_main__"
"""The name a worker gives the parent's ``__main__`` script, so its ``__main__`` guard stays shut."""

Locator = list[Any]


# -- frames ---------------------------------------------------------------------------------------


def pack(message: list[Any]) -> bytes:
    """One message as a frame ready to write."""
    payload = msgpack.packb(message, use_bin_type=True)
    return HEADER.pack(len(payload)) + payload


class FrameBuffer:
    """Reassembles frames from the chunks a stream delivers."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[list[Any]]:
        """Add ``data``; return the messages completed by it, in order."""
        buf = self._buf
        buf += data
        out: list[list[Any]] = []
        start = 0
        size = len(buf)
        while size - start >= 4:
            (length,) = HEADER.unpack_from(buf, start)
            end = start + 4 + length
            if end > size:
                break
            out.append(msgpack.unpackb(buf[start + 4 : end], raw=False))
            start = end
        if start:
            del buf[:start]
        return out

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still waiting for the rest."""
        return len(self._buf)


# -- the action's context ---------------------------------------------------------------------------


def tctx_to_wire(t: TaskContext) -> list[Any]:
    """The serializable part of a TaskContext (what a task can read through ``flyte.ctx()``)."""
    a = t.action
    cp = t.checkpoints
    return [
        a.name,
        a.run_name,
        a.project,
        a.domain,
        a.org,
        t.version,
        t.raw_data_path.path if t.raw_data_path else None,
        t.input_path,
        t.output_path,
        t.run_base_dir,
        t.group_data.name if t.group_data else None,
        [cp.prev_checkpoint_path, cp.checkpoint_path] if cp else None,
        t.mode,
        t.interactive_mode,
        t.custom_context,
        t.attempt_number,
        t.task_name,
    ]


def tctx_from_wire(w: list[Any]) -> TaskContext:
    name, run_name, project, domain, org, version, raw, input_path, output_path, base, group, cp = w[:12]
    mode, interactive, custom, attempt, task_name = w[12:]
    return TaskContext(
        action=ActionID(name=name, run_name=run_name, project=project, domain=domain, org=org),
        version=version,
        raw_data_path=RawDataPath(path=raw) if raw is not None else None,
        input_path=input_path,
        output_path=output_path,
        run_base_dir=base,
        group_data=GroupData(group) if group is not None else None,
        checkpoints=Checkpoints(prev_checkpoint_path=cp[0], checkpoint_path=cp[1]) if cp else None,
        mode=mode,
        interactive_mode=interactive,
        custom_context=dict(custom),
        attempt_number=attempt,
        task_name=task_name,
    )


# -- finding a task ---------------------------------------------------------------------------------


def locator_for(task: TaskTemplate[Any, Any]) -> Locator:
    """How the other side can find ``task``: raises ModuleLoadError if it cannot be found by import."""
    func = task.func
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", "") or ""
    if not module or "<locals>" in qualname:
        return _by_value(task, "is defined inside a function")
    path = getattr(sys.modules.get(module), "__file__", None)  # a fallback if import by name fails
    if module in ("__main__", MAIN_ALIAS):
        main = sys.modules.get(module)
        path = getattr(main, "__file__", None)
        if path is None:
            return _by_value(task, "is defined in an interactive session (its module '__main__' has no file)")
        module = "__main__"
        sys.modules.setdefault(MAIN_ALIAS, sys.modules["__main__"])  # worker pickles name it so
    return [module, qualname, task.name, path, overrides_of(task)]


def _by_value(task: TaskTemplate[Any, Any], why: str) -> Locator:
    """A locator carrying the task itself (cloudpickled), for a task no worker could import."""
    import cloudpickle

    try:
        blob = cloudpickle.dumps(task)
    except Exception as e:
        raise ModuleLoadError(
            f"Task '{task.name}' {why}, so a worker process cannot import it, and it cannot be sent "
            f"by value either ({type(e).__name__}: {e}); define it at module level"
        ) from e
    return ["", getattr(task.func, "__qualname__", task.name), task.name, None, None, blob]


def _load_file(name: str, path: str) -> Any:
    """Execute the file at ``path`` as module ``name`` (kept in sys.modules)."""
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == path:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModuleLoadError(f"Cannot load '{path}' as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        exec_user_module(spec, module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _load_main_script(path: str) -> Any:
    """Load the parent's ``__main__`` script under MAIN_ALIAS (its ``__main__`` block does not run)."""
    module = _load_file(MAIN_ALIAS, path)
    sys.modules["__main__"] = module  # pickles from the parent name its classes '__main__.X'
    return module


def _import(name: str, path: str | None) -> Any:
    try:
        return importlib.import_module(name)
    except (ImportError, RunDuringImport):  # a module-level flyte.run: load it so that it stops there
        if path is None or not path.endswith(".py"):
            raise
    return _load_file(name, path)  # loaded by the parent from a file that is not on sys.path


def locate(locator: Locator, *, in_worker: bool) -> TaskTemplate[Any, Any]:
    """Import the locator's module and return the task template named in it, with the
    locator's overrides applied."""
    if len(locator) > 5 and locator[5] is not None:  # sent by value (see _by_value)
        import cloudpickle

        return cloudpickle.loads(locator[5])  # type: ignore[no-any-return]
    module_name, qualname, name, path = locator[:4]
    overrides = locator[4] if len(locator) > 4 else None
    return apply(_defined(module_name, qualname, name, path, in_worker=in_worker), overrides)


def _defined(
    module_name: str, qualname: str, name: str, path: str | None, *, in_worker: bool
) -> TaskTemplate[Any, Any]:
    from flyte._environment import Environment
    from flyte._task import TaskTemplate

    try:
        if module_name == "__main__":
            module = _load_main_script(path) if in_worker and path else sys.modules["__main__"]
        else:
            module = sys.modules.get(module_name) or _import(module_name, path)
    except Exception as e:
        raise ModuleLoadError(
            f"Cannot import module '{module_name}' to find task '{name}': {type(e).__name__}: {e}"
        ) from e
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if isinstance(obj, TaskTemplate) and obj.name == name:
        return obj
    for value in list(vars(module).values()):
        if isinstance(value, TaskTemplate) and value.name == name:
            return value
        if isinstance(value, Environment):
            found = getattr(value, "_tasks", {}).get(name)
            if found is not None:
                return found
    raise TaskNotFoundError(f"Task '{name}' was not found in module '{module_name}' (looked up '{qualname}')")


# -- errors -----------------------------------------------------------------------------------------


def error_to_wire(e: BaseException, kind: str = "user") -> list[Any]:
    """An exception as ``[kind, type name, message, traceback text, pickle or None]``."""
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    try:
        blob: bytes | None = pickle.dumps(e, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        blob = None
    return [kind, type(e).__name__, str(e), text, blob]


def error_from_wire(w: list[Any]) -> Exception:
    """Rebuild an exception sent by the other side; CustomError when its class cannot be rebuilt."""
    _kind, type_name, message, text, blob = w
    err: BaseException | None = None
    if blob is not None:
        try:
            err = pickle.loads(blob)
        except Exception:
            err = None
    if not isinstance(err, Exception):  # also keeps SystemExit & co. from escaping as themselves
        err = CustomError(type_name, message)
    try:
        err.worker_traceback = text  # type: ignore[attr-defined]
    except Exception:
        pass
    return err
