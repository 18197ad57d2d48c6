"""tenantflow: multi-tenant data ingestion on Apache Airflow 3.3.

Importing this package is cheap by design: heavy libraries (pyiceberg, great_expectations,
boto3, duckdb, pyarrow, pandas) are imported inside task code only.
"""

__version__ = "0.1.0"
