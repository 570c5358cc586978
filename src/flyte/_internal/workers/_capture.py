"""A worker's stdout and stderr, read from pipes on the parent's loop and split into lines.

Lines go to the action running at the time; output between actions (start-up, a thread left
behind) is passed on to the parent's stderr. The last stderr lines are kept to explain a crash.
"""

from __future__ import annotations

import asyncio
import collections
import os
import sys
from collections.abc import Callable
from typing import IO

STDERR_TAIL = 20
CHUNK = 65536


class OutputCapture:
    """Reads a worker's output pipes without blocking; ``sink()`` names where lines go now."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pid: int,
        pipes: list[tuple[IO[bytes], str]],
        sink: Callable[[], list[tuple[str, str]] | None],
    ):
        self._loop = loop
        self._pid = pid
        self._sink = sink
        self._pipes = [pipe for pipe, _ in pipes]
        self._streams: dict[int, str] = {}
        self._partial: dict[int, bytes] = {}
        self._tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        for pipe, stream in pipes:
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            self._streams[fd] = stream
            self._partial[fd] = b""
            loop.add_reader(fd, self._on_readable, fd)

    @property
    def tail(self) -> str:
        """The last lines the worker wrote to stderr."""
        return "\n".join(self._tail)

    def _on_readable(self, fd: int) -> None:
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._feed(fd, data)
        else:
            self._loop.remove_reader(fd)

    def _feed(self, fd: int, data: bytes) -> None:
        lines = (self._partial[fd] + data).split(b"\n")
        self._partial[fd] = lines.pop()
        stream = self._streams[fd]
        for line in lines:
            self._line(stream, line.decode("utf-8", "replace"))

    def _line(self, stream: str, text: str) -> None:
        if stream == "stderr":
            self._tail.append(text)
        logs = self._sink()
        if logs is not None:
            logs.append((stream, text))
        else:
            print(f"[flyte worker {self._pid}] {text}", file=sys.stderr)

    def drain(self) -> None:
        """Take in what is already in the pipes, then end any unfinished last line."""
        for fd, stream in self._streams.items():
            while True:
                try:
                    data = os.read(fd, CHUNK)
                except OSError:  # BlockingIOError included: nothing more for now
                    break
                if not data:
                    break
                self._feed(fd, data)
            if self._partial[fd]:
                rest, self._partial[fd] = self._partial[fd], b""
                self._line(stream, rest.decode("utf-8", "replace"))

    def close(self) -> None:
        """Stop reading and close the pipes (after a last drain)."""
        self.drain()
        for fd in self._streams:
            self._loop.remove_reader(fd)
        self._streams.clear()
        for pipe in self._pipes:
            pipe.close()
