"""Synthetic tenants for the parse benchmark: a config tree, factory entry files, and hand-written twins.

The hand-written ("static") DAG files are what a person would write without the factory: DAG
and operator constructor calls with literal arguments. The operators need a
``pipeline_ctx``; it is built from the already-validated config with ``Model.model_construct(...)``
(no validation, no YAML), the cheapest honest equivalent of what the factory hands them. Every
literal (doc_md, tags, default_args, ...) is computed once here with the factory's
own helpers, so both sides build the same DAGs; the benchmark checks that by fingerprint.
"""

from __future__ import annotations

import enum
import shutil
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]
ENTRY_FILE = REPO / "dags" / "tenants" / "finance.py"
PLATFORM_FILE = REPO / "tenant_configs" / "_platform.yaml"
PIPELINE_NAMES = ("orders", "fx_rates", "events", "products", "customers")


def tenant_id(index: int, width: int = 4) -> str:
    return f"t{index:0{width}d}"


def id_width(tenants: int) -> int:
    return max(4, len(str(tenants)))


# --------------------------------------------------------------------------- config tree


def tenant_doc(i: int, tid: str) -> dict[str, Any]:
    dedicated = i % 10 == 0
    doc: dict[str, Any] = {
        "display_name": f"Tenant {tid.upper()}",
        "owners": [{"name": f"Data team {tid}", "email": f"{tid}-data@example.com"}],
        "quotas": {"pool_slots": 2 + i % 4, "max_active_runs": 1 + i % 3, "max_active_tasks": 4 + i % 5},
        "storage": {"landing": f"landing/{tid}"},
        "catalog": {"namespace": tid},
        "classification": ("internal", "restricted", "highly_restricted", "public")[i % 4],
        "access": {"admins": [f"{tid}_admin"], "engineers": [f"{tid}_eng"], "analysts": [f"{tid}_analyst"]},
        "alerting": {
            "targets": {"oncall": {"kind": "smtp", "connection": f"{tid}__smtp",
                                   "to": [f"{tid}-oncall@example.com"]}},
            "events": {"failure": "critical", "quality_warning": "warning",
                       **({"success": "info"} if i % 5 == 0 else {})},
            "severities": {"critical": ["oncall"], "warning": ["oncall"], "info": ["oncall"]},
        },
    }
    if dedicated:
        doc["tier"] = "dedicated"
        doc["quotas"]["worker_queue"] = f"tenant_{tid}"
    if i % 3 == 0:
        doc["retries"] = {"retries": 3, "retry_delay_seconds": 60, "max_retry_delay_seconds": 1800}
    return doc


