"""The published role matrix is generated from the code that grants the permissions."""

from __future__ import annotations

from pathlib import Path

from tenantflow.isolation.access_matrix import markdown_table


def test_docs_access_matrix_is_current():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "access-matrix.md").read_text()
    assert markdown_table() in doc, "docs/access-matrix.md is stale: regenerate it with `tenantflow roles`"
