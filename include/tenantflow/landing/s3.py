"""S3 access through an ``AwsBaseHook`` (landing, the Iceberg warehouse), and pyarrow S3 options from any AWS hook.

The identity is the connection of whoever the process acts for (``tenantflow.identity``): ``<tenant>__aws`` in a
tenant's task, the platform's ``aws_default`` elsewhere (an ``aws`` connection: keys, ``role_arn`` assumed
through STS, web identity…). When that connection does not exist, ``AwsBaseHook`` falls back to the
environment's credential chain (instance profile, IRSA, ``AWS_*`` variables) — unless ``[tenantflow]
tenant_aws_identity = required``, which refuses that for a tenant's connection.

Imported only when an s3:// location is touched: the amazon provider pulls in boto3.
"""

from __future__ import annotations

import threading
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from tenantflow.settings import job_environment

DEFAULT_REGION = "us-east-1"


class LandingS3Hook(AwsBaseHook):
    """The landing store's S3 client and pyarrow filesystem options (one boto3 session per process)."""

    hook_name = "tenantflow landing store (S3)"

    def __init__(self, aws_conn_id: str | None, **kwargs: Any) -> None:
        super().__init__(aws_conn_id=aws_conn_id, client_type="s3", **kwargs)
        self._session: Any = None
        self._client: Any = None

    @property
    def session(self) -> Any:
        # one session: its credentials refresh themselves (assumed roles), where get_session() would
        # assume the role again on every call
        if self._session is None:
            self._session = self.get_session(region_name=region_of(self))
        return self._session

    def client(self) -> Any:
        """A boto3 S3 client (SSE-KMS writes and copies, which pyarrow cannot ask for)."""
        if self._client is None:
            self._client = self.session.client("s3", endpoint_url=endpoint_of(self), region_name=region_of(self),
                                               config=self.config, verify=self.verify)
        return self._client

    def options(self) -> dict[str, Any]:
        return pyarrow_s3_options(self, self.session)


def region_of(hook: AwsBaseHook) -> str:
    return hook.conn_config.region_name or job_environment("AWS_DEFAULT_REGION") or DEFAULT_REGION


def endpoint_of(hook: AwsBaseHook) -> str | None:
    """The connection's S3 endpoint (extra ``endpoint_url`` or ``service_config.s3``), else AWS_ENDPOINT_URL(_S3)."""
    return (hook.conn_config.get_service_endpoint_url("s3") or job_environment("AWS_ENDPOINT_URL_S3")
            or job_environment("AWS_ENDPOINT_URL") or None)


def pyarrow_s3_options(hook: AwsBaseHook, session: Any = None) -> dict[str, Any]:
    """``pyarrow.fs.S3FileSystem`` options from an AWS hook: its frozen credentials, region and endpoint.

    The credentials are whatever the hook's connection resolves to (keys, STS assume-role, web
    identity, the environment's chain), with the session token of temporary credentials.
    """
    from airflow.sdk.log import mask_secret

    session = session if session is not None else hook.get_session(region_name=region_of(hook))
    options: dict[str, Any] = {"region": region_of(hook)}
    credentials = session.get_credentials()
    if credentials is not None:  # none anywhere: let pyarrow's own chain try (e.g. a public bucket)
        frozen = credentials.get_frozen_credentials()
        options.update(access_key=frozen.access_key, secret_key=frozen.secret_key)
        mask_secret(frozen.secret_key)
        if frozen.token:
            options["session_token"] = frozen.token
            mask_secret(frozen.token)
    endpoint = endpoint_of(hook)
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    return options


_HOOKS: dict[tuple[str | None, ...], LandingS3Hook] = {}
_LOCK = threading.Lock()


def landing_s3(aws_conn_id: str | None) -> LandingS3Hook:
    """The process's landing S3 hook for ``aws_conn_id`` (a batch touches many objects: one lookup, one session).

    Keyed on the connection's ``AIRFLOW_CONN_`` variable and the endpoint/region variables too, so a changed
    environment (tests, a shell) gets a new one.
    """
    key = (aws_conn_id, aws_conn_id and job_environment(f"AIRFLOW_CONN_{aws_conn_id.upper()}"),
           job_environment("AWS_ENDPOINT_URL_S3") or job_environment("AWS_ENDPOINT_URL"),
           job_environment("AWS_DEFAULT_REGION"))
    with _LOCK:
        hook = _HOOKS.get(key)
        if hook is None:
            hook = LandingS3Hook(aws_conn_id)
            _require_tenant_connection(hook, aws_conn_id)
            _HOOKS[key] = hook
        return hook


def _require_tenant_connection(hook: LandingS3Hook, aws_conn_id: str | None) -> None:
    from tenantflow import identity

    if aws_conn_id is None or aws_conn_id == identity.PLATFORM_AWS_CONN_ID or not identity.tenant_identity_required():
        return
    try:
        hook.get_connection(aws_conn_id)
    except Exception as exc:  # noqa: BLE001 - AirflowNotFoundException, or a secrets backend that cannot say
        raise identity.MissingTenantIdentity(
            f"AWS connection {aws_conn_id!r} not found ({exc}): [tenantflow] tenant_aws_identity = required "
            "refuses the environment's shared credentials for a tenant; create the connection (conn_type aws: "
            "access keys, or extra {\"role_arn\": \"arn:aws:iam::<account>:role/tenantflow-<tenant>\"})") from exc