def pipeline_doc(i: int, j: int, tid: str) -> tuple[str, dict[str, Any]]:
    """(pipeline id, YAML mapping) of the j-th pipeline of tenant i; five shapes, repeated."""
    kind = j % len(PIPELINE_NAMES)
    pid = PIPELINE_NAMES[kind] if j < len(PIPELINE_NAMES) else f"{PIPELINE_NAMES[kind]}_{j // 5}"
    conn = f"{tid}__db"
    shapes: list[dict[str, Any]] = [
        {"description": f"Orders of {tid} from the ERP,\nmerged on `order_id`.", "tags": ["erp", "orders"],
         "schedule": {"cron": "0 2 * * *", "timezone": "Europe/Berlin"},
         "source": {"kind": "sql", "connection_id": conn, "table": "orders"},
         "quality": [{"rule": "not_null", "column": "order_id"}, {"rule": "unique", "column": "order_id"},
                     {"rule": "range", "column": "amount", "min": 0},
                     {"rule": "accepted_values", "column": "currency", "values": ["EUR", "USD", "GBP"],
                      "severity": "warn"}],
         "target": {"table": pid, "mode": "merge", "merge_keys": ["order_id"],
                    "partition_by": [{"column": "currency"}]},
         "sla": {"fresh_by": "06:00", "timezone": "Europe/Berlin", "max_duration": "2h"}},
        {"description": "Daily FX rates as CSV files.", "tags": ["fx"],
         "schedule": {"cron": "0 7 * * 1-5", "timezone": "Europe/Berlin"},
         "source": {"kind": "files", "path": f"sources/{tid}/fx_rates/*.csv", "format": "csv"},
         "quality": [{"rule": "not_null", "column": "rate"},
                     {"rule": "range", "column": "rate", "min": 0.0001}, {"rule": "row_count", "min": 28}],
         "target": {"table": pid, "mode": "overwrite"}},
        {"description": "Click events, incremental on updated_at.", "tags": ["events"],
         "schedule": {"cron": "*/30 * * * *", "timezone": "UTC"},
         "source": {"kind": "sql", "connection_id": conn, "query": "SELECT * FROM events"},
         "incremental": {"cursor": "updated_at"},
         "quality": [{"rule": "not_null", "column": "event_id"},
                     {"rule": "regex", "column": "event_type", "pattern": "^[a-z_]+$"}],
         "target": {"table": pid, "mode": "append",
                    "partition_by": [{"column": "created_at", "transform": "day"}]}},
        {"description": "Product catalogue (NDJSON), merged on SKU.", "tags": ["catalogue"],
         "source": {"kind": "files", "path": f"sources/{tid}/products.json", "format": "json"},
         "quality": [{"rule": "not_null", "column": "sku"},
                     {"rule": "accepted_values", "column": "category", "values": ["grocery", "home"]}],
         "target": {"table": pid, "mode": "merge", "merge_keys": ["sku"], "comment": "product catalogue"}},
        {"description": "Customer master data, replaced on every load.", "tags": ["crm"],
         "owner": f"{tid}-crm@example.com", "schedule": {"cron": "30 1 * * *"},
         "source": {"kind": "sql", "connection_id": conn, "table": "customers",
                    "columns": ["customer_id", "name", "email", "segment"]},
         "quality": [{"rule": "unique", "column": "email"}],
         "target": {"table": pid, "mode": "overwrite"}},
    ]
    return pid, shapes[kind]


def write_tree(root: Path, tenants: int, pipelines: int) -> tuple[Path, Path]:
    """Write ``root/configs`` (the config tree) and ``root/dags`` (one entry file per tenant)."""
    configs, dags = root / "configs", root / "dags" / "tenants"
    configs.mkdir(parents=True)
    dags.mkdir(parents=True)
    shutil.copyfile(PLATFORM_FILE, configs / "_platform.yaml")
    entry = ENTRY_FILE.read_text(encoding="utf-8")
    width = id_width(tenants)
    for i in range(1, tenants + 1):
        tid = tenant_id(i, width)
        folder = configs / tid / "pipelines"
        folder.mkdir(parents=True)
        _dump(configs / tid / "tenant.yaml", tenant_doc(i, tid))
        for j in range(pipelines):
            pid, doc = pipeline_doc(i, j, tid)
            _dump(folder / f"{pid}.yaml", doc)
        (dags / f"{tid}.py").write_text(entry, encoding="utf-8")
    return configs, dags


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


# --------------------------------------------------------------------------- static twins


