"""``flyte.Link``: how a task advertises extra links (dashboards, logs) for each of its actions."""

from __future__ import annotations

from typing import Optional, Protocol, runtime_checkable

__all__ = ["Link"]


@runtime_checkable
class Link(Protocol):
    """A named link shown next to an action, e.g. to an experiment tracker or a log viewer.

    Implement ``name`` (and optionally ``icon_uri``) and :meth:`get_link`; a dataclass that
    subclasses ``Link`` works well::

        @dataclass
        class Dashboard(flyte.Link):
            name: str = "Dashboard"

            def get_link(self, run_name, project, domain, context, parent_action_name, action_name,
                         pod_name, **kwargs) -> str:
                return f"https://dash.example.com/{project}/{run_name}/{action_name}"
    """

    name: str
    icon_uri: Optional[str] = ""

    def get_link(
        self,
        run_name: str,
        project: str,
        domain: str,
        context: dict[str, str],
        parent_action_name: str,
        action_name: str,
        pod_name: str,
        **kwargs: object,
    ) -> str:
        """Return the URL for one action.

        Args:
            run_name: the run the action belongs to.
            project: the project of the run.
            domain: the domain of the run.
            context: extra key/value context (e.g. the custom context of the run).
            parent_action_name: the action that started this one.
            action_name: the action itself.
            pod_name: where the action runs (the local engine passes the worker's name).
            kwargs: further values future engines may pass; accept and ignore what you do not use.
        """
        raise NotImplementedError
