"""The quality tables of a tenant's namespace, each appended at most once per pipeline run.

* ``<namespace>._quality_results`` — per run: a ``*`` row (rows, score, quarantined rows, the URI of
  the run's GX Data Docs) and one row per rule (severity, verdict, unexpected count/percent, detail,
  engine). Counts only, no row values. Tables made before ``data_docs`` existed gain the column.
* ``<namespace>._profiles`` — per run: one row per profiled column plus a ``*`` row (row count);
  the history anomaly rules compare against.
* ``<namespace>.<table>__quarantine`` — the rows quarantine rules set aside, with rule and reason.

Exactly once: every commit carries the run id and pipeline in its snapshot summary (as loads do);
a retried task finds them and skips. The shared tables are keyed on (pipeline, run id), since
scheduled run ids repeat across a tenant's pipelines.

``trend`` reads the runs back for ``tenantflow quality`` (``last_runs``, ``table_lines`` format them).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tenantflow.loading import state
from tenantflow.quality import housekeeping

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

RESULTS_TABLE = "_quality_results"
PROFILES_TABLE = "_profiles"
QUARANTINE_SUFFIX = "__quarantine"
TIME_COLUMNS = {RESULTS_TABLE: "checked_at", PROFILES_TABLE: "profiled_at"}
HEADER = ("PIPELINE", "RUN", "TIME", "ROWS", "SCORE", "QUARANTINED", "FAILED RULES")


def results_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        ("run_id", pa.string()), ("pipeline", pa.string()), ("checked_at", pa.timestamp("us", tz="UTC")),
        ("rows", pa.int64()), ("score", pa.float64()), ("quarantined_rows", pa.int64()),
        ("rule_index", pa.int32()), ("rule", pa.string()), ("severity", pa.string()), ("success", pa.bool_()),
        ("unexpected_count", pa.int64()), ("unexpected_percent", pa.float64()), ("detail", pa.string()),
        ("engine", pa.string()), ("data_docs", pa.string()),
    ])


def quarantine_identifier(namespace: str, table: str) -> str:
    return f"{namespace}.{table}{QUARANTINE_SUFFIX}"


def _committed(table: Table, pipeline: str, run_id: str) -> bool:
    return any(p.get(state.RUN_ID) == run_id and p.get(state.PIPELINE) == pipeline
               for p in map(state.summary_properties, table.snapshots()))


class QualityStore:
    def __init__(self, catalog: Catalog, namespace: str) -> None:
        self.catalog = catalog
        self.namespace = namespace

    def _table(self, name: str, schema: pa.Schema | None = None) -> Table | None:
        from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchNamespaceError, NoSuchTableError

        identifier = f"{self.namespace}.{name}"
        try:
            return self.catalog.load_table(identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            if schema is None:
                return None
        try:
            self.catalog.create_namespace(self.namespace)
        except NamespaceAlreadyExistsError:
            pass
        return self.catalog.create_table_if_not_exists(identifier, schema=schema,
                                                       properties=housekeeping.METADATA_PROPERTIES)

    def append_once(self, name: str, data: pa.Table, *, pipeline: str, run_id: str, attempts: int = 5) -> bool:
        """Append ``data`` unless this (pipeline, run) already did; retried when another run commits first."""
        from pyiceberg.exceptions import CommitFailedException

        props = {state.RUN_ID: run_id, state.PIPELINE: pipeline, state.ROWS: str(data.num_rows)}
        for attempt in range(1, attempts + 1):
            table = self._table(name, data.schema)
            assert table is not None
            if missing := [f for f in data.schema.names if f not in table.schema().column_names]:
                log.info("%s.%s: adding column(s) %s", self.namespace, name, ", ".join(missing))
                with table.update_schema() as update:
                    update.union_by_name(data.schema)
            if _committed(table, pipeline, run_id):
                log.info("%s.%s already holds run %s of %s: skipped", self.namespace, name, run_id, pipeline)
                return False
            try:
                table.append(data.cast(table.schema().as_arrow()), snapshot_properties=props)
            except CommitFailedException:  # another pipeline of the tenant committed first
                if attempt == attempts:
                    raise
                continue
            try:
                housekeeping.compact_if_due(table, TIME_COLUMNS[name])
            except Exception:  # best effort: the run's record is committed; the next append tries again
                log.warning("%s.%s: compaction failed", self.namespace, name, exc_info=True)
            return True
        return False

    def _read(self, name: str, row_filter: Any) -> pa.Table | None:
        """The latest record of each run matching ``row_filter``; None if the table does not exist yet.
        Read again once if a compaction deleted the files of the snapshot being read."""
        for attempt in (1, 2):
            table = self._table(name)
            if table is None:
                return None
            try:
                return housekeeping.latest_per_run(table.scan(row_filter=row_filter).to_arrow(), TIME_COLUMNS[name])
            except FileNotFoundError:
                if attempt == 2:
                    raise
        return None

    def record_results(self, report: Any, *, pipeline: str, run_id: str, at: dt.datetime,
                       quarantined_rows: int) -> bool:
        import pyarrow as pa

        base = {"run_id": run_id, "pipeline": pipeline, "checked_at": at, "rows": report.rows,
                "score": report.score, "quarantined_rows": quarantined_rows}
        rows = [{**base, "rule_index": -1, "rule": "*", "severity": None, "success": not report.errors,
                 "unexpected_count": None, "unexpected_percent": None, "detail": None, "engine": None,
                 "data_docs": report.data_docs}]
        rows += [{**base, "rule_index": i, "rule": o.rule, "severity": o.severity, "success": o.success,
                  "unexpected_count": o.unexpected_count, "unexpected_percent": o.unexpected_percent,
                  "detail": o.detail, "engine": o.engine, "data_docs": None} for i, o in enumerate(report.outcomes)]
        return self.append_once(RESULTS_TABLE, pa.Table.from_pylist(rows, schema=results_schema()),
                                pipeline=pipeline, run_id=run_id)

    def record_profile(self, profile: list[dict[str, Any]], *, pipeline: str, run_id: str, at: dt.datetime) -> bool:
        import pyarrow as pa

        from tenantflow.quality.profiling import profile_schema

        rows = [{**row, "run_id": run_id, "pipeline": pipeline, "profiled_at": at} for row in profile]
        return self.append_once(PROFILES_TABLE, pa.Table.from_pylist(rows, schema=profile_schema()),
                                pipeline=pipeline, run_id=run_id)

    def metric_history(self, pipeline: str, metric: str, *, exclude_run_id: str) -> list[float]:
        """The metric's values of earlier profiled runs of ``pipeline``, oldest first."""
        from pyiceberg.expressions import And, EqualTo

        from tenantflow.quality.profiling import TABLE_ROW, metric_of

        column = TABLE_ROW if metric == "row_count" else metric.partition(":")[2]
        rows = self._read(PROFILES_TABLE, And(EqualTo("pipeline", pipeline), EqualTo("column", column)))
        if rows is None:
            return []
        rows = rows.sort_by("profiled_at").to_pylist()
        values = [metric_of(r, metric) for r in rows if r["run_id"] != exclude_run_id]
        return [v for v in values if v is not None]

    def trend(self, pipeline: str | None = None) -> list[dict[str, Any]]:
        """Runs recorded in ``_quality_results`` (oldest first): run, time, rows, score, failed rules,
        the GX Data Docs link."""
        from pyiceberg.expressions import AlwaysTrue, EqualTo

        rows = self._read(RESULTS_TABLE, EqualTo("pipeline", pipeline) if pipeline else AlwaysTrue())
        if rows is None:
            return []
        runs: dict[tuple[str, str], dict[str, Any]] = {}
        for r in sorted(rows.to_pylist(), key=lambda r: (r["checked_at"], r["rule_index"])):
            key = (r["pipeline"], r["run_id"])
            run = runs.setdefault(key, {"pipeline": r["pipeline"], "run_id": r["run_id"],
                                        "checked_at": r["checked_at"].isoformat(), "rows": r["rows"],
                                        "score": r["score"], "quarantined_rows": r["quarantined_rows"],
                                        "failed_rules": [], "data_docs": None})
            if r["rule_index"] < 0:
                run["data_docs"] = r.get("data_docs")
            elif not r["success"]:
                run["failed_rules"].append(f"{r['rule']}[{r['severity']}]")
        return list(runs.values())

    def quarantine(self, table: str, failing: pa.Table, *, pipeline: str, run_id: str) -> Any:
        """Append the failing rows to ``<table>__quarantine`` once per run (schema evolves with the batch)."""
        from tenantflow.config.models import Target
        from tenantflow.loading.arrow_types import iceberg_compatible
        from tenantflow.loading.commit import PlannedLoad
        from tenantflow.loading.iceberg_writer import write_batch

        target = Target(table=f"{table}{QUARANTINE_SUFFIX}", mode="append", schema_policy="evolve")
        return write_batch(self.catalog, quarantine_identifier(self.namespace, table), iceberg_compatible(failing),
                           target, PlannedLoad(run_id=run_id, pipeline_id=pipeline))


def last_runs(runs: Sequence[dict[str, Any]], last: int) -> list[dict[str, Any]]:
    """The newest ``last`` runs, oldest first."""
    ordered = sorted(runs, key=lambda r: r["checked_at"])
    return ordered[-last:] if last > 0 else ordered


def table_lines(runs: Sequence[dict[str, Any]]) -> list[str]:
    rows = [HEADER] + [(r["pipeline"], r["run_id"], r["checked_at"][:19].replace("T", " "), str(r["rows"]),
                        f"{r['score']:.2f}", str(r["quarantined_rows"]), ", ".join(r["failed_rules"]) or "-")
                       for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