class _Source:
    """Python source literals for validated config values (models become ``model_construct`` calls)."""

    def __init__(self) -> None:
        self.names: set[tuple[str, str]] = set()  # (module, class) of the models the source names
        self.contexts: dict[int, str] = {}  # id(PipelineContext) -> the variable holding it

    def __call__(self, value: Any) -> str:
        if isinstance(value, BaseModel):
            return self.model(value)
        if isinstance(value, enum.Enum):
            self.names.add((type(value).__module__, type(value).__name__))
            return f"{type(value).__name__}.{value.name}"
        if isinstance(value, timedelta):
            return f"timedelta(seconds={int(value.total_seconds())})"
        if isinstance(value, time):
            return f"time({value.hour}, {value.minute}, {value.second})"
        if isinstance(value, tuple):
            return "(" + "".join(f"{self(v)}, " for v in value) + ")"
        if isinstance(value, list):
            return "[" + ", ".join(self(v) for v in value) + "]"
        if isinstance(value, set | frozenset):
            return "{" + ", ".join(self(v) for v in sorted(value)) + "}" if value else "set()"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self(k)}: {self(v)}" for k, v in value.items()) + "}"
        if value is None or isinstance(value, str | int | float | bool):
            return repr(value)
        if type(value).__name__ == "TenantAlertNotifier":
            return f"TenantAlertNotifier(pipeline_ctx={self.contexts[id(value.pipeline_ctx)]}, event={value.event!r})"
        raise TypeError(f"no literal for {type(value).__name__}")

    def model(self, model: BaseModel) -> str:
        cls = type(model)
        self.names.add((cls.__module__, cls.__name__))
        args = []
        for name, field in cls.model_fields.items():
            value = getattr(model, name)
            if not field.is_required() and value == field.get_default(call_default_factory=True):
                continue  # model_construct fills defaults, as a hand-written call would leave them out
            args.append(f"{name}={self(value)}")
        return f"{cls.__name__}.model_construct({', '.join(args)})"


def static_module(bundle: Any, home: str) -> str:
    """Source of one hand-written DAG file holding every DAG of the tenant in ``bundle``."""
    from tenantflow.factory.dag_builder import default_args
    from tenantflow.factory.docs import pipeline_doc_md
    from tenantflow.pipeline_context import PipelineContext

    lit = _Source()
    tenant = bundle.tenant
    body = [f"HOME = {home!r}", "START_DATE = datetime(2026, 1, 1, tzinfo=UTC)",
            f"PLATFORM = {lit(bundle.platform)}", f"TENANT = {lit(tenant)}"]
    contexts = [PipelineContext(tenant, p, bundle.platform, home) for p in bundle.pipelines if p.enabled]
    for n, ctx in enumerate(contexts):
        lit.contexts[id(ctx)] = f"ctx_{n}"
        body.append(_static_dag(n, ctx, lit, default_args(ctx), pipeline_doc_md(ctx)))
    if contexts:
        body.append(_static_maintenance_dag(contexts, lit))
    modules: dict[str, list[str]] = {}
    for module, name in sorted(lit.names):
        modules.setdefault(module, []).append(name)
    models = "\n".join(f"from {module} import {', '.join(names)}" for module, names in modules.items())
    header = f'''"""Hand-written Airflow DAGs of tenant {tenant.id} (parse benchmark baseline)."""

from datetime import UTC, datetime, time, timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable

{models}
from tenantflow.operators.extract import ExtractOperator
from tenantflow.operators.land import LandOperator
from tenantflow.operators.load import IcebergLoadOperator
from tenantflow.operators.maintenance import QualityTablesMaintenanceOperator, TableMaintenanceOperator
from tenantflow.operators.quality import QualityCheckOperator
from tenantflow.operators.register import RegisterTableOperator
from tenantflow.notifications.notifier import TenantAlertNotifier
from tenantflow.notifications.sla import deadline_alerts
from tenantflow.factory.schedule import pipeline_schedule
from tenantflow.pipeline_context import PipelineContext
'''
    return header + "\n" + "\n\n".join(body) + "\n"


