"""``flyte.logger`` for user code and ``flyte.system_logger`` for the engine's own messages.

Records logged inside an action are recorded with that action's logs (``flyte get logs``), like
anything it prints. They also reach the terminal: through the application's own logging set-up
when it has one (``logging.basicConfig``...), otherwise through a plain stderr handler of ours, so
a message is never shown twice. ``LOG_LEVEL`` (a name or a number, as for the reference SDK) sets
their level; without it they follow the ``flyte`` logger (``flyte.init(log_level=...)``), whose
default is the root logger's ``WARNING``.
"""

from __future__ import annotations

import logging
import os
import sys

_LEVELS = {"critical": 50, "error": 40, "warning": 30, "warn": 30, "info": 20, "debug": 10}


def level_from_env() -> int:
    """The level ``LOG_LEVEL`` asks for (``info``, ``20``, ...), else ``NOTSET`` (inherit)."""
    value = os.environ.get("LOG_LEVEL", "").strip().lower()
    if value.isdigit():
        return int(value)
    return _LEVELS.get(value, logging.NOTSET)


class _UnlessConfigured(logging.Filter):
    """Let our stderr handler print only when the root logger has no handler of the application's
    (the run's log capture does not count: it records, it does not print)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from flyte._internal.logs import capture

        return all(h is capture.handler for h in logging.getLogger().handlers)


class _TerminalHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the terminal's stderr of the moment, bypassing the run's capture of stderr (the
    capture already records the log line itself)."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        err = sys.stderr
        return getattr(err, "real", err)

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001  (set by StreamHandler.__init__; always follows sys.stderr)
        pass


def _make(name: str) -> logging.Logger:
    made = logging.getLogger(name)
    made.setLevel(level_from_env())
    handler = _TerminalHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_UnlessConfigured())
    made.addHandler(handler)
    return made


logger = _make("flyte.user")
"""The logger for task code: ``flyte.logger.info("loaded %d rows", n)``."""

system_logger = _make("flyte.system")
"""The engine's own logger."""
