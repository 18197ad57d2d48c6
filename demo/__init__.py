"""`make demo`: demo source data, the launcher, its REST smoke check and a local Databricks Jobs API stand-in.

Not part of the tenantflow package: it is not in the wheel nor in the image (production never serves a fake
workspace). It runs from a checkout, from the repo root (`python -m demo.launcher`), with the dev install.
"""
