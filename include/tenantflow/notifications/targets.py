"""One target kind = one of Airflow's provider notifiers, bound to the target's connection.

Built at delivery time, inside task (or triggerer) code: the providers are not imported while a
DAG file is parsed. Each builder gets the rendered message and the alert (for structured payloads).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from tenantflow.notifications.alert import Alert
from tenantflow.notifications.templates import Rendered

# PagerDuty's event severities for ours
PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def smtp_notifier(target: Any, message: Rendered, alert: Alert) -> Any:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(
        to=list(target.to), cc=list(target.cc) or None, from_email=target.from_email,
        subject=message.subject, html_content=f"<pre>{html.escape(message.text)}</pre>",
        smtp_conn_id=target.connection,
    )


def slack_notifier(target: Any, message: Rendered, alert: Alert) -> Any:
    text = f"*{message.subject}*\n{message.text}"
    if target.channel is not None:
        from airflow.providers.slack.notifications.slack import SlackNotifier

        return SlackNotifier(slack_conn_id=target.connection, channel=target.channel, text=text)
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    return SlackWebhookNotifier(slack_webhook_conn_id=target.connection, text=text)


def pagerduty_notifier(target: Any, message: Rendered, alert: Alert) -> Any:
    from tenantflow.notifications.pagerduty import RegionalPagerdutyNotifier

    return RegionalPagerdutyNotifier(
        pagerduty_events_conn_id=target.connection, summary=message.subject[:1024],
        severity=PAGERDUTY_SEVERITY[alert.severity], source=target.source, component=alert.pipeline,
        group=alert.tenant, class_type=alert.event,
        # one open incident per pipeline and event: repeats update it instead of paging again
        dedup_key=f"tenantflow/{alert.dag_id}/{alert.event}",
        custom_details={"text": message.text, **{k: str(v) for k, v in alert.counts.items()}},
        links=[{"href": url, "text": name} for name, url in alert.links.items()] or None,
    )


def webhook_notifier(target: Any, message: Rendered, alert: Alert) -> Any:
    from airflow.providers.http.notifications.http import HttpNotifier

    return HttpNotifier(
        http_conn_id=target.connection, endpoint=target.endpoint, method="POST",
        json={"subject": message.subject, "text": message.text, **alert.context()},
        headers={"Content-Type": "application/json"},
    )


NOTIFIERS: dict[str, Callable[[Any, Rendered, Alert], Any]] = {
    "smtp": smtp_notifier,
    "slack": slack_notifier,
    "pagerduty": pagerduty_notifier,
    "webhook": webhook_notifier,
}
