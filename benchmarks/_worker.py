"""One timed DagBag parse, run in a fresh interpreter by ``benchmarks.parse_bench``.

Usage: ``python -m benchmarks._worker DAG_FOLDER RESULT_JSON``. The imports both sides need
(Airflow, the SDK, tenantflow's factory, models and operators) are paid before the clock starts;
the timed region is exactly ``DagBag(dag_folder=...)``. Afterwards (untimed) every DAG is
fingerprinted so the caller can check the factory and the static files built the same DAGs.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import sys
import tempfile
import time
from typing import Any


def _preimport() -> Any:
    import pydantic  # noqa: F401
    import yaml  # noqa: F401
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DAG, Asset, CronTriggerTimetable, chain, get_parsing_context  # noqa: F401

    import tenantflow.config.loader  # noqa: F401
    import tenantflow.config.models  # noqa: F401
    import tenantflow.factory.dag_builder  # noqa: F401
    import tenantflow.factory.tenant_dags  # noqa: F401
    import tenantflow.operators.extract  # noqa: F401
    import tenantflow.operators.land  # noqa: F401
    import tenantflow.operators.load  # noqa: F401
    import tenantflow.operators.quality  # noqa: F401
    import tenantflow.operators.register  # noqa: F401
    import tenantflow.pipeline_context  # noqa: F401

    with tempfile.TemporaryDirectory() as empty:
        DagBag(dag_folder=empty)  # warm the importer registry, config and logging: same for both sides
    return DagBag


_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    return _ADDRESS.sub("", repr(value))  # e.g. NullTimetable has no repr of its own


def fingerprint(dag: Any) -> dict[str, Any]:
    """Everything the benchmark promises is identical on both sides, as plain JSON data."""
    tasks = [
        {
            "id": t.task_id, "type": type(t).__name__, "group": t.task_group.group_id, "pool": t.pool,
            "owner": t.owner, "queue": t.queue, "retries": t.retries, "retry_delay": str(t.retry_delay),
            "backoff": t.retry_exponential_backoff, "max_retry_delay": str(t.max_retry_delay),
            "upstream": sorted(t.upstream_task_ids), "outlets": t.outlets,
            "extract_task_id": getattr(t, "extract_task_id", None), "ctx": t.pipeline_ctx,
        }
        for t in sorted(dag.tasks, key=lambda t: t.task_id)
    ]
    return _plain({
        "dag_id": dag.dag_id, "description": dag.description, "tags": set(dag.tags),
        "timetable": dag.timetable, "start_date": str(dag.start_date), "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs, "max_active_tasks": dag.max_active_tasks,
        "access_control": dag.access_control, "doc_md": dag.doc_md, "default_args": dag.default_args,
        "native": dag.render_template_as_native_obj, "tasks": tasks,
    })


class _GcClock:
    """Time spent in the cyclic garbage collector, and full (generation 2) collections."""

    def __init__(self) -> None:
        self.seconds, self.full, self._start = 0.0, 0, 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.full += info["generation"] == 2


def main(folder: str, out: str) -> None:
    dagbag_cls = _preimport()
    gc_clock = _GcClock()
    gc.collect()
    gc.callbacks.append(gc_clock)
    start, cpu_start = time.perf_counter(), time.process_time()
    bag = dagbag_cls(dag_folder=folder)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    gc.callbacks.remove(gc_clock)
    stats = sorted(bag.dagbag_stats, key=lambda s: s.duration, reverse=True)
    prints = {dag_id: fingerprint(dag) for dag_id, dag in bag.dags.items()}
    result = {
        "seconds": elapsed,
        "cpu_s": cpu,
        "gc_s": gc_clock.seconds,
        "gc_full": gc_clock.full,
        "dags": len(bag.dags),
        "files": len(stats),
        "worst_file": stats[0].file if stats else None,
        "worst_file_s": stats[0].duration.total_seconds() if stats else 0.0,
        "sum_file_s": sum(s.duration.total_seconds() for s in stats),
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "digests": {
            dag_id: hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()
            for dag_id, fp in prints.items()
        },
        "sample": prints[min(prints)] if prints else None,
    }
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
