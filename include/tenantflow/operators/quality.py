"""Quality: validate the landed batch, score and profile it, set quarantined rows aside.

* ``error`` rule failures stop the run before anything loads (``QualityGateFailed``);
* ``warn`` failures load and are reported;
* ``quarantine`` failures move the failing rows to ``<namespace>.<table>__quarantine`` and publish
  the passing rows as the run's ``approved`` batch, which the load task then loads. Without
  quarantined rows nothing is published and load takes the raw batch as it is.

Results (``_quality_results``) and the profile (``_profiles``, only for batches that pass the
gate, so rejected batches never become anomaly history) are appended once per run. When the
pipeline lists GX expectations, GX's Data Docs of the run go to
``<landing>/_quality_docs/<dag_id>/<run-key>/``; the link is logged, returned in the XCom summary
(``data_docs``) and recorded with the results. (Airflow 3.3's Task SDK cannot set the DAG run's
note: the execution API only takes a note when it triggers a new run.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from tenantflow.landing.integrity import DamagedBatch
from tenantflow.landing.store import LandingHook
from tenantflow.metrics import emit
from tenantflow.operators.base import PipelineStageOperator

DOCS_FOLDER = "_quality_docs"


class QualityGateFailed(AirflowFailException):
    """Error-severity quality rules failed: the batch is not loaded (retrying cannot help)."""


class QualityCheckOperator(PipelineStageOperator):
    ui_color = "#fdebd0"
    lineage_stage = "quality"

    def execute(self, context: Any) -> dict[str, Any]:
        import pyarrow as pa

        from tenantflow.catalog.hook import IcebergHook
        from tenantflow.landing.batch import run_key
        from tenantflow.landing.storage import join
        from tenantflow.quality.quarantine import split_batch
        from tenantflow.quality.runner import run_quality
        from tenantflow.quality.store import QualityStore

        ctx, run_id = self.pipeline_ctx, self.run_id(context)
        pipeline = ctx.pipeline
        raw = LandingHook(ctx.batch(run_id))
        batch = raw.dataset()  # scanned by DuckDB, not read (see quality.runner)
        now = dt.datetime.now(dt.UTC)
        store = QualityStore(IcebergHook(ctx).catalog, ctx.namespace)

        def history(metric: str) -> list[float]:
            return store.metric_history(pipeline.id, metric, exclude_run_id=run_id)

        profiling = pipeline.profiling if pipeline.profiling.enabled else None
        report = run_quality(batch if batch is not None else pa.table({}), pipeline.quality, suite_name=ctx.dag_id,
                             now=now, history=history, profiling=profiling,
                             docs_root=join(ctx.landing, DOCS_FOLDER, ctx.dag_id, run_key(run_id)),
                             kms_key_id=ctx.tenant.storage.kms_key_id)
        split = None
        if report.quarantine_masks and not report.errors:
            split = split_batch(report.data, list(pipeline.quality), report.quarantine_masks, run_id=run_id, now=now)
        quarantined = split.failing.num_rows if split else 0
        self.log.info("%s", report.summary())
        if report.data_docs:
            self.log.info("GX Data Docs of this run: %s", report.data_docs)
        store.record_results(report, pipeline=pipeline.id, run_id=run_id, at=now, quarantined_rows=quarantined)
        flagged = sum(o.unexpected_count or 0 for o in report.outcomes if not o.success)
        if report.errors:  # a rejected batch's score is what an alert wants to see
            emit.quality_result(ctx, rows=report.rows, score=report.score, flagged_rows=flagged, quarantined_rows=0)
            failed = ", ".join(o.rule for o in report.errors)
            raise QualityGateFailed(f"{len(report.errors)} error-severity quality rule(s) failed: {failed}; "
                                    "nothing was loaded")
        if report.profile is not None:
            store.record_profile(report.profile, pipeline=pipeline.id, run_id=run_id, at=now)
        if quarantined:
            from tenantflow.pii.pipeline import protect_rows

            try:  # rows of a damaged batch are neither quarantined nor approved; retrying cannot help
                raw.verify()
            except DamagedBatch as exc:
                raise AirflowFailException(str(exc)) from exc
            # quarantined rows are masked like loaded rows: the quarantine table must not hold clear PII
            failing = protect_rows(ctx, split.failing).table
            store.quarantine(pipeline.target.table, failing, pipeline=pipeline.id, run_id=run_id)
            raw.publish_derived("approved", [split.passing], source=raw.manifest().source)
            self.log.info("quarantined %d row(s) into %s; %d row(s) approved for loading", quarantined,
                          f"{ctx.namespace}.{pipeline.target.table}__quarantine", split.passing.num_rows)
            from tenantflow.audit.events import quarantine_records, record
            from tenantflow.audit.records import run_actor

            # in the same task, right after the quarantine append; a failure fails the task (the retry's
            # quarantine append is once per run id, and its audit record is deduped)
            record(ctx, quarantine_records(ctx, run_id=run_id, actor=run_actor(context), rows=quarantined,
                                           rules=[o.rule for o in report.quarantines]))
        emit.quality_result(ctx, rows=report.rows, score=report.score, flagged_rows=flagged,
                            quarantined_rows=quarantined)
        summary = report.as_dict()
        summary["quarantined_rows"] = quarantined
        if report.warnings:
            from tenantflow.notifications.events import quality_warned

            summary["notified"] = quality_warned(ctx, run_id, summary, context)
        from tenantflow.landing.batch import describe_schema

        return self.record_lineage(context, summary, schema=describe_schema(batch.schema) if batch is not None else [])
