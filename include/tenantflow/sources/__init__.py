"""Sources: one module per source kind (``sql``, ``files``, ``http``, ``graphql``), each holding its hook and
its reader (``graphql``'s hook is the ``http`` one, POSTing a query; both retry through ``http.RetryingSender``).

A source hook is a subclass of the fitting Airflow hook (``DbApiHook``, ``AwsBaseHook``, ``HttpHook``),
bound to one of the tenant's own connections (``<tenant>__*``, enforced by ``isolation.guards``). Its
``extract(request)`` yields bounded Arrow tables; ``registry`` maps a config ``kind`` to its hook.
Shared pieces sit next to them: ``bad_rows``, ``column_types``, ``avro``, ``errors`` (SQL failures
split into retryable and not) and ``postgres_adbc`` (the PostgreSQL fast path).
"""
