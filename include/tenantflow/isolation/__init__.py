"""Tenant isolation: the access matrix, pools/roles/users sync, and policies."""
