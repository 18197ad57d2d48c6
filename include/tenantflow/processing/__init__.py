"""Processing engines: run a pipeline's transform (local DuckDB, or Spark on the tenant's Databricks)."""
