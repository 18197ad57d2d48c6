"""One call for the load path: scan a batch, plan masking, refuse unmasked PII below restricted, mask.

The lead wires this between quality and load; it is pure over its inputs except for reading the
tenant's secret (only when the plan hashes a column).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tenantflow.config.models import Classification
from tenantflow.pii.classification import require_masked, table_properties
from tenantflow.pii.findings import ColumnFinding
from tenantflow.pii.masking import apply_masking, plan_masking
from tenantflow.pii.scan import scan_table

if TYPE_CHECKING:
    import pyarrow as pa

    from tenantflow.config.privacy import PiiPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProtectedBatch:
    table: pa.Table
    findings: list[ColumnFinding]
    plan: dict[str, str]
    properties: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """Log/XCom-safe: counts, types, masked examples and methods — no values."""
        return {
            "findings": [f.as_dict() for f in self.findings],
            "masking": dict(self.plan),
            "classification": self.properties.get("tenantflow.classification"),
        }


def protect_batch(
    table: pa.Table,
    policy: PiiPolicy,
    *,
    tenant_id: str,
    pipeline: str,
    classification: str | Classification,
    secret: Callable[[], bytes] | bytes | None = None,
) -> ProtectedBatch:
    """Detect, plan, check and mask ``table`` according to ``policy``.

    ``secret`` is the tenant's HMAC key, or a callable returning it (called only if a column is
    hashed); by default it is read from the tenant's ``<tenant>__pii`` connection.
    """
    findings = scan_table(table, sample_rows=policy.sample_rows, min_ratio=policy.min_ratio) if policy.detect else []
    plan = plan_masking(findings, policy.declared_methods(), policy.auto)
    absent = sorted(set(plan) - set(table.column_names))
    if absent:  # nothing to mask (the source no longer sends them); keep loading, but say so
        log.warning("%s: pii.columns %s are not in this batch; nothing to mask there", pipeline, absent)
        plan = {column: method for column, method in plan.items() if column not in absent}
    columns = policy.column_classifications()
    declared_clear = [c for c, m in policy.declared_methods().items() if m == "none" and c in table.column_names]
    require_masked(findings, plan, classification, pipeline=pipeline, columns=columns, declared_clear=declared_clear)
    key: bytes | None = None
    if "hash" in plan.values():
        if secret is None:
            from tenantflow.pii.secrets import tenant_pii_secret

            key = tenant_pii_secret(tenant_id, policy.secret_connection)
        else:
            key = secret() if callable(secret) else secret
    masked = apply_masking(table, plan, key)
    properties = table_properties(classification, columns, findings=findings, plan=plan)
    log.info(
        "PII protection of %s: %d finding(s), masking %s, table classified %s",
        pipeline,
        len(findings),
        plan or "nothing",
        properties["tenantflow.classification"],
    )
    return ProtectedBatch(masked, findings, plan, properties)
