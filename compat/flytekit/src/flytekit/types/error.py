"""``FlyteError``: what a workflow's failure handler receives as ``err``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FlyteError:
    message: str
    failed_node_id: str = ""
