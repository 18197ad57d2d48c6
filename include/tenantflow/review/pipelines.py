"""Pipelines and DAG ids between two config states: added, removed, renamed, changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tenantflow import naming
from tenantflow.config.loader import TenantBundle
from tenantflow.config.models import PipelineConfig
from tenantflow.review.model import ConfigState, Item, PipelineRename, PlanInput, Section, plural

Key = tuple[str, str]  # (tenant id, pipeline id)
_SHOWN_FIELDS = {"id", "schedule", "enabled", "engine", "source", "target"}


@dataclass(frozen=True)
class PipelineMatch:
    added: tuple[Key, ...]
    removed: tuple[Key, ...]
    renamed: tuple[PipelineRename, ...]
    kept: tuple[Key, ...]


def pipelines_of(state: ConfigState) -> dict[Key, tuple[TenantBundle, PipelineConfig]]:
    return {(tid, p.id): (bundle, p) for tid, bundle in state.bundles.items() for p in bundle.pipelines}


def dag_ids(state: ConfigState) -> set[str]:
    return {dag for tid, bundle in state.bundles.items()
            for dag in naming.tenant_dag_ids(tid, [p.id for p in bundle.pipelines if p.enabled])}


def _content(pipeline: PipelineConfig) -> dict:
    return pipeline.model_dump(mode="json", exclude={"id"})


def match_pipelines(plan_input: PlanInput) -> PipelineMatch:
    """Renames are git's (``git diff -M``), plus an added and a removed pipeline of one tenant whose
    configs are equal apart from the id (a rename git could not see, e.g. copied and deleted in two commits)."""
    base, head = pipelines_of(plan_input.base), pipelines_of(plan_input.head)
    added = set(head) - set(base)
    removed = set(base) - set(head)
    renamed: list[PipelineRename] = []
    for rename in plan_input.renames:
        old, new = (rename.tenant_id, rename.old_id), (rename.target_tenant, rename.new_id)
        if old in removed and new in added:
            renamed.append(rename)
            removed.discard(old)
            added.discard(new)
    for old in sorted(removed):
        twin = next((new for new in sorted(added)
                     if new[0] == old[0] and _content(head[new][1]) == _content(base[old][1])), None)
        if twin is not None:
            renamed.append(PipelineRename(old[0], old[1], twin[1]))
            removed.discard(old)
            added.discard(twin)
    kept = sorted(set(base) & set(head))
    return PipelineMatch(tuple(sorted(added)), tuple(sorted(removed)), tuple(renamed), tuple(kept))


def _schedule(pipeline: PipelineConfig) -> str:
    return pipeline.schedule.describe() if pipeline.schedule else "none (manual runs)"


def _engine(bundle: TenantBundle, pipeline: PipelineConfig) -> str:
    return str(pipeline.engine or bundle.tenant.default_engine)


def _table(bundle: TenantBundle, pipeline: PipelineConfig) -> str:
    return naming.table_identifier(bundle.tenant.catalog.namespace, pipeline.target.table)


def describe(bundle: TenantBundle, pipeline: PipelineConfig) -> str:
    return (f"{pipeline.source.kind} source, schedule {_schedule(pipeline)}, engine {_engine(bundle, pipeline)}"
            f", target {_table(bundle, pipeline)} ({pipeline.target.mode})")


def pipeline_changes(old: tuple[TenantBundle, PipelineConfig], new: tuple[TenantBundle, PipelineConfig]) -> list[str]:
    """What a reviewer should know about one pipeline whose config changed (empty: nothing did)."""
    (ob, op), (nb, np) = old, new
    lines: list[str] = []
    if _schedule(op) != _schedule(np):
        lines.append(f"schedule: {_schedule(op)} -> {_schedule(np)}")
    if op.enabled != np.enabled:
        dag = naming.dag_id(nb.tenant.id, np.id)
        lines.append(f"enabled: true -> false (DAG {dag} is no longer parsed; its runs stay in the history)"
                     if op.enabled else f"enabled: false -> true (DAG {dag} appears and runs on its schedule)")
    if _engine(ob, op) != _engine(nb, np):
        lines.append(f"engine: {_engine(ob, op)} -> {_engine(nb, np)}")
    if op.source.kind != np.source.kind:
        lines.append(f"source kind: {op.source.kind} -> {np.source.kind}")
    if _table(ob, op) != _table(nb, np):
        lines.append(f"target table: {_table(ob, op)} -> {_table(nb, np)} (a new table; {_table(ob, op)} is kept, "
                     "not dropped)")
    if op.target.mode != np.target.mode:
        lines.append(f"target mode: {op.target.mode} -> {np.target.mode}")
    before, after = op.model_dump(mode="json"), np.model_dump(mode="json")
    others = sorted(k for k in before if k not in _SHOWN_FIELDS and before[k] != after[k])
    source_other = {k for k in before["source"] if k != "kind" and before["source"].get(k) != after["source"].get(k)}
    target_other = {k for k in before["target"] if k not in ("table", "mode")
                    and before["target"][k] != after["target"][k]}
    others += [f"source.{k}" for k in sorted(source_other) if op.source.kind == np.source.kind]
    others += [f"target.{k}" for k in sorted(target_other)]
    if others:
        lines.append(f"also changed: {', '.join(others)}")
    return lines


def _items(plan_input: PlanInput, match: PipelineMatch) -> Iterator[Item]:
    base, head = pipelines_of(plan_input.base), pipelines_of(plan_input.head)
    for key in match.added:
        bundle, pipeline = head[key]
        dag = f"DAG {naming.dag_id(*key)}" if pipeline.enabled else "disabled: no DAG yet"
        yield Item(f"pipeline added: {key[0]}/{key[1]} ({dag})", (describe(bundle, pipeline),))
    for key in match.removed:
        bundle, pipeline = base[key]
        yield Item(f"pipeline removed: {key[0]}/{key[1]}",
                   (f"DAG {naming.dag_id(*key)} is no longer parsed; its runs and logs stay in the history",
                    f"table {_table(bundle, pipeline)} is kept, not dropped"))
    for rename in match.renamed:
        old_dag = naming.dag_id(rename.tenant_id, rename.old_id)
        new_dag = naming.dag_id(rename.target_tenant, rename.new_id)
        details = [f"a new DAG id: {new_dag}; the runs and logs of {old_dag} stay under the old id "
                   f"({old_dag} is no longer parsed)"]
        details += pipeline_changes(base[(rename.tenant_id, rename.old_id)],
                                    head[(rename.target_tenant, rename.new_id)])
        yield Item(f"pipeline renamed: {rename.tenant_id}/{rename.old_id} -> {rename.target_tenant}/{rename.new_id}",
                   tuple(details))
    for key in match.kept:
        changes = pipeline_changes(base[key], head[key])
        if changes:
            yield Item(f"pipeline changed: {key[0]}/{key[1]} (DAG {naming.dag_id(*key)})", tuple(changes))


def pipelines_section(plan_input: PlanInput) -> Section | None:
    match = match_pipelines(plan_input)
    items = list(_items(plan_input, match))
    before, after = dag_ids(plan_input.base), dag_ids(plan_input.head)
    added_dags, removed_dags = sorted(after - before), sorted(before - after)
    if added_dags:
        items.append(Item(f"DAG ids added: {', '.join(added_dags)}"))
    if removed_dags:
        items.append(Item(f"DAG ids removed: {', '.join(removed_dags)}"))
    if not items:
        return None
    changed = sum(1 for i in items if i.text.startswith("pipeline changed"))
    counts = ((len(match.added), "added"), (len(match.removed), "removed"), (len(match.renamed), "renamed"),
              (changed, "changed"))
    summary = tuple(f"{plural(n, 'pipeline')} {what}" for n, what in counts if n)
    summary += tuple(f"{plural(len(d), 'DAG')} {what}" for d, what in ((added_dags, "added"),
                                                                       (removed_dags, "removed")) if d)
    return Section("Pipelines and DAGs", tuple(items), summary)
