"""The audit trail per tenant: who did what to a tenant's data, when, in which run.

- ``records``: the record (a frozen dataclass; details are counts, names and methods, never data values),
  the actors (the Airflow user who triggered a run, ``platform:scheduler``, ``platform:maintenance``,
  ``cli:<name>``) and the dedupe key;
- ``store``: the platform-owned Iceberg table ``tenantflow_audit.<tenant>`` (append-only, written with the
  platform's identity under the platform's location), appends with retries and dedupe, filtered reads;
- ``events``: the records of a load, quarantine, PII masking, maintenance run, retention deletion,
  offboarding purge and sync change;
- ``render``: ``tenantflow audit`` output (table, JSON, CSV);
- ``compliance``: ``tenantflow compliance`` (Markdown / HTML).
"""
