"""``tenantflow iam [TENANT]``: the tenants' least-privilege AWS documents as JSON or Terraform."""

from __future__ import annotations

from dataclasses import dataclass

from tenantflow.cli_errors import CommandFailed
from tenantflow.config.loader import load_all
from tenantflow.isolation.iam_policies import AwsAccount, as_json, bucket_tenants, documents
from tenantflow.isolation.iam_terraform import as_terraform
from tenantflow.settings import Settings

FORMATS = ("json", "terraform")


@dataclass(frozen=True)
class IamResult:
    output: str
    notes: tuple[str, ...]
    """For stderr: the output may be piped into a file or terraform (Airflow's logging writes to stdout)."""


def run_iam(settings: Settings, tenant: str | None, *, account_id: str, region: str, platform_role: str,
            fmt: str) -> IamResult:
    """The documents of ``tenant`` (None: every tenant) rendered in ``fmt``; ``CommandFailed`` on bad input."""
    try:
        account = AwsAccount(account_id=account_id, region=region, platform_role_arn=platform_role)
    except ValueError as exc:
        raise CommandFailed(str(exc), 2) from None
    bundles, failures = load_all(settings.config_dir)
    if tenant is not None and tenant not in bundles:
        if tenant in failures:
            raise CommandFailed(f"tenant {tenant!r} has an invalid config (run `tenantflow validate {tenant}`):\n"
                                f"{failures[tenant]}")
        known = ", ".join(sorted([*bundles, *failures])) or "none"
        raise CommandFailed(f"no tenant {tenant!r} in {settings.config_dir} (tenants: {known})")
    if tenant is None and failures:  # documents without them would drop their roles and bucket statements
        raise CommandFailed(f"tenant(s) {', '.join(sorted(failures))} have an invalid config, nothing written "
                            "(run `tenantflow validate`)")
    notes = [f"tenant {name!r} has an invalid config: a bucket it shares is not seen as shared"
             for name in sorted(failures)]
    platform = next(iter(bundles.values())).platform if bundles else None
    if platform is None:
        raise CommandFailed(f"no valid tenant in {settings.config_dir}")
    try:
        docs = documents(bundles, platform, account, only=None if tenant is None else [tenant])
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
    if tenant is not None:
        for bucket, owners in sorted(bucket_tenants(bundles, platform).items()):
            if tenant in owners and len(owners) > 1:
                notes.append(f"bucket {bucket} is shared with {', '.join(sorted(owners - {tenant}))}: its policy here "
                             f"holds only {tenant}'s statements; run `tenantflow iam` without a tenant for the whole "
                             "policy")
    return IamResult(as_json(docs) if fmt == "json" else as_terraform(docs, account), tuple(notes))
