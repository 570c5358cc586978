"""Delivering one notification from this process.

Webhook-type notifications (Webhook, Slack, Teams) are HTTP requests made with httpx, imported on
first use. E-mail goes through the SMTP server named by ``FLYTE_SMTP_HOST`` (port
``FLYTE_SMTP_PORT``, default 25; ``FLYTE_SMTP_USER`` / ``FLYTE_SMTP_PASSWORD`` to log in, or
``FLYTE_SMTP_PASSWORD_SECRET`` naming a flyte secret that holds the password, with STARTTLS when
the server offers it; sender ``FLYTE_SMTP_FROM``, default ``flyte@localhost``);
without a host it is not sent and says so once.

A delivery never raises: the outcome is a :class:`Delivery`, and a failure is one line on stderr.
Those lines name the notification type, the run and the endpoint's scheme and host only: webhook
paths, query strings, headers and SMTP credentials often hold secrets and are never printed.

A failed try (a connection error, a timeout, an HTTP 5xx or 429, an SMTP error) is tried again,
up to ``TRIES`` times in all, waiting ``RETRY_BACKOFF.delay(n)`` before try ``n + 1`` (the
project's one backoff rule, ``flyte.Backoff``); a 4xx answer other than 429 is final.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flyte._retry import Backoff
from flyte.notify._notifiers import Email, NamedDelivery, NamedRule, Notification, Slack, Teams, Webhook
from flyte.notify._render import PhaseEvent, render, render_value

TIMEOUT_SECONDS = 5.0
"""Per request: a slow endpoint must not hold a run open for long."""
TRIES = 3
"""Tries of one delivery before it is given up (and logged)."""
RETRY_BACKOFF = Backoff(base=0.25, factor=2.0, cap=2.0)
"""Waits between tries: 0.25 s, then 0.5 s."""


class _Final(Exception):
    """A failure that another try cannot fix (an HTTP 4xx other than 429)."""


async def _retrying(send: Any) -> tuple[int, BaseException | None]:
    """Await ``send()`` up to ``TRIES`` times; (tries made, the last error or None)."""
    error: BaseException | None = None
    for attempt in range(1, TRIES + 1):
        try:
            await send()
            return attempt, None
        except _Final as e:
            return attempt, e
        except Exception as e:
            error = e
        if attempt < TRIES:
            await asyncio.sleep(RETRY_BACKOFF.delay(attempt))
    return TRIES, error


def _reason(e: BaseException) -> str:
    return str(e) if isinstance(e, (RuntimeError, _Final)) else type(e).__name__


@dataclass(frozen=True)
class Delivery:
    """The outcome of one notification: ``sent``, and why not when it was not."""

    kind: str
    phase: str
    sent: bool
    detail: str = ""
    tries: int = 1


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else "<invalid url>"


def _say(line: str) -> None:
    print(f"flyte.notify: {line}", file=sys.stderr, flush=True)


def _request_of(n: Notification, variables: dict[str, str]) -> tuple[str, str, dict[str, str], Any]:
    """(method, url, headers, json body) of a webhook-type notification."""
    if isinstance(n, Slack):
        body = (
            {"blocks": render_value(list(n.blocks), variables)}
            if n.blocks
            else {"text": render(n.message or "", variables)}
        )
        return "POST", n.webhook_url, {}, body
    if isinstance(n, Teams):
        body = (
            render_value(n.card, variables)
            if n.card
            else {
                "title": render(n.title, variables),
                "text": render(n.message or "", variables),
            }
        )
        return "POST", n.webhook_url, {}, body
    assert isinstance(n, Webhook)
    headers = {k: render(v, variables) for k, v in (n.headers or {}).items()}
    return n.method, render(n.url, variables), headers, render_value(n.body, variables)


async def post_json(method: str, url: str, headers: dict[str, str], body: Any) -> tuple[int, str | None]:
    """Send one JSON request with retries: (tries made, None) or (tries, why it failed)."""
    import httpx  # only runs that notify pay for the HTTP client

    send_body = method not in ("GET", "HEAD", "OPTIONS", "TRACE", "DELETE")

    async def send() -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = await client.request(method, url, json=body if send_body else None, headers=headers)
        status = response.status_code
        if status >= 500 or status == 429:
            raise RuntimeError(f"HTTP {status}")
        if status >= 400:
            raise _Final(f"HTTP {status}")

    tries, error = await _retrying(send)
    return tries, None if error is None else _reason(error)


async def _post(n: Notification, event: PhaseEvent) -> Delivery:
    kind, phase = type(n).__name__, event.phase.name
    method, url, headers, body = _request_of(n, event.variables())
    try:
        tries, failure = await post_json(method, url, headers, body)
    except Exception as e:  # a URL httpx cannot even parse
        tries, failure = 1, type(e).__name__
    if failure is not None:
        _say(
            f"{kind} notification for run '{event.run_name}' ({phase}) to {_where(url)} "
            f"was not delivered after {tries} tr{'y' if tries == 1 else 'ies'}: {failure}"
        )
        return Delivery(kind, phase, False, failure, tries)
    return Delivery(kind, phase, True, tries=tries)


def _smtp_password() -> str | None:
    """``FLYTE_SMTP_PASSWORD``, else the flyte secret named by ``FLYTE_SMTP_PASSWORD_SECRET``
    (``flyte create secret smtp-password``); never printed."""
    password = os.environ.get("FLYTE_SMTP_PASSWORD")
    secret = os.environ.get("FLYTE_SMTP_PASSWORD_SECRET", "").strip()
    if password is None and secret:
        from flyte._internal.secrets import SecretStore

        password = SecretStore().get(secret).decode("utf-8")
    return password


def _smtp_send(n: Email, event: PhaseEvent, host: str) -> None:
    import smtplib
    from email.message import EmailMessage

    variables = event.variables()
    message = EmailMessage()
    message["Subject"] = render(n.subject, variables)
    message["From"] = os.environ.get("FLYTE_SMTP_FROM", "flyte@localhost")
    message["To"] = ", ".join(n.recipients)
    if n.cc:
        message["Cc"] = ", ".join(n.cc)
    message.set_content(render(n.body, variables))
    if n.html_body:
        message.add_alternative(render(n.html_body, variables), subtype="html")
    port = int(os.environ.get("FLYTE_SMTP_PORT", "25"))
    user, password = os.environ.get("FLYTE_SMTP_USER"), _smtp_password()
    with smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls()
            smtp.ehlo()
        if user:
            smtp.login(user, password or "")
        smtp.send_message(message, to_addrs=[*n.recipients, *n.cc, *n.bcc])


async def _mail(n: Email, event: PhaseEvent) -> Delivery:
    phase = event.phase.name
    host = os.environ.get("FLYTE_SMTP_HOST", "").strip()
    if not host:
        _say(
            f"Email notification for run '{event.run_name}' ({phase}) not sent: "
            "set FLYTE_SMTP_HOST to send e-mail"
        )
        return Delivery("Email", phase, False, "no SMTP server configured (FLYTE_SMTP_HOST)")
    tries, error = await _retrying(lambda: asyncio.to_thread(_smtp_send, n, event, host))
    if error is not None:
        _say(
            f"Email notification for run '{event.run_name}' ({phase}) via {host} "
            f"was not delivered after {tries} tr{'y' if tries == 1 else 'ies'}: {type(error).__name__}"
        )
        return Delivery("Email", phase, False, type(error).__name__, tries)
    return Delivery("Email", phase, True, tries=tries)


async def deliver(n: Notification | NamedRule, event: PhaseEvent) -> Delivery | None:
    """Send ``n`` if it is for ``event``'s phase; None when it is not."""
    if isinstance(n, (NamedRule, NamedDelivery)):
        _say(f"{type(n).__name__} {n.name!r} is configured on a control plane; a local run skips it")
        return Delivery(type(n).__name__, event.phase.name, False, "named rules are not available locally")
    if event.phase not in n.phases:
        return None
    if isinstance(n, Email):
        return await _mail(n, event)
    return await _post(n, event)


async def deliver_all(
    notifications: tuple[Notification | NamedRule, ...], event: PhaseEvent
) -> list[Delivery]:
    """Send every notification of ``notifications`` that is for ``event``'s phase, concurrently."""
    results = await asyncio.gather(*(deliver(n, event) for n in notifications), return_exceptions=True)
    deliveries = []
    for n, result in zip(notifications, results, strict=True):
        if isinstance(result, BaseException):  # a bug here must still not fail the run
            _say(
                f"{type(n).__name__} notification for run '{event.run_name}' failed: {type(result).__name__}"
            )
            deliveries.append(Delivery(type(n).__name__, event.phase.name, False, type(result).__name__))
        elif result is not None:
            deliveries.append(result)
    return deliveries
