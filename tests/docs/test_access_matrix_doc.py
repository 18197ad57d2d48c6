"""The published role matrix is generated from the code that grants the permissions."""

from __future__ import annotations

from pathlib import Path

from tenantflow.isolation.access_matrix import audit_markdown, markdown_table


def test_docs_access_matrix_is_current():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "access-matrix.md").read_text()
    assert markdown_table() in doc, "docs/access-matrix.md is stale: regenerate it with `tenantflow roles`"


def test_docs_access_matrix_names_who_reads_the_audit_trail():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "access-matrix.md").read_text()
    assert audit_markdown() in doc, "docs/access-matrix.md is stale: add access_matrix.audit_markdown()"
