"""Pricing: usage measures times the platform's cost model (``_platform.yaml`` ``costs:``)."""

from __future__ import annotations

from dataclasses import dataclass

from tenantflow.config.costs import GB, MONTH_SECONDS, CostModel


@dataclass(frozen=True)
class Cost:
    currency: str
    slots: float = 0.0
    storage: float = 0.0
    landing: float = 0.0
    databricks: float = 0.0

    @property
    def total(self) -> float:
        return self.slots + self.storage + self.landing + self.databricks

    def __add__(self, other: Cost) -> Cost:
        if other.currency != self.currency:
            raise ValueError(f"cannot add costs in {self.currency} and {other.currency}")
        return Cost(self.currency, self.slots + other.slots, self.storage + other.storage,
                    self.landing + other.landing, self.databricks + other.databricks)

    def as_dict(self) -> dict[str, float | str]:
        return {"currency": self.currency, "slots": round(self.slots, 6), "storage": round(self.storage, 6),
                "landing": round(self.landing, 6), "databricks": round(self.databricks, 6),
                "total": round(self.total, 6)}


def price(costs: CostModel, *, slot_seconds: float = 0.0, stored_byte_seconds: float = 0.0,
          bytes_landed: int = 0, node_seconds: float = 0.0) -> Cost:
    """The cost of these measures. Storage is priced by byte-seconds (bytes kept x how long)."""
    return Cost(
        currency=costs.currency,
        slots=slot_seconds / 3600 * costs.per_slot_hour,
        storage=stored_byte_seconds / GB / MONTH_SECONDS * costs.per_gb_month_stored,
        landing=bytes_landed / GB * costs.per_gb_landed,
        databricks=node_seconds / 3600 * costs.dbu_per_node_hour * costs.per_dbu,
    )
