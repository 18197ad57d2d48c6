"""Source connectors: each yields pyarrow Tables in bounded batches."""
