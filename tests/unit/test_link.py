"""flyte.Link protocol."""

from __future__ import annotations

from dataclasses import dataclass

from flyte._link import Link


@dataclass
class Dashboard(Link):
    name: str = "Dashboard"

    def get_link(
        self, run_name, project, domain, context, parent_action_name, action_name, pod_name, **kwargs
    ):
        return f"https://dash/{project}/{domain}/{run_name}/{action_name}"


def test_subclass_implements_protocol():
    d = Dashboard()
    assert isinstance(d, Link)
    assert d.icon_uri == ""
    url = d.get_link(
        run_name="r1",
        project="p",
        domain="development",
        context={},
        parent_action_name="a0",
        action_name="a1",
        pod_name="w0",
        extra="ignored",
    )
    assert url == "https://dash/p/development/r1/a1"
