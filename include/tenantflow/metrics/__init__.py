"""Per-tenant metrics through Airflow's own metrics path (StatsD or OpenTelemetry): README "Metrics"."""
