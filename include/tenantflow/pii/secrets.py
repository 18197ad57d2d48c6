"""The tenant's PII hashing secret: the password of the tenant's own Airflow connection ``<tenant>__pii``.

The secret is registered with Airflow's secrets masker as soon as it is read, so a stray log line
cannot print it. Keeping it per tenant makes hashes joinable inside a tenant and unlinkable across
tenants.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseHook

from tenantflow import naming
from tenantflow.isolation.guards import require_own_connection
from tenantflow.pii.masking import MIN_SECRET_BYTES

log = logging.getLogger(__name__)

SECRET_CONNECTION_NAME = naming.PII_SECRET_CONNECTION


class PiiSecretError(LookupError):
    """The tenant's PII secret is missing or unusable."""


def secret_connection_id(tenant_id: str) -> str:
    return naming.pii_secret_connection_id(tenant_id)


class PiiSecretHook(BaseHook):
    """The tenant's PII secret connection; wherever Airflow keeps connections (metastore, Secrets Manager, env)."""

    conn_name_attr = "connection_id"
    default_conn_name = f"tenant{naming.SEPARATOR}{SECRET_CONNECTION_NAME}"
    conn_type = "generic"
    hook_name = "tenantflow PII secret"

    def __init__(self, *, tenant_id: str, connection_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connection_id = connection_id or secret_connection_id(tenant_id)
        require_own_connection(tenant_id, self.connection_id)
        self.tenant_id = tenant_id

    def get_conn(self) -> bytes:
        """The HMAC key, registered with the secrets masker as soon as it is read."""
        from airflow.sdk.log import mask_secret

        conn_id, tenant_id = self.connection_id, self.tenant_id
        how = (
            f"create it with a random password of at least {MIN_SECRET_BYTES} characters, e.g. "
            f'`airflow connections add {conn_id} --conn-type generic --conn-password "$(openssl rand -hex 32)"`'
        )
        try:
            conn = self.get_connection(conn_id)
        except Exception as exc:  # AirflowNotFoundException and friends: say what to do instead
            raise PiiSecretError(f"tenant {tenant_id!r} has no PII secret connection {conn_id!r}: {how}") from exc
        password = conn.password or ""
        if password:
            mask_secret(password)
        if len(password.encode()) < MIN_SECRET_BYTES:
            raise PiiSecretError(
                f"connection {conn_id!r} of tenant {tenant_id!r} has a password shorter than {MIN_SECRET_BYTES} "
                f"bytes, too weak as a hashing secret: {how}"
            )
        log.debug("read PII secret of tenant %r from connection %r", tenant_id, conn_id)
        return password.encode()


def tenant_pii_secret(tenant_id: str, connection_id: str | None = None) -> bytes:
    """The HMAC key for ``tenant_id``, read from its own connection (another tenant's is refused)."""
    return PiiSecretHook(tenant_id=tenant_id, connection_id=connection_id).get_conn()
