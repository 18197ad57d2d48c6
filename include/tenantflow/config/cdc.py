"""PostgreSQL change data capture (``source.kind: cdc``): a logical replication slot per pipeline.

The source table is copied once (the initial snapshot, consistent with the slot's starting point), then its
inserts, updates and deletes stream from the slot (pgoutput, the publication) and are merged into the target
on the table's primary key. What a pipeline with this source may and may not combine is checked here
(``cdc_pipeline_problem``), at config time; what only the database can tell (the primary key, the
publication) is checked when the reader starts.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import Field

from tenantflow.config.base import Model
from tenantflow.config.streams import MicroBatchLimits, RunLimits

PG_IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"  # unquoted, lower case: what slot names allow, and no quoting games
DELETED_COLUMN = "_cdc_deleted"
"""The landed rows' op flag (true: the change deleted its key); the merge applies it and never stores it."""


class CDCSource(Model):
    kind: Literal["cdc"]
    connection_id: str = Field(min_length=1, description="The tenant's PostgreSQL connection, '<tenant>__<name>'; "
                                                         "its login needs the REPLICATION attribute.")
    table: str = Field(pattern=r"^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$",
                       description="schema.table (public when no schema); it needs a primary key.")
    publication: str = Field(pattern=PG_IDENTIFIER,
                             description="A publication that includes the table (CREATE PUBLICATION … FOR TABLE …).")
    slot: str | None = Field(default=None, pattern=PG_IDENTIFIER,
                             description="Replication slot name; default tf_<tenant>__<pipeline>.")
    plugin: Literal["pgoutput"] = Field(default="pgoutput", description="Logical decoding output plugin.")
    snapshot_fetch_rows: int = Field(default=50_000, ge=100, le=1_000_000,
                                     description="Rows fetched per round trip while copying the initial snapshot.")
    batch: MicroBatchLimits = Field(default_factory=MicroBatchLimits,
                                    description="One micro-batch (one Iceberg commit) ends at the first transaction "
                                                "commit past these limits; a transaction is never split.")
    per_run: RunLimits = Field(default_factory=RunLimits)

    @property
    def schema_name(self) -> str:
        return self.table.split(".", 1)[0] if "." in self.table else "public"

    @property
    def table_name(self) -> str:
        return self.table.rsplit(".", 1)[-1]

    @property
    def deleted_column(self) -> str:
        return DELETED_COLUMN


def default_slot(tenant_id: str, pipeline_id: str) -> str:
    """``tf_<tenant>__<pipeline>``, cut to PostgreSQL's 63 bytes with a hash when too long (still unique)."""
    name = f"tf_{tenant_id}__{pipeline_id}"
    if len(name) <= 63:
        return name
    return f"{name[:54]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def cdc_pipeline_problem(pipeline: Any) -> str | None:
    """Why a cdc pipeline's (``PipelineConfig``) other sections cannot go with it (None: they can)."""
    target = pipeline.target
    if target.mode != "merge":
        return (f"a cdc source applies inserts, updates and deletes: it needs `target.mode: merge` with `merge_keys` "
                f"= the source table's primary key (mode is {target.mode!r})")
    if target.delete_flag is not None:
        return "a cdc source marks deletes itself: remove `target.delete_flag`"
    if pipeline.incremental is not None:
        return "a cdc source reads every change from its replication slot: remove `incremental` (no cursor column)"
    if pipeline.quality:
        return ("a cdc source applies changes as they come: remove `quality` (a failed rule cannot hold back a "
                "delete or an update without the table diverging from the source)")
    if pipeline.transform is not None:
        return "a cdc source merges the table's rows as they are: remove `transform`"
    return None
