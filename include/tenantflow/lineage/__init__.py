"""OpenLineage for the pipeline stages, through Airflow's OpenLineage provider (README "Lineage (OpenLineage)").

Each stage operator implements the provider's ``get_openlineage_facets_on_start`` / ``_on_complete`` by
calling ``lineage.stages.stage_lineage``; the provider's listener turns the result into START/COMPLETE
events and sends them with the configured transport. Without a transport the provider is disabled and
nothing here runs (``enabled``).

* ``datasets``: dataset names (sources, landing, Iceberg tables), one tenant's never another's;
* ``facets``: schema, statistics, data quality, catalog and tag facets;
* ``columns``: column lineage of a transform, from the sqlglot parse of its Spark SQL;
* ``stages``: what each stage reads and writes, from config plus what the run recorded.

Imported inside task code only (the operators' lineage methods): DAG parsing never loads it.
"""

from __future__ import annotations


def enabled() -> bool:
    """Whether the OpenLineage provider emits events here (a transport is configured and it is not disabled)."""
    try:
        from airflow.providers.openlineage import conf
    except ImportError:  # the provider is a dependency; a trimmed image without it emits nothing
        return False
    return not conf.is_disabled()
