"""An error-severity quality failure fails the run before anything is loaded; warnings load."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from conftest import run_cli
from e2e.helpers import open_table, run_dag

pytestmark = pytest.mark.e2e


@pytest.fixture
def gated_tree(config_tree, tmp_path, airflow_db):
    from demo.data import generate_demo_data

    home = tmp_path / "home"
    generate_demo_data(home, scale=0.01)
    sales = config_tree / "tenant_configs" / "retail" / "pipelines" / "sales.yaml"
    text = sales.read_text()
    # quantities run 1..10 in the demo data: max 5 fails; the channel rule becomes a warning
    text = text.replace("    min: 1\n    max: 100\n", "    min: 1\n    max: 5\n")
    sales.write_text(text)
    products = config_tree / "tenant_configs" / "retail" / "pipelines" / "products.yaml"
    products.write_text(products.read_text().replace(
        "    values: [grocery, apparel, electronics, home]\n",
        "    values: [grocery, apparel]\n    severity: warn\n"))
    env = {"TENANTFLOW_CONFIG_DIR": str(config_tree / "tenant_configs"), "TENANTFLOW_HOME": str(home),
           "AIRFLOW__CORE__DAGS_FOLDER": str(config_tree / "dags")}
    run_cli("tenantflow", "sync", env=env)
    return env


def test_error_rule_failure_loads_nothing(gated_tree):
    result = run_dag("retail__sales", "2026-11-23", env=gated_tree, check=False)
    output = result.stdout + result.stderr
    assert "state=failed" in output
    assert "[FAIL] range(quantity) severity=error" in output
    assert "error-severity quality rule(s) failed: range(quantity)" in output
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    with pytest.raises((NoSuchTableError, NoSuchNamespaceError)):
        open_table("retail.sales", home=gated_tree["TENANTFLOW_HOME"])


def test_warning_rule_failure_still_loads(gated_tree):
    result = run_dag("retail__products", "2026-11-23", env=gated_tree)
    output = result.stdout + result.stderr
    assert "[WARN] accepted_values(category) severity=warn" in output
    assert "[PASS] gx:expect_column_value_lengths_to_be_between(sku) severity=warn engine=gx" in output
    assert "state=success" in output
    link = re.search(r"GX Data Docs of this run: (file://\S+/index.html)", output)
    assert link, "the task log links the run's GX Data Docs"
    index = Path(unquote(urlparse(link.group(1)).path))
    assert index.is_file() and "_quality_docs" in index.parts and "retail__products" in index.parts
    table = open_table("retail.products", home=gated_tree["TENANTFLOW_HOME"])
    assert table.scan().to_arrow().num_rows > 0
