"""The notification types: what to send, to whom, and on which phases of a run or an action.

Each type is a frozen dataclass validated at construction. ``on_phase`` takes one phase or several
(``flyte.models.ActionPhase`` members, or their names/values as strings such as ``"FAILED"``) and
is normalised to a tuple of ``ActionPhase``. Only terminal phases can be notified on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional, Union

from flyte.models import ActionPhase

SUPPORTED_PHASES = frozenset(
    {ActionPhase.SUCCEEDED, ActionPhase.FAILED, ActionPhase.TIMED_OUT, ActionPhase.ABORTED}
)

HttpMethod = Literal["POST", "PUT", "PATCH", "GET", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"]
_METHODS = frozenset(HttpMethod.__args__)  # type: ignore[attr-defined]


def _phase_of(value: Any, where: str) -> ActionPhase:
    if isinstance(value, ActionPhase):
        phase = value
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            phase = ActionPhase(text)
        except ValueError:
            raise ValueError(f"{where}: unknown phase {value!r}; use one of {_supported_names()}") from None
    else:
        raise TypeError(f"{where}: on_phase takes ActionPhase members or phase names, got {value!r}")
    if phase not in SUPPORTED_PHASES:
        raise ValueError(
            f"{where}: notifications on phase {phase.name} are not supported; use {_supported_names()}"
        )
    return phase


def _supported_names() -> str:
    return ", ".join(sorted(p.name for p in SUPPORTED_PHASES))


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class NamedRule:
    """A notification rule configured on the platform, referenced by name.

    Named rules live on a control plane; a local run has none, so it skips them with one note.
    """

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("NamedRule: the rule name must be a non-empty string")


@dataclass(frozen=True, kw_only=True)
class Notification:
    """Base of every notification: the phase(s) it is sent on."""

    on_phase: Union[ActionPhase, tuple[ActionPhase, ...]]

    def __post_init__(self) -> None:
        where = type(self).__name__
        raw = self.on_phase
        items = (
            (raw,)
            if isinstance(raw, (str, ActionPhase))
            else tuple(raw)
            if isinstance(raw, (list, tuple))
            else None
        )
        if items is None:
            raise TypeError(f"{where}: on_phase takes a phase or a tuple of phases, got {raw!r}")
        if not items:
            raise ValueError(f"{where}: at least one phase must be given in on_phase")
        _set(self, "on_phase", tuple(dict.fromkeys(_phase_of(p, where) for p in items)))

    @property
    def phases(self) -> tuple[ActionPhase, ...]:
        """``on_phase`` as a tuple of ``ActionPhase``."""
        return self.on_phase  # type: ignore[return-value]


@dataclass(frozen=True, kw_only=True)
class NamedDelivery(Notification):
    """A delivery channel configured on the platform, referenced by name (skipped locally)."""

    name: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("NamedDelivery: the delivery config name must be a non-empty string")


def _strings(obj: Any, field_name: str, required: bool) -> None:
    value = getattr(obj, field_name)
    if isinstance(value, str):
        value = (value,)
    value = tuple(value or ())
    for address in value:
        if not isinstance(address, str) or not address.strip():
            raise ValueError(
                f"{type(obj).__name__}: {field_name} must hold e-mail addresses, got {address!r}"
            )
    if required and not value:
        raise ValueError(f"{type(obj).__name__}: at least one recipient must be given")
    _set(obj, field_name, value)


@dataclass(frozen=True, kw_only=True)
class Email(Notification):
    """An e-mail. Subject and bodies are templates (see ``flyte.notify``).

    Locally it is sent through the SMTP server named by ``FLYTE_SMTP_HOST``; without one it is
    recorded as not sent.
    """

    recipients: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str = "Run {{.Run.Name}} {{.Phase}}"
    body: str = (
        "Run: {{.Run.Name}}\nProject/Domain: {{.Run.Project}}/{{.Run.Domain}}\n"
        "Phase: {{.Phase}}\nError: {{.Error}}\n"
    )
    html_body: Optional[str] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _strings(self, "recipients", required=True)
        _strings(self, "cc", required=False)
        _strings(self, "bcc", required=False)


@dataclass(frozen=True, kw_only=True)
class Slack(Notification):
    """A Slack incoming-webhook message: plain ``message`` text, or Block Kit ``blocks``."""

    webhook_url: str
    message: Optional[str] = None
    blocks: Optional[tuple[dict[str, Any], ...]] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.webhook_url, str) or not self.webhook_url:
            raise ValueError("Slack: webhook_url is required")
        if self.blocks is not None:
            _set(self, "blocks", tuple(self.blocks))
        if self.message is None and self.blocks is None:
            _set(
                self,
                "message",
                ("Run: {{.Run.Name}} finished with phase {{.Phase}}\n | {{.Run.Project}}/{{.Run.Domain}}\n"),
            )


@dataclass(frozen=True, kw_only=True)
class Teams(Notification):
    """A Microsoft Teams webhook message: ``title`` and ``message``, or an Adaptive ``card``."""

    webhook_url: str
    title: str = "Run {{.Run.Name}} {{.Phase}}"
    message: Optional[str] = None
    card: Optional[dict[str, Any]] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.webhook_url, str) or not self.webhook_url:
            raise ValueError("Teams: webhook_url is required")
        if self.message is None and self.card is None:
            _set(
                self,
                "message",
                (
                    "Run: {{.Run.Name}}\nProject/Domain: {{.Run.Project}}/{{.Run.Domain}}\n"
                    "Phase: {{.Phase}}\nError: {{.Error}}\n"
                ),
            )


@dataclass(frozen=True, kw_only=True)
class Webhook(Notification):
    """Any HTTP endpoint: the URL, header values and every string in ``body`` are templates.

    The default body describes the run: task, run, action, project, domain, phase, error and URL.
    """

    url: str
    method: HttpMethod = "POST"
    headers: Optional[dict[str, str]] = None
    body: Optional[dict[str, Any]] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.url, str) or not self.url:
            raise ValueError("Webhook: url is required")
        if self.method not in _METHODS:
            raise ValueError(
                f"Webhook: method must be one of {', '.join(sorted(_METHODS))}, got {self.method!r}"
            )
        for key, value in (self.headers or {}).items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"Webhook: headers must map str to str, got {key!r}")
        if self.body is None:
            _set(
                self,
                "body",
                {
                    "task": "{{.Task.Name}}",
                    "run": "{{.Run.Name}}",
                    "action": "{{.Action.Name}}",
                    "project": "{{.Run.Project}}",
                    "domain": "{{.Run.Domain}}",
                    "phase": "{{.Phase}}",
                    "error": "{{.Error}}",
                    "url": "{{.Run.URL}}",
                },
            )


Notifications = Union[NamedRule, Notification, tuple[Notification, ...]]


def normalize(value: Any, where: str) -> tuple[Notification | NamedRule, ...]:
    """``notifications=`` as given by a user (one, several, or None) as a tuple, validated."""
    if value is None:
        return ()
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    for item in items:
        if not isinstance(item, (Notification, NamedRule)):
            raise TypeError(
                f"{where}: notifications takes flyte.notify objects (Email, Slack, Teams, Webhook, "
                f"NamedRule, NamedDelivery), got {item!r}"
            )
    return items
