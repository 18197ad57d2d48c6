"""The platform's cost model: what a unit of each measured resource costs (``_platform.yaml`` ``costs:``).

YAML::

    costs:
      currency: EUR
      per_slot_hour: 0.05          # one Airflow pool slot held for an hour (task run time x pool_slots)
      per_gb_month_stored: 0.023   # Iceberg data files of the tenant's tables (current snapshots)
      per_gb_landed: 0.01          # raw Parquet bytes written to the landing zone
      per_dbu: 0.30                # Databricks price of one DBU
      dbu_per_node_hour: 0.75      # DBUs one node (driver or worker) of the job clusters burns per hour

Prices are per unit and never negative; a resource priced 0 is still measured and reported. GB are
10**9 bytes; a month is 30 days (storage of a 15-day period costs half a GB-month per GB).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from tenantflow.config.base import Model

GB = 10**9
MONTH_SECONDS = 30 * 86_400


class CostModel(Model):
    currency: str = Field(default="USD", description="ISO 4217 code the prices are in, e.g. 'EUR'.")
    per_slot_hour: float = Field(
        default=0.0, ge=0, description="Price of one Airflow pool slot held for one hour (run time x pool_slots)."
    )
    per_gb_month_stored: float = Field(
        default=0.0, ge=0, description="Price of one GB (10^9 bytes) of Iceberg data files kept for 30 days."
    )
    per_gb_landed: float = Field(
        default=0.0, ge=0, description="Price of one GB of raw batch files written to the landing zone."
    )
    per_dbu: float = Field(default=0.0, ge=0, description="Price of one Databricks DBU.")
    dbu_per_node_hour: float = Field(
        default=0.0, ge=0, description="DBUs one Databricks node (driver or worker) consumes per hour."
    )

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"currency {value!r} must be a 3-letter ISO 4217 code in capitals, e.g. 'EUR' or 'USD'")
        return value
