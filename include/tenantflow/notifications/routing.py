"""Which targets an alert goes to, at which severity: the tenant's routing table and the platform's on-call.

Pure: config in, a list of deliveries out. ``escalation`` also goes to the platform's on-call, at
the on-call's severity and with its templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenantflow.notifications.alert import Alert


@dataclass(frozen=True)
class Delivery:
    target_name: str  # "<name>" of the tenant's targets, "oncall:<name>" of the platform's
    target: Any  # a config.alerting target model
    alert: Alert  # with the routed severity
    templates: Any  # Mapping[event, Template]


def route(alert: Alert, tenant_alerting: Any, platform_alerting: Any = None) -> list[Delivery]:
    severity, names = tenant_alerting.targets_for(alert.event)
    deliveries = [
        Delivery(name, tenant_alerting.targets[name], alert.with_severity(severity), tenant_alerting.templates)
        for name in names
    ]
    oncall = getattr(platform_alerting, "oncall", None)
    if alert.event == "escalation" and oncall is not None:
        routed = alert.with_severity(oncall.severity)
        deliveries += [Delivery(f"oncall:{name}", target, routed, oncall.templates)
                       for name, target in oncall.targets.items()]
    return deliveries
