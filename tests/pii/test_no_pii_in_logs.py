"""A scan of everything the PII path logs (at DEBUG) and returns finds no raw PII value from the input."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pytest

from pii.labelled_sample import build
from tenantflow.config.privacy import PiiPolicy
from tenantflow.pii.classification import UnmaskedPiiError
from tenantflow.pii.protect import protect_batch
from tenantflow.pii.scan import scan_table

SECRET = b"finance-secret-0123456789abcdef"


@pytest.fixture
def pii_values() -> dict[str, list[str]]:
    by_type: dict[str, list[str]] = {}
    for value, label in build():
        if label:
            by_type.setdefault(label, []).append(value.strip())
    return by_type


@pytest.fixture
def batch(pii_values: dict[str, list[str]]) -> pa.Table:
    rows = min(len(v) for v in pii_values.values())
    columns = {pii_type: values[:rows] for pii_type, values in pii_values.items()}
    columns["free_text"] = [f"reach me at {email} after 5pm" for email in pii_values["email"][:rows]]
    return pa.table(columns)


def _leaks(text: str, table: pa.Table) -> list[str]:
    raw = {v for column in table.columns for v in column.to_pylist() if v}
    raw |= {v.split(" at ")[1].split(" ")[0] for v in table["free_text"].to_pylist()}  # the embedded emails
    return sorted(v for v in raw if v in text)


def test_scan_mask_and_refusal_log_no_pii(batch: pa.Table, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    findings = scan_table(batch, sample_rows=50, min_ratio=0.5)
    assert {f.column for f in findings} == set(batch.column_names)  # every column was seen as PII...
    out = protect_batch(
        batch, PiiPolicy(auto="hash"), tenant_id="finance", pipeline="leaks", classification="internal", secret=SECRET
    )
    with pytest.raises(UnmaskedPiiError) as refused:
        protect_batch(batch, PiiPolicy(), tenant_id="finance", pipeline="leaks", classification="public")

    outputs = {
        "logs": caplog.text + "\n".join(str(r.args) for r in caplog.records),
        "findings repr": repr(findings),
        "findings json": json.dumps([f.as_dict() for f in findings]),
        "summary json": json.dumps(out.summary()),
        "properties": json.dumps(out.properties),
        "error": str(refused.value),
    }
    assert "PII scan" in outputs["logs"] and "masked column" in outputs["logs"]  # ...and it was logged
    assert {name: _leaks(text, batch) for name, text in outputs.items()} == dict.fromkeys(outputs, [])
    assert _leaks("\n".join(out.table[c].to_pylist()[0] for c in out.table.column_names), batch) == []
