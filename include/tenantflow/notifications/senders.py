"""Send a message to one target: a webhook (JSON POST), a Slack incoming webhook, or email (SMTP)."""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage

from tenantflow.notifications.message import Message

TIMEOUT_SECONDS = 10


def _post(url: str, payload: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(payload, default=str).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (tenant's own target)
        if response.status >= 300:
            raise OSError(f"HTTP {response.status}")


def send_webhook(target: str, message: Message) -> None:
    _post(target, message.as_dict())


def send_slack(target: str, message: Message) -> None:
    _post(target, {"text": f"*{message.subject}*\n{message.text}"})


def smtp_settings() -> tuple[str, int, str]:
    """(host, port, sender): TENANTFLOW_SMTP_* if set, else Airflow's [smtp] section."""
    host = os.environ.get("TENANTFLOW_SMTP_HOST")
    if host:
        return (host, int(os.environ.get("TENANTFLOW_SMTP_PORT", "25")),
                os.environ.get("TENANTFLOW_SMTP_FROM", "tenantflow@localhost"))
    from airflow.configuration import conf

    return (conf.get("smtp", "smtp_host", fallback="localhost"), conf.getint("smtp", "smtp_port", fallback=25),
            conf.get("smtp", "smtp_mail_from", fallback="tenantflow@localhost"))


def send_email(target: str, message: Message) -> None:
    host, port, sender = smtp_settings()
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = message.subject, sender, target
    mail.set_content(message.text)
    with smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS) as smtp:
        smtp.send_message(mail)


SENDERS: dict[str, Callable[[str, Message], None]] = {
    "webhook": send_webhook, "slack": send_slack, "email": send_email,
}
