"""Where a tenant's Iceberg files go, with whose identity, under which key: catalog properties per tenant.

- **Location**: the tenant's ``storage.warehouse`` if set, else the catalog's ``warehouse`` property, in
  which ``{tenant}`` names the tenant (``s3://acme-lakehouse/{tenant}``, ``s3://acme-{tenant}-warehouse``):
  tables are created under ``<warehouse>/<namespace>/<table>``.
- **Identity**: on an s3:// warehouse and for Glue, the credentials of the identity the process acts with
  (``tenantflow.identity``: ``<tenant>__aws`` in a tenant's task, ``aws_default`` for the platform), resolved
  by Airflow's ``AwsBaseHook`` (keys, an assumed ``role_arn``, web identity) and handed to pyiceberg as
  ``s3.*`` / ``glue.*`` properties. Properties the platform wrote in ``_platform.yaml`` win.
- **Encryption**: with ``storage.kms_key_id`` on an s3:// warehouse, every data, manifest and metadata file
  is written with SSE-KMS under the tenant's key (``sse_kms_io.SseKmsFileIO``).
"""

from __future__ import annotations

from pathlib import Path

from tenantflow import identity
from tenantflow.config.models import CatalogSettings, TenantConfig
from tenantflow.settings import job_environment, resolve_local

PY_IO_IMPL = "py-io-impl"
SSE_FILE_IO = "tenantflow.catalog.sse_kms_io.SseKmsFileIO"


def tenant_warehouse(tenant: TenantConfig, home: str) -> str | None:
    """The tenant's own warehouse (``storage.warehouse``) as a URI, or None (the catalog's, per tenant)."""
    location = tenant.storage.warehouse
    if location is None:
        return None
    if "://" in location:
        return location.rstrip("/")
    return "file://" + resolve_local(location, Path(home)).rstrip("/")


def apply_tenant_storage(
    props: dict[str, str], settings: CatalogSettings, *, warehouse: str | None, kms_key_id: str | None
) -> None:
    """Set the tenant's warehouse, cloud identity and encryption on resolved catalog properties (in place)."""
    if warehouse is not None:
        props["warehouse"] = warehouse
    on_s3 = props.get("warehouse", "").startswith("s3://")
    glue_with_identity = settings.type == "glue" and settings.connection is None
    if on_s3 or glue_with_identity:
        _aws_identity(props, glue=glue_with_identity, s3=on_s3)
    if kms_key_id and on_s3:
        props[PY_IO_IMPL] = SSE_FILE_IO
        props["s3.server-side-encryption"] = "aws:kms"
        props["s3.sse-kms-key-id"] = kms_key_id


def _aws_identity(props: dict[str, str], *, glue: bool, s3: bool) -> None:
    from tenantflow.landing.s3 import endpoint_of, landing_s3

    hook = landing_s3(identity.aws_conn_id())
    options = hook.options()  # frozen credentials of the connection (an assumed role's session token too)
    credentials = {"access-key-id": options.get("access_key"), "secret-access-key": options.get("secret_key"),
                   "session-token": options.get("session_token"), "region": options["region"]}
    endpoints = {"s3": endpoint_of(hook),
                 "glue": hook.conn_config.get_service_endpoint_url("glue") or job_environment("AWS_ENDPOINT_URL")}
    for service, wanted in (("s3", s3), ("glue", glue)):
        if not wanted:
            continue
        # keys the platform wrote itself are kept whole (never mixed with the identity's session token)
        given = f"{service}.access-key-id" in props
        for name, value in {**credentials, "endpoint": endpoints[service]}.items():
            if value and not (given and name in _SECRETS):
                props.setdefault(f"{service}.{name}", value)


_SECRETS = ("access-key-id", "secret-access-key", "session-token")
