"""`tenantflow doctor TENANT`: check what a tenant's pipelines need (connections, landing, catalog) before they run."""
