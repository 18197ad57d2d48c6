"""Raw landing of extracted batches in the tenant's storage."""
