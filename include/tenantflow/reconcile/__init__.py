"""Reconcile: keep Airflow's pools, roles, permissions and namespaces in step with the config tree, by itself."""
