"""Data-quality checks: pipeline rules compiled to Great Expectations 1.x expectations."""
