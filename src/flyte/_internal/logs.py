"""Per-action capture of stdout, stderr and ``logging`` output during a local run.

Output still reaches the terminal; each complete line is also handed, with the action that
printed it (known from the execution frame), to the run's recorder.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, TextIO

from flyte._context import current_frame


class _ActionTee:
    """A text stream that writes through to the real one and records lines per action."""

    def __init__(self, real: TextIO, stream: str):
        self._real = real
        self._stream = stream
        self._partial: dict[tuple[int, int], str] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        written = self._real.write(text)
        frame = current_frame()
        if frame is None or not text:
            return written
        node, attempt = frame.action, frame.tctx.attempt_number
        recorder = getattr(frame.controller, "recorder", None)
        if recorder is None or not hasattr(recorder, "log_lines"):
            return written
        key = (id(node), attempt)
        with self._lock:
            buffered = self._partial.pop(key, "") + text
            *complete, rest = buffered.split("\n")
            if rest:
                self._partial[key] = rest
        if complete:
            now = time.time()
            recorder.log_lines(node, attempt, self._stream, [(now, line) for line in complete])
        return written

    def flush(self) -> None:
        self._real.flush()

    @property
    def real(self) -> TextIO:
        """The stream this one writes through to."""
        return self._real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _ActionLogHandler(logging.Handler):
    """Records log records emitted inside an action (the terminal output is left to other handlers)."""

    def emit(self, record: logging.LogRecord) -> None:
        frame = current_frame()
        if frame is None:
            return
        recorder = getattr(frame.controller, "recorder", None)
        if recorder is None or not hasattr(recorder, "log_lines"):
            return
        try:
            line = f"{record.levelname} {record.name}: {record.getMessage()}"
        except Exception:
            return
        recorder.log_lines(frame.action, frame.tctx.attempt_number, "log", [(record.created, line)])


class _Capture:
    def __init__(self) -> None:
        self._users = 0
        self._lock = threading.Lock()
        self._saved: tuple[TextIO, TextIO] | None = None
        self._handler = _ActionLogHandler(level=logging.DEBUG)

    @property
    def handler(self) -> logging.Handler:
        """The handler that records log lines with the current action (it prints nothing)."""
        return self._handler

    def start(self) -> None:
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            self._saved = (sys.stdout, sys.stderr)
            sys.stdout = _ActionTee(sys.stdout, "stdout")  # type: ignore[assignment]
            sys.stderr = _ActionTee(sys.stderr, "stderr")  # type: ignore[assignment]
            logging.getLogger().addHandler(self._handler)

    def stop(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._saved is None:
                return
            if isinstance(sys.stdout, _ActionTee):
                sys.stdout = self._saved[0]
            if isinstance(sys.stderr, _ActionTee):
                sys.stderr = self._saved[1]
            self._saved = None
            logging.getLogger().removeHandler(self._handler)


capture = _Capture()
