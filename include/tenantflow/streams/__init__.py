"""Stream sources (queues, CDC): micro-batches committed to Iceberg with their stream position."""
