"""The pipeline's native Great Expectations expectations, run by GX on the batch, and their Data Docs.

GX judges only the ``gx:`` items of ``quality:`` (tenantflow rules are DuckDB's, ``scan``); its
verdict and unexpected count are the expectation's outcome (``engine="gx"``). GX 1.x runs on a
pandas copy of the columns the expectations name (the whole batch only for table-level
expectations): on 1M rows, converting to pandas and running five expectations takes about a second
and a few hundred MB of memory, so keep GX expectations to what tenantflow rules cannot say.

Each run's Data Docs (GX's own site builder: an index, the suite and the validation result) are
built in a temporary folder and copied to ``docs_root`` (under the tenant's landing root, local or
S3, through the landing storage functions); the returned URI of ``index.html`` is what the task
logs and records. Results are requested without samples of unexpected values
(``partial_unexpected_count: 0``), so neither the outcomes nor the Data Docs show row values.
A site is about 4 MB (GX's fonts and scripts), so only the newest ``DOCS_KEPT`` runs' sites of a
DAG are kept: writing one deletes the older ones beyond that.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantflow.quality.report import Check

log = logging.getLogger(__name__)

SITE = "tenantflow"
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
TABLE_LEVEL = "expect_table_"
DOCS_KEPT = 30


@dataclass(frozen=True)
class GxRun:
    checks: dict[int, Check]  # rule index -> GX's verdict
    data_docs: str | None  # URI of index.html, when the docs were written


def run_expectations(batch: Any, expectations: list[tuple[int, Any]], suite_name: str, *,
                     docs_root: str | None = None, kms_key_id: str | None = None) -> GxRun:
    """Run ``expectations`` ((rule index, GxExpectation) pairs) on ``batch`` (Arrow table or dataset)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TQDM_DISABLE", "1")  # GX progress bars would flood task logs
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.registry import get_expectation_impl

    with tempfile.TemporaryDirectory(prefix="tenantflow-gx-docs-") as site:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        context.add_data_docs_site(site_name=SITE, site_config={
            "class_name": "SiteBuilder", "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": site}})
        batch_definition = (context.data_sources.add_pandas(name="tenantflow")
                            .add_dataframe_asset(name="batch").add_batch_definition_whole_dataframe(name="whole"))
        suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
        for index, item in expectations:
            expectation = get_expectation_impl(item.gx)(**item.kwargs)
            expectation.meta = {"rule_index": index}
            suite.add_expectation(expectation)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite_name}-batch", data=batch_definition, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"{suite_name}-run", validation_definitions=[definition], result_format=RESULT_FORMAT,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[SITE])]))
        result = checkpoint.run(batch_parameters={"dataframe": _frame(batch, [e for _, e in expectations])})
        checks = {int(item.expectation_config.meta["rule_index"]): _check(item)
                  for validation in result.run_results.values() for item in validation.results}
        docs = _publish(Path(site), docs_root, kms_key_id) if docs_root else None
    return GxRun(checks, docs)


def _frame(batch: Any, expectations: list[Any]) -> Any:
    """The pandas copy GX validates: only the named columns unless an expectation judges the table."""
    columns = None
    if not any(e.gx.startswith(TABLE_LEVEL) for e in expectations):
        named = {c for e in expectations for c in e.columns}
        columns = [c for c in batch.schema.names if c in named]
    table = batch.to_table(columns=columns) if hasattr(batch, "to_table") else (
        batch if columns is None else batch.select(columns))
    return table.to_pandas()


def _check(item: Any) -> Check:
    details = item.result or {}
    info = item.exception_info or {}
    raised = bool(info.get("raised_exception")) or any(
        isinstance(v, dict) and v.get("raised_exception") for v in info.values())
    if raised:  # GX's message may quote row values: name the failure only
        return Check(False, detail="could not evaluate: GX raised an error on this batch (see the Data Docs)")
    observed = details.get("observed_value")
    detail = f"observed {observed}" if isinstance(observed, int | float) and not isinstance(observed, bool) else ""
    return Check(bool(item.success), details.get("unexpected_count"), detail)


def _publish(site: Path, docs_root: str, kms_key_id: str | None) -> str | None:
    """Copy the built site to ``docs_root``; the URI of its index.html (file:// for local paths)."""
    from tenantflow.landing.storage import in_object_store, join, make_dirs, write_bytes

    if not (site / "index.html").exists():
        log.warning("GX built no Data Docs for this run")
        return None
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        target = join(docs_root, path.relative_to(site).as_posix())
        make_dirs(target.rsplit("/", 1)[0])
        write_bytes(target, path.read_bytes(), kms_key_id)
    index = join(docs_root, "index.html")
    _prune(docs_root.rstrip("/").rsplit("/", 1)[0], keep=DOCS_KEPT)
    return index if in_object_store(index) else Path(index).resolve().as_uri()


def _prune(runs_root: str, keep: int) -> None:
    """Delete the Data Docs sites under ``runs_root`` (one folder per run) beyond the newest ``keep``,
    newest by the time their index.html was written. Best effort: a failure leaves them for next time."""
    from pyarrow import fs as pafs

    from tenantflow.landing.storage import filesystem, join, remove_dir

    try:
        fs, path = filesystem(runs_root)
        runs = [i.base_name for i in fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
                if i.type == pafs.FileType.Directory]
        if len(runs) <= keep:
            return
        written = fs.get_file_info([f"{path}/{run}/index.html" for run in runs])
        ordered = sorted(zip(runs, written, strict=True), key=lambda r: r[1].mtime_ns or 0, reverse=True)
        for run, _ in ordered[keep:]:
            remove_dir(join(runs_root, run))
        log.info("deleted the GX Data Docs of %d older run(s) under %s", len(ordered) - keep, runs_root)
    except OSError:
        log.warning("could not prune the GX Data Docs under %s", runs_root, exc_info=True)
