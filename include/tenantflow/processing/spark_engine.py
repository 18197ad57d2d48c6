"""The Spark engine: a pipeline's Spark SQL transform run by the cluster's SparkSession (``engine: databricks``).

The Databricks job (``processing/databricks_job.py``) runs it on the job cluster: Spark reads this run's
landed batch (the quality-approved one when published) as Parquet, the relation ``batch`` and the tenant's
lookups (its own namespaces only, read through pyiceberg on the driver) are temporary views of a session of
its own, the SQL runs as written (no transpiling: it is Spark SQL), and Spark's distributed writer puts the
result's parts into the derived batch's staging folder; the parts are then published with their manifest
last (``LandingHook.publish_derived_by``), so the load that follows is the local engine's, exactly once.

Session settings that make Spark and the local engine (DuckDB) agree on the same SQL: UTC session time
zone (Spark's ``TIMESTAMP`` is an instant; sqlglot makes it DuckDB's ``TIMESTAMPTZ``), lenient casts
(``spark.sql.ansi.enabled=false``: a value that does not convert becomes NULL, as sqlglot's ``TRY_CAST``
does locally) and microsecond Parquet timestamps. ``tests/processing/test_engine_parity.py`` runs the local
engine's cases on both and requires equal tables.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tenantflow.config.transform import BATCH_RELATION
from tenantflow.landing.store import LandingHook
from tenantflow.processing.transform_step import TRANSFORMED, read_lookups, transform_input

if TYPE_CHECKING:
    from tenantflow.landing.batch import Manifest
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)

SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.mergeSchema": "true",  # parts of one batch may differ (a column null in one file)
}


def spark_session() -> Any:
    """A session of this job's own (its temporary views and settings) on the cluster's SparkContext; outside a
    cluster, Spark in local mode (the tests, the demo's Jobs API stand-in)."""
    from pyspark.sql import SparkSession

    root = SparkSession.getActiveSession() or (
        SparkSession.builder.appName("tenantflow").config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8").getOrCreate())
    session = root.newSession()
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session


def run_spark_sql(session: Any, sql: str, batch: Any, lookups: Mapping[str, Any]) -> Any:
    """The transform's DataFrame: ``sql`` over ``batch`` (a DataFrame) and ``lookups`` (Arrow tables)."""
    batch.createOrReplaceTempView(BATCH_RELATION)
    for name, table in lookups.items():
        session.createDataFrame(table).createOrReplaceTempView(name)
    log.info("transform (Spark %s): %s", session.version, sql)
    return session.sql(sql)


def staged_parquet_files(staging: str) -> list[str]:
    """The Parquet parts Spark wrote into ``staging`` (not its _SUCCESS marker or checksum files)."""
    from pyarrow import fs as pafs

    from tenantflow.landing.storage import filesystem

    fs, path = filesystem(staging)
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted(i.base_name for i in infos if i.type == pafs.FileType.File and i.base_name.endswith(".parquet"))


def spark_path(uri: str) -> str:
    """A landing path as Spark reads it: s3:// as it is (Databricks), a local path as file:// (local mode)."""
    import os

    return uri if "://" in uri else f"file://{os.path.abspath(uri)}"


def run_spark_transform(ctx: PipelineContext, run_id: str, catalog: Any, session: Any | None = None) -> Manifest:
    """Transform this run's batch with Spark and publish it as the ``transformed`` batch (idempotent)."""
    from tenantflow.landing.storage import join

    raw = LandingHook(ctx.batch(run_id))
    existing = raw.derived(TRANSFORMED)
    if existing.exists() and existing.damage() is None:
        log.info("the transformed batch of run %s is already published", run_id)
        return existing.manifest()
    source = transform_input(raw)
    stage = source.location.stage or "raw"
    manifest = source.manifest()
    if manifest.rows == 0:  # no new files or every row set aside: nothing for the SQL to read
        log.info("the %s batch is empty: the transformed batch is empty too (its state still commits)", stage)
        return raw.publish_derived(TRANSFORMED, [], source=f"transform of the empty {stage} batch")
    session = session or spark_session()
    batch = session.read.parquet(*[spark_path(join(source.location.final, name)) for name in manifest.files])
    result = run_spark_sql(session, ctx.pipeline.transform.sql, batch, read_lookups(ctx, catalog))

    def write(target: LandingHook) -> list[str]:
        result.write.mode("overwrite").parquet(spark_path(target.location.staging))
        return staged_parquet_files(target.location.staging)

    published = raw.publish_derived_by(TRANSFORMED, write, source=f"Spark transform of the {stage} batch")
    log.info("transformed %d rows of the %s batch into %d part(s) with Spark", published.rows, stage,
             len(published.files))
    return published
