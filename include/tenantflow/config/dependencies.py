"""``schedule.after``: checks across a tenant's pipelines — the upstream tables exist, and no cycle.

A pipeline waits for tables of its own tenant only (``ownership.schedule_violations`` refuses another
tenant's namespace). Here: each named table must be the target of another enabled pipeline of the tenant
(else its Asset is never updated and the pipeline would wait forever), and following ``after:`` from any
pipeline must never lead back to it (a cycle waits forever too).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tenantflow import naming
from tenantflow.config.models import PipelineConfig, TenantConfig
from tenantflow.config.schedules import table_of


@dataclass(frozen=True)
class DependencyViolation:
    pipeline_id: str
    field: str
    message: str
    hint: str


def upstream_pipelines(pipeline: PipelineConfig, pipelines: Sequence[PipelineConfig],
                       namespace: str) -> dict[str, PipelineConfig | None]:
    """``after:`` entry -> the pipeline whose target it is (None: no pipeline of the tenant writes it)."""
    by_table = {(namespace, p.target.table): p for p in pipelines}
    refs = pipeline.schedule.after if pipeline.schedule is not None else ()
    return {ref: by_table.get(table_of(ref, namespace)) for ref in refs}


def dependency_violations(tenant: TenantConfig, pipelines: Sequence[PipelineConfig]) -> Iterable[DependencyViolation]:
    namespace = tenant.catalog.namespace
    graph: dict[str, list[str]] = {}
    for pipeline in pipelines:
        graph[pipeline.id] = []
        for i, (ref, upstream) in enumerate(upstream_pipelines(pipeline, pipelines, namespace).items()):
            ns, table = table_of(ref, namespace)
            if not naming.owns_namespace(tenant.id, ns):
                continue  # another tenant's namespace: reported by ownership.schedule_violations
            field = f"schedule.after.{i}"
            known = sorted(naming.table_identifier(namespace, p.target.table) for p in pipelines
                           if p.id != pipeline.id)
            if upstream is None:
                yield DependencyViolation(pipeline.id, field, f"after: no pipeline of tenant {tenant.id!r} loads "
                                          f"table {naming.table_identifier(ns, table)!r}",
                                          f"tables of the tenant's pipelines: {', '.join(known) or 'none'}")
            elif upstream.id == pipeline.id:
                yield DependencyViolation(pipeline.id, field, f"after: {ref!r} is this pipeline's own table",
                                          "a pipeline cannot wait for itself; name an upstream table")
            elif not upstream.enabled:
                yield DependencyViolation(pipeline.id, field, f"after: table {ref!r} is loaded by pipeline "
                                          f"{upstream.id!r}, which is disabled (this pipeline would never run)",
                                          f"enable {upstream.id!r} or remove {ref!r} from `after`")
            else:
                graph[pipeline.id].append(upstream.id)
    yield from _cycles(graph)


def _cycles(graph: dict[str, list[str]]) -> Iterable[DependencyViolation]:
    """One violation per cycle found (depth-first; each pipeline of a cycle is reported at most once)."""
    done: set[str] = set()
    reported: set[str] = set()
    for start in sorted(graph):
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for upstream in graph.get(node, ()):
                if upstream == start and not reported & set(path):
                    reported.update(path)
                    loop = " -> ".join([*path, start])
                    yield DependencyViolation(start, "schedule.after", f"after: pipelines wait for each other in a "
                                              f"cycle ({loop}), so none of them would ever run",
                                              "remove one of the `after:` entries of the cycle")
                elif upstream not in path and upstream not in done:
                    stack.append((upstream, [*path, upstream]))
        done.add(start)