def _static_dag(n: int, ctx: Any, lit: _Source, args: dict[str, Any], doc: str) -> str:
    from tenantflow.factory.dag_builder import _last_task_callbacks, run_callbacks

    pipeline, tenant = ctx.pipeline, ctx.tenant
    on_success = run_callbacks(ctx).get("on_success_callback")
    dag_callback = f"\n    on_success_callback={lit(on_success)}," if on_success else ""
    reset = _last_task_callbacks(ctx).get("on_success_callback")
    task_callback = f"\n        on_success_callback={lit(reset)}," if reset else ""
    # the `sla:` as deadline alerts: a hand-written DAG would call the same helper rather than spell them out
    deadline = f"deadline_alerts(ctx_{n}) or None" if pipeline.sla else "None"
    tags = [f"tenant:{tenant.id}", f"tier:{tenant.tier}", f"engine:{ctx.engine}", *pipeline.tags]
    description = (pipeline.description.strip().splitlines() or [""])[0][:200] or None
    if pipeline.schedule is None:
        schedule = "None"
    elif pipeline.schedule.is_event_driven:  # assets (and watchers): the same helper a hand-written DAG would call
        schedule = f"pipeline_schedule(ctx_{n})"
    else:
        schedule = f"CronTriggerTimetable({pipeline.schedule.cron!r}, timezone={pipeline.schedule.timezone!r})"
    return f'''ctx_{n} = PipelineContext(TENANT, {lit(pipeline)}, PLATFORM, HOME)
with DAG(
    dag_id={ctx.dag_id!r},
    description={description!r},
    schedule={schedule},
    start_date=START_DATE,
    catchup=False,
    tags={lit(tags)},
    default_args={lit(args)},
    max_active_runs={tenant.quotas.max_active_runs!r},
    max_active_tasks={tenant.quotas.max_active_tasks!r},
    doc_md={doc!r},
    render_template_as_native_obj=False,
    deadline={deadline},{dag_callback}
) as dag_{n}:
    extract = ExtractOperator(task_id="extract", pipeline_ctx=ctx_{n})
    land = LandOperator(task_id="land", pipeline_ctx=ctx_{n}, extract_task_id="extract")
    quality = QualityCheckOperator(task_id="quality", pipeline_ctx=ctx_{n})
    load = IcebergLoadOperator(task_id="load", pipeline_ctx=ctx_{n})
    register = RegisterTableOperator(
        task_id="register",
        pipeline_ctx=ctx_{n},
        outlets=[Asset(name={ctx.table_identifier!r}, uri={ctx.asset_uri!r}, group="iceberg")],{task_callback}
    )
    extract >> land >> quality >> load >> register'''


def write_static(configs: Path, out: Path, home: str) -> int:
    """Validate the config tree once (here, untimed) and write one static DAG file per tenant."""
    from tenantflow.config.loader import load_all

    out.mkdir(parents=True, exist_ok=True)
    bundles, failures = load_all(configs)
    if failures:
        raise SystemExit(f"generated configs are invalid: {next(iter(failures.values()))}")
    for tid, bundle in bundles.items():
        (out / f"{tid}.py").write_text(static_module(bundle, home), encoding="utf-8")
    return len(bundles)


def _static_maintenance_dag(contexts: list[Any], lit: _Source) -> str:
    """The tenant's maintenance DAG written out by hand (the factory's ``build_maintenance_dag``)."""
    from tenantflow import naming
    from tenantflow.config.effective import effective_maintenance
    from tenantflow.factory.dag_builder import default_args
    from tenantflow.factory.maintenance_dag import maintenance_doc_md

    first = contexts[0]
    tenant = first.tenant
    policy = effective_maintenance(first.platform, tenant)
    tasks = "\n".join(f"    TableMaintenanceOperator(task_id={'maintain_' + c.pipeline.id!r}, pipeline_ctx=ctx_{n})"
                      for n, c in enumerate(contexts))
    return f'''with DAG(
    dag_id={naming.maintenance_dag_id(tenant.id)!r},
    description={f"Table maintenance of tenant {tenant.id}: snapshot expiry, compaction, orphan files, retention"!r},
    schedule=CronTriggerTimetable({policy.schedule.cron!r}, timezone={policy.schedule.timezone!r}),
    start_date=START_DATE,
    catchup=False,
    tags={lit([naming.tenant_tag(tenant.id), "platform", "maintenance"])},
    default_args={lit(default_args(first))},
    max_active_runs=1,
    max_active_tasks={tenant.quotas.max_active_tasks!r},
    doc_md={maintenance_doc_md(contexts, policy)!r},
) as maintenance:
{tasks}
    QualityTablesMaintenanceOperator(task_id="maintain_quality_tables", pipeline_ctx=ctx_0)'''
