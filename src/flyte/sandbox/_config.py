"""Limits for code run in the Monty sandbox."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxedConfig:
    """How much the sandboxed code of one task may use: memory, recursion depth and execution
    time (time spent waiting for the tasks it calls is not counted)."""

    max_memory: int = 50 * 1024 * 1024
    max_stack_depth: int = 256
    timeout_ms: int = 30_000
    type_check: bool = True
