"""Send a message to one target: a webhook (JSON POST), a Slack incoming webhook, or email (SMTP)."""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage

from tenantflow.notifications.message import Message
from tenantflow.settings import smtp_settings

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


def send_email(target: str, message: Message) -> None:
    relay = smtp_settings()
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = message.subject, relay.sender, target
    mail.set_content(message.text)
    with smtplib.SMTP(relay.host, relay.port, timeout=TIMEOUT_SECONDS) as smtp:
        smtp.send_message(mail)


SENDERS: dict[str, Callable[[str, Message], None]] = {
    "webhook": send_webhook, "slack": send_slack, "email": send_email,
}
