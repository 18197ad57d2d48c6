"""The doctor's checks of one tenant: isolation, each connection its pipelines use, landing, catalog.

Each check is a small function returning a ``CheckResult``; ``run_checks`` runs them one after
another, each under a deadline, so a dead host costs seconds, not the whole command. Connections are
only looked up through the hooks the pipelines use, and never another tenant's.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from tenantflow import identity
from tenantflow.config.loader import TenantBundle
from tenantflow.doctor.plan import Need, tenant_needs
from tenantflow.doctor.probes import CONNECTION_KINDS, PROBES, build_hook
from tenantflow.doctor.redaction import Redactor
from tenantflow.doctor.result import CheckResult, Status, create_connection_hint, error_text
from tenantflow.isolation.guards import TenantIsolationError, require_own_connection
from tenantflow.settings import resolve_local

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0  # seconds per network call
T = TypeVar("T")


class CheckTimeout(TimeoutError):
    pass


@dataclass(frozen=True)
class DoctorReport:
    tenant_id: str
    results: tuple[CheckResult, ...]

    @property
    def failed(self) -> bool:
        return any(r.status == Status.FAIL for r in self.results)

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.results)


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``, or CheckTimeout after ``seconds`` (the call goes on in a daemon thread that exit abandons)."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="tenantflow-doctor-check", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise CheckTimeout(f"no answer within {seconds:g}s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


# the check name a line shows, by purpose
CHECK_NAMES = {"sql": "source", "http": "source", "graphql": "source", "files": "source", "cdc": "source",
               "queue": "source", "arrivals": "file arrival", "databricks": "databricks", "pii": "pii key",
               "catalog": "connection"}


def _what(need: Need) -> str:
    names = ", ".join(need.pipelines)
    return f"{need.purpose}{f' of {names}' if names else ''}"


def isolation_check(tenant_id: str, needs: tuple[Need, ...]) -> list[CheckResult]:
    """Every connection id the pipelines name must be the tenant's own; another tenant's is never looked up."""
    ids = sorted({n.connection_id for n in needs if n.connection_id is not None})
    results = []
    for need in needs:
        if need.connection_id is None:
            continue
        try:
            require_own_connection(tenant_id, need.connection_id)
        except TenantIsolationError as exc:
            results.append(CheckResult(
                Status.FAIL, "isolation", need.connection_id, f"{_what(need)}: {exc}",
                f"use a connection of tenant {tenant_id!r}, named '{tenant_id}__<name>', in the pipeline's config",
                need.pipelines))
    if not results:
        found = f"all {len(ids)} connection id(s) are the tenant's own: {', '.join(ids)}" if ids else \
            "the pipelines name no connection"
        results.append(CheckResult(Status.OK, "isolation", tenant_id, found))
    return results


def not_needed(tenant_id: str, needs: tuple[Need, ...]) -> list[CheckResult]:
    """SKIP lines for the optional connections no enabled pipeline uses (so their absence is not a surprise)."""
    from tenantflow.pii.secrets import secret_connection_id
    from tenantflow.processing import databricks_spec

    used = {n.purpose for n in needs}
    skipped = []
    if "databricks" not in used:
        skipped.append(CheckResult(Status.SKIP, "databricks", databricks_spec.connection_id(tenant_id),
                                   "databricks: no enabled pipeline uses engine 'databricks'"))
    if "pii" not in used:
        skipped.append(CheckResult(Status.SKIP, "pii key", secret_connection_id(tenant_id),
                                   "pii: no enabled pipeline hashes PII, so no key is needed"))
    return skipped


def connection_check(tenant_id: str, need: Need, timeout: float, redactor: Redactor) -> CheckResult:
    """The connection exists (looked up through its hook) and answers the purpose's probe."""
    subject, check = need.connection_id or need.location or "-", CHECK_NAMES[need.purpose]
    hook = build_hook(tenant_id, need, timeout)
    if need.connection_id is not None:
        try:
            conn = hook.get_connection(need.connection_id)
        except Exception:  # noqa: BLE001 - AirflowNotFoundException, or a secrets backend that cannot say
            what = CONNECTION_KINDS[need.purpose].replace("{id}", need.connection_id)
            return CheckResult(Status.FAIL, check, subject, f"{_what(need)}: connection does not exist",
                               create_connection_hint(need.connection_id, what), need.pipelines)
        redactor.remember_connection(conn)
    probe = PROBES[need.purpose](hook, need, timeout, redactor)
    return CheckResult(probe.status, check, subject, f"{_what(need)}: {probe.detail}", probe.hint,
                       need.pipelines)


