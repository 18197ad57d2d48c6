"""Tenant notifications: quality warnings, failures and successes sent to the tenant's own targets."""
