"""Notifications: tell someone when a run (or an action) succeeds, fails, times out or is aborted.

```python
import flyte
import flyte.notify as notify
from flyte.models import ActionPhase

flyte.with_runcontext(
    notifications=(
        notify.Slack(on_phase=ActionPhase.FAILED, webhook_url="https://hooks.slack.com/...",
                     message="Run {{.Run.Name}} failed: {{.Error}}"),
        notify.Email(on_phase=(ActionPhase.FAILED, ActionPhase.TIMED_OUT), recipients=["oncall@example.com"]),
    ),
).run(main)
```

Where notifications are accepted:

- ``flyte.with_runcontext(notifications=...)``: for the run, when its root action ends;
- ``flyte.Trigger(notifications=...)``: for the runs a deployed trigger starts;
- ``@env.task(notifications=...)`` and ``task.override(notifications=...)`` (flyte-engine only):
  for every action of that task.

Templates: ``{{.Run.Name}}``, ``{{.Run.Project}}``, ``{{.Run.Domain}}``, ``{{.Run.URL}}``,
``{{.Phase}}``, ``{{.Error}}``, ``{{.Task.Name}}``, ``{{.Action.Name}}``, and the same values as
``{run.name}``, ``{project}``, ``{domain}``, ``{run.url}``, ``{run.phase}``, ``{run.error}``,
``{task.name}``, ``{action.name}``, plus ``{run.duration}`` and ``{run.timestamp}``.

Locally, Webhook, Slack and Teams are HTTP requests sent from this process (5 s timeout); Email is
sent through ``FLYTE_SMTP_HOST`` when it is set and otherwise noted as not sent; NamedRule and
NamedDelivery exist only on a control plane and are skipped with a note. A failed delivery is one
line on stderr and never fails the run.
"""

from flyte.notify._notifiers import Email, NamedDelivery, NamedRule, Notification, Slack, Teams, Webhook

__all__ = ["Email", "NamedDelivery", "NamedRule", "Notification", "Slack", "Teams", "Webhook"]
