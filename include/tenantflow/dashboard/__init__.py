"""The Tenants dashboard: an Airflow UI page (plugin) over aggregate queries on the metadata DB.

``scope`` decides which tenants a signed-in user sees (from the DAGs the auth manager lets them read),
``sql``/``queries`` aggregate pipeline health, freshness, rows, quality and quota in the database,
``api`` is the FastAPI app the api-server mounts, ``plugin`` the ``AirflowPlugin`` that registers it.
"""