def landing_check(bundle: TenantBundle, home: str) -> CheckResult:
    """Write and delete a probe object where the tenant's batches land (with the tenant's KMS key on S3)."""
    from tenantflow.landing.storage import in_object_store, join, make_dirs, remove_dir, remove_file, write_bytes

    landing = resolve_local(bundle.tenant.storage.landing, Path(home))
    folder = join(landing, "_tenantflow_doctor")
    probe = join(folder, f"probe-{uuid.uuid4().hex}.txt")
    kms_key_id = bundle.tenant.storage.kms_key_id
    try:
        make_dirs(folder)
        write_bytes(probe, b"tenantflow doctor probe: safe to delete\n", kms_key_id)
        remove_file(probe)
        if not in_object_store(landing):
            remove_dir(folder)
    except Exception as exc:  # noqa: BLE001 - any storage error is the answer
        return CheckResult(Status.FAIL, "landing", landing, f"cannot write and delete a probe object: "
                           f"{error_text(exc)}", _landing_hint(landing, kms_key_id))
    encrypted = f", SSE-KMS with {kms_key_id}" if kms_key_id and landing.startswith("s3://") else ""
    return CheckResult(Status.OK, "landing", landing, f"writable (probe object written and deleted{encrypted})")


def _landing_hint(landing: str, kms_key_id: str | None) -> str:
    from tenantflow.object_stores import cloud_scheme

    if scheme := cloud_scheme(landing):
        from tenantflow.landing.cloud import landing_conn_id

        store, role = (("bucket", "roles/storage.objectUser") if scheme == "gs"
                       else ("container", "Storage Blob Data Contributor"))
        return (f"the {store} must exist and the landing identity (connection `{landing_conn_id(scheme)}`, else "
                f"the environment's credentials) needs {role} on it, to write and delete under {landing}")
    if not landing.startswith("s3://"):
        return f"create {landing} and make it writable by the user Airflow's workers run as (storage.landing)"
    kms = f", and kms:GenerateDataKey on {kms_key_id}" if kms_key_id else ""
    return (f"the bucket must exist and the tenant's identity (connection `{identity.aws_conn_id()}`, else the "
            f"environment's AWS credentials) needs s3:PutObject and s3:DeleteObject under {landing}{kms} "
            "(`tenantflow iam` generates the policy)")


def catalog_check(bundle: TenantBundle, home: str) -> CheckResult:
    """The tenant's Iceberg namespace exists in its catalog (``tenantflow sync`` creates it)."""
    from pyiceberg.exceptions import NoSuchNamespaceError

    from tenantflow.catalog.catalogs import open_tenant_catalog

    ref = bundle.tenant.catalog
    subject = f"{ref.name}:{ref.namespace}"
    try:
        catalog = open_tenant_catalog(bundle.tenant, bundle.platform, home)
        catalog.load_namespace_properties(ref.namespace)
    except NoSuchNamespaceError:
        return CheckResult(Status.WARN, "catalog", subject, f"namespace {ref.namespace!r} does not exist yet",
                           "`tenantflow sync` creates it (with the tenant's ownership properties)")
    except Exception as exc:  # noqa: BLE001 - any catalog error is the answer
        return CheckResult(Status.FAIL, "catalog", subject, f"cannot open the catalog: {error_text(exc)}",
                           f"check catalog {ref.name!r} in _platform.yaml and the tenant's catalog connection")
    return CheckResult(Status.OK, "catalog", subject, f"namespace {ref.namespace!r} exists")


def _guarded(check: str, subject: str, seconds: float, call: Callable[[], CheckResult]) -> CheckResult:
    try:
        return within(seconds, call)
    except CheckTimeout as exc:
        return CheckResult(Status.FAIL, check, subject, str(exc), "the service does not answer: check host, port "
                           "and firewall (the doctor gives each check a few seconds)")
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        log.debug("doctor check %s %s failed", check, subject, exc_info=True)
        return CheckResult(Status.FAIL, check, subject, f"check failed: {error_text(exc)}",
                           "run with -v for the traceback")


def run_checks(bundle: TenantBundle, home: str, *, timeout: float = DEFAULT_TIMEOUT) -> DoctorReport:
    """Every check of the tenant, in order: isolation, connections, landing, catalog. Secrets are scrubbed."""
    tenant_id, redactor = bundle.tenant.id, Redactor()
    needs = tenant_needs(bundle, home)
    deadline = 2 * timeout + 2  # a connect and a request, each with its own timeout
    results = isolation_check(tenant_id, needs)
    foreign = {r.subject for r in results if r.status == Status.FAIL}
    # the checks see what the tenant's tasks see: its own cloud identity (<tenant>__aws), not the platform's
    with redactor.scrubbing_output(), identity.acting_for(tenant_id):
        for need in needs:
            if need.connection_id in foreign:
                continue
            results.append(_guarded(CHECK_NAMES[need.purpose], need.connection_id or need.location or "-", deadline,
                                    lambda need=need: connection_check(tenant_id, need, timeout, redactor)))
        results.extend(not_needed(tenant_id, needs))
        results.append(_guarded("landing", bundle.tenant.storage.landing, deadline,
                                lambda: landing_check(bundle, home)))
        results.append(_guarded("catalog", bundle.tenant.catalog.namespace, deadline,
                                lambda: catalog_check(bundle, home)))
    scrubbed = tuple(replace(r, subject=redactor.scrub(r.subject), detail=redactor.scrub(r.detail),
                             hint=redactor.scrub(r.hint)) for r in results)
    return DoctorReport(tenant_id, scrubbed)
