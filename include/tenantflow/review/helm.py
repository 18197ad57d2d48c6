"""The tenant part of the Helm values between two config states: Celery worker sets added, removed, changed.

Both sides are `tenant_values(bundles)`, the same pure function that renders
helm-values/tenants.values.yaml, so the plan shows what that file's diff will be once regenerated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenantflow.config.loader import TenantBundle
from tenantflow.deploy.helm_values import OUT_OF_DATE_HINT, TENANT_LABEL, tenant_values
from tenantflow.review.model import Item, PlanInput, Section, plural

TENANT_VALUES_FILE = "helm-values/tenants.values.yaml"
# Flattened into dotted fields so a change names the leaf (resources.limits.memory); other maps
# (nodeSelector, labels) are shown whole: the chart replaces them whole, not key by key.
_NESTED = {"resources", "requests", "limits", "serviceAccount", "annotations"}


def worker_sets(bundles: Mapping[str, TenantBundle]) -> dict[str, dict[str, Any]]:
    """The rendered `workers.celery.sets` items by the queue they consume."""
    return {item["queue"]: item for item in tenant_values(bundles)["workers"]["celery"]["sets"]}


def _fields(item: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in item.items():
        if key in _NESTED and isinstance(value, Mapping):
            fields.update(_fields(value, f"{prefix}{key}."))
        else:
            fields[f"{prefix}{key}"] = value
    return fields


def _show(value: Any) -> str:
    if value is None or value == {} or value == []:
        return "none"
    if isinstance(value, Mapping):
        if set(value) == {"name", "value"}:  # an env entry
            return f"{value['name']}={value['value']}"
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value)
    return str(value)


def _described(item: Mapping[str, Any]) -> tuple[str, ...]:
    requests, limits = item["resources"]["requests"], item["resources"]["limits"]
    role = item.get("serviceAccount", {}).get("annotations")
    return (
        f"replicas {item['replicas']}, requests {requests['cpu']} CPU / {requests['memory']}, "
        f"limits {limits['cpu']} CPU / {limits['memory']}",
        f"nodeSelector {_show(item.get('nodeSelector'))}",
        f"IAM role: {_show(role) if role else 'the shared workers role (workers.serviceAccount)'}",
    )


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    before, after = _fields(old), _fields(new)
    return [f"{name}: {_show(before.get(name))} -> {_show(after.get(name))}"
            for name in [*before, *(k for k in after if k not in before)] if before.get(name) != after.get(name)]


def helm_values_section(plan_input: PlanInput) -> Section | None:
    base, head = worker_sets(plan_input.base.bundles), worker_sets(plan_input.head.bundles)
    items: list[Item] = []
    added = sorted(set(head) - set(base))
    removed = sorted(set(base) - set(head))
    for queue in added:
        item = head[queue]
        items.append(Item(f"worker set added: {item['name']} consuming queue {queue} "
                          f"(tenant {item['labels'][TENANT_LABEL]})", _described(item)))
    for queue in removed:
        items.append(Item(f"worker set removed: {base[queue]['name']} (queue {queue})", (
            f"its worker pods go at the next `helm upgrade`; tasks still queued on {queue} are not run",)))
    changed = 0
    for queue in sorted(set(base) & set(head)):
        lines = changed_fields(base[queue], head[queue])
        if lines:
            changed += 1
            items.append(Item(f"worker set changed: {head[queue]['name']} (queue {queue})", tuple(lines)))
    if not items:
        return None
    items.append(Item(f"{TENANT_VALUES_FILE} changes: {OUT_OF_DATE_HINT} and commit it; "
                      "`helm upgrade` with both values files applies it"))
    summary = tuple(f"{plural(n, 'worker set')} {what}" for n, what in
                    ((len(added), "added"), (len(removed), "removed"), (changed, "changed")) if n)
    return Section("Helm values (worker sets)", tuple(items), summary)
