"""What a stream pipeline (a queue source) cannot have: settings of the batch stages its DAG does not run.

A queue pipeline is one ``consume`` task whose micro-batches land and load in turn (streams/consume.py):
there is no quality stage, no transform, no cursor (the stream position is the cursor) and no overwrite (each
micro-batch would replace the one before). Refusing them at load time, naming the line, beats a setting
silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable

from tenantflow.config.models import PipelineConfig
from tenantflow.config.ownership import Violation
from tenantflow.config.queues import QUEUE_SOURCES


def stream_violations(pipeline: PipelineConfig) -> Iterable[Violation]:
    if not isinstance(pipeline.source, QUEUE_SOURCES):
        return
    what = f"a queue source ({pipeline.source.broker})"
    if pipeline.quality:
        yield Violation("quality", f"quality rules do not apply to {what}: its micro-batches load as they arrive",
                        "remove `quality:` (check the table downstream, or reject bad messages with `column_types`)")
    if pipeline.transform is not None:
        yield Violation("transform", f"a transform does not apply to {what}",
                        "remove `transform:`; transform the table in a pipeline reading it")
    if pipeline.incremental is not None:
        yield Violation("incremental", f"an incremental cursor does not apply to {what}: the committed stream "
                        "position is what the next run continues from", "remove `incremental:`")
    if pipeline.target.mode == "overwrite":
        yield Violation("target.mode", f"mode 'overwrite' does not apply to {what}: each micro-batch would replace "
                        "the ones before it", "use mode 'append' (or 'merge' with merge_keys)")
    if pipeline.engine == "databricks":
        yield Violation("engine", f"engine 'databricks' does not apply to {what}: micro-batches are loaded by the "
                        "consume task", "remove `engine:` or set `engine: local`")
