"""``@flyte.trace``: record a helper function's inputs and outputs as part of the calling action."""

from __future__ import annotations

import functools
import inspect
import time
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from flyte._context import Frame, current_frame, reset_frame, set_frame
from flyte._internal.controllers._action import TraceEntry
from flyte.types import TypeEngine

F = TypeVar("F", bound=Callable[..., Any])


def _encode_inputs(func: Callable[..., Any], hints: dict[str, Any], args: tuple, kwargs: dict) -> bytes:
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
    except TypeError:
        values = {"args": list(args), **kwargs}
    return TypeEngine.encode_values(values, {k: hints.get(k, Any) for k in values})


def _record(frame: Frame, name: str, inputs: bytes, started: float, output: Any, error: BaseException | None,
            out_type: Any) -> None:  # fmt: skip
    encoded = None
    if error is None:
        try:
            encoded = TypeEngine.encode_values({"o0": output}, {"o0": out_type})
        except Exception:  # an output the engine cannot encode is still a successful call
            encoded = None
    message = None if error is None else f"{type(error).__name__}: {error}"
    frame.controller.record_trace(frame, TraceEntry(name, inputs, encoded, message, started, time.time()))


_NOTHING = object()


def _replayed(frame: Frame, name: str, inputs: bytes, out_type: Any) -> Any:
    """The recorded output of this call when the run recovers an earlier one, else _NOTHING."""
    replay = getattr(frame.controller, "replay_trace", None)
    entry = replay(frame, name, inputs) if replay is not None else None
    if entry is None or entry.outputs is None:
        return _NOTHING
    return TypeEngine.decode_values(entry.outputs, {"o0": out_type})["o0"]


def trace(func: F) -> F:
    """Record calls of ``func`` (sync, async, or a generator) made inside a task.

    Each call becomes a trace entry of the calling action, with its inputs and outputs. Tasks
    cannot be called from inside a traced function. Outside a task the function runs as is.
    """
    name = func.__qualname__
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:
        hints = {}
    out_type = hints.get("return", Any)

    def enter() -> tuple[Frame | None, Any]:
        frame = current_frame()
        if frame is None:
            return None, None
        return frame, set_frame(Frame(frame.tctx, frame.controller, frame.action, in_trace=True))

    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
            frame = current_frame()
            if frame is None:
                async for item in func(*args, **kwargs):
                    yield item
                return
            inputs, started, items = _encode_inputs(func, hints, args, kwargs), time.time(), []
            replayed = _replayed(frame, name, inputs, Any)
            if replayed is not _NOTHING:
                for item in replayed:
                    yield item
                return
            try:
                async for item in _in_trace(frame, func(*args, **kwargs)):
                    items.append(item)
                    yield item
            except BaseException as e:
                _record(frame, name, inputs, started, None, e, Any)
                raise
            _record(frame, name, inputs, started, items, None, Any)

        return agen_wrapper  # type: ignore[return-value]

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            frame = current_frame()
            if frame is None:
                yield from func(*args, **kwargs)
                return
            inputs, started, items = _encode_inputs(func, hints, args, kwargs), time.time(), []
            replayed = _replayed(frame, name, inputs, Any)
            if replayed is not _NOTHING:
                yield from replayed
                return
            gen = func(*args, **kwargs)
            try:
                while True:
                    _, token = enter()
                    try:
                        item = next(gen)
                    except StopIteration:
                        break
                    finally:
                        reset_frame(token)
                    items.append(item)
                    yield item
            except BaseException as e:
                _record(frame, name, inputs, started, None, e, Any)
                raise
            _record(frame, name, inputs, started, items, None, Any)

        return gen_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            frame, token = enter()
            if frame is None:
                return await func(*args, **kwargs)
            inputs, started = _encode_inputs(func, hints, args, kwargs), time.time()
            replayed = _replayed(frame, name, inputs, out_type)
            if replayed is not _NOTHING:
                reset_frame(token)
                return replayed
            try:
                result = await func(*args, **kwargs)
            except BaseException as e:
                _record(frame, name, inputs, started, None, e, out_type)
                raise
            finally:
                reset_frame(token)
            _record(frame, name, inputs, started, result, None, out_type)
            return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        frame, token = enter()
        if frame is None:
            return func(*args, **kwargs)
        inputs, started = _encode_inputs(func, hints, args, kwargs), time.time()
        replayed = _replayed(frame, name, inputs, out_type)
        if replayed is not _NOTHING:
            reset_frame(token)
            return replayed
        try:
            result = func(*args, **kwargs)
        except BaseException as e:
            _record(frame, name, inputs, started, None, e, out_type)
            raise
        finally:
            reset_frame(token)
        _record(frame, name, inputs, started, result, None, out_type)
        return result

    return sync_wrapper  # type: ignore[return-value]


async def _in_trace(frame: Frame, agen: Any) -> Any:
    """Iterate an async generator with the in-trace flag set while its body runs."""
    traced = Frame(frame.tctx, frame.controller, frame.action, in_trace=True)
    while True:
        token = set_frame(traced)
        try:
            item = await agen.__anext__()
        except StopAsyncIteration:
            return
        finally:
            reset_frame(token)
        yield item
