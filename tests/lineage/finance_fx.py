"""The finance orders transform of the lineage tests: orders converted to EUR with a lookup of FX rates.

The demo's finance orders pipeline has no transform; the tests add this one to a copy of its config.
"""

from __future__ import annotations

from pathlib import Path

from yaml_edits import append

SQL = """\
SELECT o.order_id, o.customer_id, o.currency, o.amount,
       CAST(o.amount / COALESCE(fx.rate, 1.0) AS DECIMAL(14, 2)) AS amount_eur,
       UPPER(o.status) AS status, o.order_date, o.updated_at
FROM batch AS o
LEFT JOIN fx_rates AS fx ON fx.quote = o.currency AND fx.rate_date = o.order_date
WHERE o.status <> 'cancelled'"""
LOOKUPS = {"fx_rates": "fx_rates"}

BLOCK = "transform:\n  sql: |\n" + "".join(f"    {line}\n" for line in SQL.splitlines()) + \
    "  lookups:\n    fx_rates: fx_rates\n"


def add_transform(tenant_configs: Path) -> Path:
    """Give the finance orders pipeline of a config tree copy the EUR transform."""
    return append(tenant_configs / "finance" / "pipelines" / "orders.yaml", BLOCK)


def expected_column_lineage(batch: tuple[str, str], fx_rates: tuple[str, str]) -> dict:
    """The exact ``columnLineage`` facet (fields and dataset) of the transform's output, for the datasets
    (namespace, name) of the landed batch and of the fx_rates table."""
    def field(dataset, column, kind, subtype):
        return {"namespace": dataset[0], "name": dataset[1], "field": column,
                "transformations": [{"type": kind, "subtype": subtype}]}

    def direct(subtype, *inputs):
        return {"inputFields": [field(dataset, column, "DIRECT", subtype) for dataset, column in inputs]}

    return {
        "fields": {
            "order_id": direct("IDENTITY", (batch, "order_id")),
            "customer_id": direct("IDENTITY", (batch, "customer_id")),
            "currency": direct("IDENTITY", (batch, "currency")),
            "amount": direct("IDENTITY", (batch, "amount")),
            "amount_eur": direct("TRANSFORMATION", (batch, "amount"), (fx_rates, "rate")),
            "status": direct("TRANSFORMATION", (batch, "status")),
            "order_date": direct("IDENTITY", (batch, "order_date")),
            "updated_at": direct("IDENTITY", (batch, "updated_at")),
        },
        "dataset": [
            field(batch, "status", "INDIRECT", "FILTER"),
            field(batch, "currency", "INDIRECT", "JOIN"),
            field(batch, "order_date", "INDIRECT", "JOIN"),
            field(fx_rates, "quote", "INDIRECT", "JOIN"),
            field(fx_rates, "rate_date", "INDIRECT", "JOIN"),
        ],
    }
