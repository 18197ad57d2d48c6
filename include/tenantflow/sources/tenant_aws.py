"""The AWS hook of a tenant's stream source: one service client on the tenant's own connection ``<tenant>__<name>``."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from tenantflow.isolation.guards import require_own_connection


class TenantAwsHook(AwsBaseHook):
    """``service`` (a boto3 client type) through the tenant's own AWS connection, checked before it is read."""

    service = ""

    def __init__(self, *, tenant_id: str, connection_id: str, **kwargs: Any) -> None:
        require_own_connection(tenant_id, connection_id)  # before anything reads the connection
        super().__init__(aws_conn_id=connection_id, client_type=self.service, **kwargs)
        self.tenant_id = tenant_id
        self.connection_id = connection_id

    def probe_client(self, timeout: float) -> Any:
        """A client with short timeouts and no retries, for a check that reports rather than waits (the doctor)."""
        from botocore.config import Config

        return self.get_client_type(config=Config(connect_timeout=timeout, read_timeout=timeout,
                                                  retries={"max_attempts": 1}))
