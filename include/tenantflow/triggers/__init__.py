"""Triggers run by Airflow's triggerer on behalf of a tenant (event-driven schedules)."""
