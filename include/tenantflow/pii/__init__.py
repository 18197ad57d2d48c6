"""PII detection, masking and data classification (pyarrow is imported inside functions only)."""
