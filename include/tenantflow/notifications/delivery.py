"""Send each routed alert through its provider notifier; a delivery that fails is logged and counted.

Never raised: an unreachable mail relay, Slack or PagerDuty must not fail (or retry) a pipeline task
or its callback. Each failure increments the metric ``tenantflow.alerts.delivery_failed`` (tags:
tenant, event, kind) and shows in the returned outcome, which task code keeps in its XCom.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from tenantflow.metrics.names import ALERTS_DELIVERY_FAILED, ALERTS_SENT
from tenantflow.notifications.routing import Delivery
from tenantflow.notifications.targets import NOTIFIERS
from tenantflow.notifications.templates import render

log = logging.getLogger(__name__)


def deliver(deliveries: Iterable[Delivery], context: Any) -> dict[str, str]:
    """``{target name: "sent" | "failed: <error>"}`` for every delivery."""
    outcome: dict[str, str] = {}
    deliveries = list(deliveries)
    for d in deliveries:
        alert, kind = d.alert, d.target.kind
        try:
            message = render(alert, d.templates)
            # notify(), not __call__: the text is rendered already, Airflow must not render it again
            NOTIFIERS[kind](d.target, message, alert).notify(context)
            outcome[d.target_name] = "sent"
            _count(ALERTS_SENT, alert, kind)
        except Exception as exc:  # noqa: BLE001 - any delivery problem is reported, not raised
            outcome[d.target_name] = f"failed: {type(exc).__name__}: {str(exc)[:300]}"
            _count(ALERTS_DELIVERY_FAILED, alert, kind)
            log.warning("%s alert of %s to target %s (%s, connection %s) not delivered: %s: %s", alert.event,
                        alert.dag_id, d.target_name, kind, d.target.connection, type(exc).__name__, exc)
    if deliveries:
        failed = sum(1 for v in outcome.values() if v != "sent")
        log.info("%s alert of %s: %d sent, %d failed: %s", deliveries[0].alert.event, deliveries[0].alert.dag_id,
                 len(outcome) - failed, failed, outcome)
    return outcome


def _count(metric: Any, alert: Any, kind: str) -> None:
    try:
        from airflow.sdk.observability.stats import Stats

        Stats.incr(metric.name, tags={"tenant": alert.tenant, "event": alert.event, "kind": kind})
    except Exception:  # noqa: BLE001 - metrics are best effort
        log.debug("metric %s not emitted", metric.name, exc_info=True)
