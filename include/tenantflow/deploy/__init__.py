"""Deployment artefacts derived from the tenant configs (Helm values)."""
