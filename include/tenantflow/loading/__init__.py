"""Loading landed batches into Iceberg tables (write modes, idempotency, watermark state)."""
