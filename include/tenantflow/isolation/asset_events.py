"""Run-time guard of event-driven runs: only the tenant's own asset events may start its work.

A pipeline DAG is scheduled on its own Assets only (the config and the cluster policy see to that), but
anyone allowed to post asset events (REST API), or a DAG of another tenant declaring an outlet on one of
these Assets, could still make an event that starts a run. The first task of the run checks each
triggering event before any work, and fails the run (no retry) on one it cannot attribute to the tenant:

* a table Asset (``after:``): the event was made by a task of a DAG of the same tenant (its ``register``);
* the file-arrival Asset (``on: file_arrival``): the event was made by the pipeline's own watcher in the
  triggerer (``from_trigger``), not posted through the REST API (``from_rest_api``, which Airflow sets);
* any other Asset: not one this DAG is scheduled on — refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tenantflow import naming
from tenantflow.isolation.guards import TenantIsolationError


@dataclass(frozen=True)
class TriggeringEvent:
    """What the guard and the file-arrival source need of an asset event that triggered the run."""

    asset_name: str
    asset_uri: str
    extra: dict[str, Any]
    source_dag_id: str | None


def triggering_events(context: Any) -> list[TriggeringEvent]:
    """The run's triggering asset events (empty for a cron or manual run)."""
    accessor = context.get("triggering_asset_events") if hasattr(context, "get") else None
    if not accessor:
        return []
    events: list[TriggeringEvent] = []
    seen: set[tuple[str, str, str]] = set()
    for key in accessor:
        for event in accessor[key]:
            identity = (event.asset.name, event.asset.uri, str(event.timestamp))
            if identity in seen:  # an event is listed again under each alias it came through
                continue
            seen.add(identity)
            events.append(TriggeringEvent(event.asset.name, event.asset.uri, dict(event.extra or {}),
                                          event.source_dag_id))
    return events


def refused_events(ctx: Any, events: Iterable[TriggeringEvent]) -> Iterator[str]:
    """Why each event may not start this tenant's pipeline (nothing: all are the tenant's own)."""
    from tenantflow.factory.schedule import ARRIVAL_ASSET_GROUP, schedule_assets

    expected = {(a.name, a.uri): a.group for a in schedule_assets(ctx)}
    tenant_id = ctx.tenant_id
    for event in events:
        group = expected.get((event.asset_name, event.asset_uri))
        what = f"asset event of {event.asset_uri!r}"
        producer = naming.split_dag_id(event.source_dag_id or "")
        if group is None:
            yield f"{what}: the DAG {ctx.dag_id!r} is not scheduled on this asset"
        elif group == ARRIVAL_ASSET_GROUP:
            if event.extra.get("from_rest_api") or not event.extra.get("from_trigger"):
                yield f"{what}: not made by the pipeline's file-arrival watcher (posted through the REST API?)"
        elif producer is None or producer[0] != tenant_id:
            by = f"DAG {event.source_dag_id!r}" if event.source_dag_id else "no DAG (REST API)"
            yield f"{what}: made by {by}, not by a DAG of tenant {tenant_id!r}"


def require_own_asset_events(ctx: Any, context: Any) -> list[TriggeringEvent]:
    """The run's triggering events, all the tenant's own; raises ``TenantIsolationError`` otherwise."""
    events = triggering_events(context)
    refused = list(refused_events(ctx, events))
    if refused:
        raise TenantIsolationError(f"run of {ctx.dag_id!r} refused: " + "; ".join(refused))
    return events
