"""Operators for the pipeline stages; each is thin over a hook."""
