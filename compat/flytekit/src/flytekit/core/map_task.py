from flytekit.core.array_node_map_task import map_task

__all__ = ["map_task"]
