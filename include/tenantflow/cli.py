"""The ``tenantflow`` command: validate configs, export schemas, scaffold tenants, sync isolation, list,
quality trends, tables, audit trails and compliance reports."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tenantflow.cli_errors import CONFIG_FREE_COMMANDS, CommandFailed, check_config_dir, explain
from tenantflow.config.errors import ConfigErrors
from tenantflow.config.loader import TenantBundle, load_all, load_platform, tenant_ids
from tenantflow.settings import Settings, get_settings

log = logging.getLogger("tenantflow")


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _targets(settings: Settings, paths: Sequence[str]) -> list[str] | None:
    """Tenant ids named by PATH arguments (None = all tenants)."""
    if not paths:
        return None
    root = settings.config_dir
    chosen: set[str] = set()
    for raw in paths:
        path = Path(raw).resolve()
        if path == root:
            return None
        try:
            relative = path.relative_to(root)
        except ValueError:
            raise SystemExit(
                f"tenantflow: {raw} is not inside the config dir {root} (set TENANTFLOW_CONFIG_DIR)"
            ) from None
        if relative.parts and relative.parts[0].startswith("_"):
            return None  # platform files affect every tenant
        if relative.parts:
            chosen.add(relative.parts[0])
    return sorted(chosen)


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.config.loader import PLATFORM_FILE, load_tenant
    from tenantflow.isolation.cross_tenant import cross_tenant_errors, missing_entry_files

    roots = [Path(p).resolve() for p in args.paths if (Path(p) / PLATFORM_FILE).is_file()]
    if len(roots) == 1 and len(args.paths) == 1:  # `tenantflow validate path/to/tenant_configs`
        settings = dataclasses.replace(settings, config_dir=roots[0],
                                       dags_dir=roots[0].parent / "dags" / "tenants")

    try:
        load_platform(settings.config_dir)
    except ConfigErrors as exc:
        _out(str(exc))
        return 1
    wanted = _targets(settings, args.paths)
    bundles: dict[str, TenantBundle] = {}
    errors: list[str] = []
    for tenant_id in wanted if wanted is not None else tenant_ids(settings.config_dir):
        if not (settings.config_dir / tenant_id).is_dir():
            errors.append(f"{tenant_id}: no such tenant folder under {settings.config_dir}")
            continue
        try:
            bundles[tenant_id] = load_tenant(settings.config_dir, tenant_id)
        except ConfigErrors as exc:
            errors.extend(str(e) for e in exc.errors)
    if wanted is None:
        all_bundles = bundles
    else:
        all_bundles, _ = load_all(settings.config_dir)
    errors.extend(str(e) for e in cross_tenant_errors(all_bundles, only=set(bundles)))
    errors.extend(missing_entry_files(settings, bundles))
    for line in errors:
        _out(line)
    pipelines = sum(len(b.pipelines) for b in bundles.values())
    if errors:
        _out(f"FAILED: {len(errors)} error(s)")
        return 1
    _out(f"OK: {len(bundles)} tenant(s), {pipelines} pipeline(s) valid")
    return 0


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.config.schema import json_schemas

    schemas = json_schemas()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for kind, schema in schemas.items():
            (out / f"{kind}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
            _out(f"wrote {out / f'{kind}.schema.json'}")
        return 0
    _out(json.dumps(schemas[args.kind], indent=2))
    return 0


def cmd_new_tenant(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.config.scaffold import scaffold_tenant

    try:
        written = scaffold_tenant(settings, args.tenant_id, display_name=args.display_name,
                                  email=args.email)
    except (ValueError, FileExistsError) as exc:
        _out(f"tenantflow new-tenant: {exc}")
        return 1
    for path in written:
        _out(f"created {path}")
    code = cmd_validate(argparse.Namespace(paths=[str(settings.config_dir / args.tenant_id)]), settings)
    if code == 0:
        _out(f"next: commit both, open a PR (`tenantflow plan` shows what it does); once merged the reconcile "
             f"makes the tenant's pool, roles and namespace by itself; `tenantflow doctor {args.tenant_id}` "
             "checks its connections before the first run")
    return code


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.audit.records import cli_actor
    from tenantflow.reconcile.run import reconcile

    report = reconcile(settings, demo_users=args.demo_users, prune=args.prune, dry_run=args.dry_run,
                       catalog=not args.no_catalog, actor=cli_actor(args.operator))
    for line in report.lines():
        _out(line)
    return 1 if (report.skipped and args.strict) or report.failed_namespaces or report.audit_failures else 0


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.reconcile.run import watch

    if not args.watch:
        return cmd_sync(argparse.Namespace(demo_users=args.demo_users, prune=True, dry_run=False,
                                           no_catalog=False, strict=False, operator=args.operator), settings)
    logging.getLogger("tenantflow").setLevel(logging.INFO)
    watch(lambda: get_settings(cached=False), interval=args.interval, full_every=args.full_every,
          demo_users=args.demo_users)
    return 0


def cmd_offboard(args: argparse.Namespace, settings: Settings) -> int:
    from airflow.utils.session import create_session

    from tenantflow.reconcile.purge import PurgeRefused, purge
    from tenantflow.reconcile.records import read_records

    if args.purge is None:
        with create_session() as session:
            retired = [r for r in read_records(session).values() if r.retired_at]
        for r in sorted(retired, key=lambda r: r.tenant_id):
            _out(f"{r.tenant_id}: retired {r.retired_at}; kept landing {r.landing}, namespace "
                 f"{r.catalog}:{r.namespace}, tables {', '.join(r.tables) or '-'}")
        _out(f"{len(retired)} retired tenant(s) with data kept" if retired else "no retired tenants")
        return 0
    from tenantflow.audit.records import cli_actor

    try:
        report = purge(settings, args.purge, args.confirm, operator=cli_actor(args.operator))
    except PurgeRefused as exc:
        _out(f"tenantflow offboard: {exc}")
        return 1
    for line in report.lines():
        _out(line)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow import naming

    bundles, failures = load_all(settings.config_dir)
    rows = [("TENANT", "PIPELINE", "DAG ID", "SCHEDULE", "SOURCE", "TARGET")]
    for tenant_id, bundle in sorted(bundles.items()):
        for p in bundle.pipelines:
            schedule = p.schedule.describe() if p.schedule else "-"
            target = f"{bundle.tenant.catalog.namespace}.{p.target.table} ({p.target.mode})"
            rows.append((tenant_id, p.id, naming.dag_id(tenant_id, p.id), schedule, p.source.kind, target))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        _out("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for tenant_id in failures:
        _out(f"{tenant_id}: invalid config (run `tenantflow validate {tenant_id}`)")
    return 1 if failures else 0


def _remote_or_local(args: argparse.Namespace, tenant_id: str, view: str, params: dict, local) -> int:
    """A tenant view from the api-server with the user's token (``--api-url``/``--remote``), else computed here."""
    if args.api_url or args.remote:
        from tenantflow.remote import fetch_view, remote

        output, code = fetch_view(remote(args.api_url), tenant_id, view, params)
    else:
        result = local()
        output, code = result.output, result.exit_code
    sys.stdout.write(output)
    return code


def cmd_tables(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.tenant_views import tables_view

    return _remote_or_local(args, args.tenant_id, "tables", {"format": "json" if args.json else "table"},
                            lambda: tables_view(settings, args.tenant_id, as_json=args.json))


def cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.tenant_views import quality_view

    params = {"format": "json" if args.json else "table", "pipeline": args.pipeline, "last": args.last}
    return _remote_or_local(args, args.tenant, "quality", params, lambda: quality_view(
        settings, args.tenant, pipeline=args.pipeline, last=args.last, as_json=args.json))


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.doctor.command import doctor

    return doctor(settings, args.tenant, as_json=args.json, timeout=args.timeout, out=_out)


def cmd_roles(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.isolation.access_matrix import markdown_table

    _out(markdown_table())
    return 0


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.review.command import run_plan

    result = run_plan(settings, base=args.base, head=args.head, fmt=args.format)
    if args.out:
        Path(args.out).write_text(result.output, encoding="utf-8")
    sys.stdout.write(result.output)
    return result.exit_code
def cmd_usage(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.usage.command import run_usage

    if args.api_url or args.remote:
        if args.tenant is None or args.plot:
            raise CommandFailed("the remote mode shows one tenant's usage: pass --tenant TENANT (and no --plot)", 2)
        params = {"from": args.from_day, "to": args.to_day, "format": args.format}
        return _remote_or_local(args, args.tenant, "usage", params, lambda: None)
    result = run_usage(settings, first=args.from_day, last=args.to_day, tenant=args.tenant, fmt=args.format,
                       plot_path=args.plot)
    sys.stdout.write(result.output)
    return result.exit_code


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.audit.command import run_audit

    if args.api_url or args.remote:  # the API decides by role: the Auditor, Platform Admin, the tenant's admin
        from tenantflow.audit.records import AuditRecord
        from tenantflow.audit.render import FORMATS
        from tenantflow.remote import fetch, remote

        body = fetch(remote(args.api_url), args.tenant, "audit",
                     {"since": args.from_day, "until": args.to_day, "action": args.action, "limit": 10_000})
        sys.stdout.write(FORMATS[args.format]([AuditRecord.from_dict(r) for r in body["records"]]))
        return 0
    sys.stdout.write(run_audit(settings, args.tenant, first=args.from_day, last=args.to_day, action=args.action,
                               fmt=args.format))
    return 0


def cmd_compliance(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.audit.command import window
    from tenantflow.audit.compliance import build_report
    from tenantflow.audit.compliance_render import FORMATS
    from tenantflow.config.loader import load_tenant

    try:
        bundle = load_tenant(settings.config_dir, args.tenant)
    except FileNotFoundError:
        raise CommandFailed(f"no tenant {args.tenant!r} in {settings.config_dir}") from None
    except ConfigErrors as exc:
        raise CommandFailed(f"tenant {args.tenant!r} has an invalid config:\n{exc}") from None
    text = FORMATS[args.format](build_report(settings, bundle, window(args.from_day, args.to_day)))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        _out(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_helm_values(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.deploy.helm_values import render, tenant_values

    bundles, failures = load_all(settings.config_dir)
    for tenant_id, exc in failures.items():  # rendering without it would drop its worker set
        _out(f"tenant {tenant_id!r} has an invalid config, no values written:\n{exc}")
    if failures:
        return 1
    text = render(tenant_values(bundles))
    if args.out:
        Path(args.out).write_text(text)
        _out(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_iam(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.isolation.iam_command import run_iam

    result = run_iam(settings, args.tenant, account_id=args.account_id, region=args.region,
                     platform_role=args.platform_role, fmt=args.format)
    for note in result.notes:
        sys.stderr.write(f"tenantflow iam: {note}\n")
    if args.out:
        Path(args.out).write_text(result.output, encoding="utf-8")
        _out(f"wrote {args.out}")
    else:
        sys.stdout.write(result.output)
    return 0


def cmd_k8s(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.deploy.k8s_manifests import is_generated, render_all
    from tenantflow.deploy.k8s_network import Platform

    bundles, failures = load_all(settings.config_dir)
    if args.tenant is not None:
        if args.tenant not in bundles and args.tenant not in failures:
            raise CommandFailed(f"no tenant {args.tenant!r} in {settings.config_dir} (tenants: "
                                f"{', '.join(sorted({*bundles, *failures}))})")
        bundles = {k: v for k, v in bundles.items() if k == args.tenant}
        failures = {k: v for k, v in failures.items() if k == args.tenant}
    for tenant_id, exc in failures.items():  # rendering without it would leave its namespace stale
        _out(f"tenant {tenant_id!r} has an invalid config, no manifests written:\n{exc}")
    if failures:
        return 1
    files = render_all([b.tenant for b in bundles.values()], Platform(account_id=args.account_id))
    if not args.out:
        for path, text in files.items():
            sys.stdout.write(f"# ==> {path} <==\n{text}")
        return 0
    out = Path(args.out)
    (out / "pod-templates").mkdir(parents=True, exist_ok=True)
    if args.tenant is None:  # a retired tenant's generated files go (anything else in the folder stays)
        for stale in sorted({*out.glob("*.yaml"), *out.glob("pod-templates/*.yaml")}):
            if str(stale.relative_to(out)) not in files and is_generated(stale.read_text()):
                stale.unlink()
                _out(f"removed {stale}")
    for path, text in files.items():
        (out / path).write_text(text)
        _out(f"wrote {out / path}")
    return 0


def cmd_databricks_deploy(args: argparse.Namespace, settings: Settings) -> int:
    from tenantflow.config.loader import load_tenant
    from tenantflow.processing.databricks_deploy import DeployError, deploy

    bundle = load_tenant(settings.config_dir, args.tenant)
    try:
        done = deploy(bundle.tenant, wheel=Path(args.wheel) if args.wheel else None,
                      source=Path(args.source) if args.source else None)
    except DeployError as exc:
        raise CommandFailed(str(exc)) from exc
    _out(f"deployed {done['wheel']} ({done['bytes']:,} bytes) to {done['path']} on {done['workspace']}: "
         f"tenant {done['tenant']!r}'s job clusters install it from there")
    return 0


def _aws_account_id(value: str) -> str:
    if not (len(value) == 12 and value.isdigit()):
        raise argparse.ArgumentTypeError(f"{value!r} is not an AWS account id (12 digits, e.g. 111122223333)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantflow", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="validate tenant configs; exit 1 listing every error")
    p.add_argument("paths", nargs="*", help="tenant folders or files (default: all tenants)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of a config file kind (for editors)")
    p.add_argument("kind", nargs="?", default="pipeline", choices=["tenant", "pipeline", "platform"])
    p.add_argument("--out", help="write all schemas into this folder")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("new-tenant", help="scaffold a valid tenant folder and its DAG entry file")
    p.add_argument("tenant_id")
    p.add_argument("--display-name")
    p.add_argument("--email", default=None, help="owner contact email")
    p.set_defaults(func=cmd_new_tenant)

    p = sub.add_parser("sync", help="create/update pools, roles, permissions and users (idempotent)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--prune", action="store_true",
                   help="retire deleted tenants: pause their DAGs, remove their pools/roles (data is kept)")
    p.add_argument("--demo-users", action="store_true", help="also create demo users (password: <user>-demo)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any tenant config is invalid")
    p.add_argument("--no-catalog", action="store_true", help="skip creating the tenants' catalog namespaces")
    p.add_argument("--operator", metavar="NAME", help="who syncs, for the tenants' audit trails (default: $USER)")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("reconcile", help="sync --prune now, or with --watch whenever the config tree changes")
    p.add_argument("--watch", action="store_true", help="keep running: apply every change of the config tree")
    p.add_argument("--interval", type=float, default=5.0, metavar="S", help="seconds between looks (default 5)")
    p.add_argument("--full-every", type=float, default=600.0, metavar="S",
                   help="apply again after S seconds even without a change, repairing drift (default 600)")
    p.add_argument("--demo-users", action="store_true", help="also create demo users (password: <user>-demo)")
    p.add_argument("--operator", metavar="NAME",
                   help="who reconciles once, for the audit trails (default: $USER; --watch: platform:reconcile)")
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("offboard", help="list retired tenants and their kept data; --purge deletes it")
    p.add_argument("--purge", metavar="TENANT", help="delete the retired tenant's tables, namespace, landing, DAGs")
    p.add_argument("--confirm", metavar="TENANT", help="the same tenant id again: required with --purge")
    p.add_argument("--operator", metavar="NAME",
                   help="who purges, recorded as cli:<NAME> in the audit log and trail (default: $USER)")
    p.set_defaults(func=cmd_offboard)

    p = sub.add_parser("list", help="list tenants, pipelines and DAG ids")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("tables", help="list a tenant's tables: schema, snapshots, last load, rows")
    p.add_argument("tenant_id")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    _remote_options(p)
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser("quality", help="quality trend of a tenant's runs: rows, score, failed rules")
    p.add_argument("tenant")
    p.add_argument("pipeline", nargs="?", help="one pipeline (default: all of the tenant's)")
    p.add_argument("--last", type=int, default=10, metavar="N", help="newest N runs (0: all; default 10)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _remote_options(p)
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser("plan", help="what a config change does between two git refs (for reviewers)")
    p.add_argument("--base", help="git ref to compare with (default: merge base of HEAD with origin/main or main)")
    p.add_argument("--head", help="git ref with the changes (default: HEAD)")
    p.add_argument("--format", choices=["text", "markdown"], default="text")
    p.add_argument("--out", metavar="FILE", help="also write the plan to FILE")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("doctor", help="check a tenant's connections, landing and catalog before its first run")
    p.add_argument("tenant")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="per network call (default 5)")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("roles", help="print the tenant role matrix as a markdown table")
    p.set_defaults(func=cmd_roles)

    p = sub.add_parser("helm-values", help="render the tenants' Helm values (worker sets) from the configs")
    p.add_argument("--out", help="write to this file (helm-values/tenants.values.yaml) instead of stdout")
    p.set_defaults(func=cmd_helm_values)

    p = sub.add_parser("iam", help="the tenants' least-privilege AWS documents: role, bucket and KMS key policies")
    p.add_argument("tenant", nargs="?", help="one tenant (default: all)")
    p.add_argument("--account-id", required=True, help="the AWS account (12 digits)")
    p.add_argument("--region", required=True, help="the AWS region of the tenants' secrets, keys and queues")
    p.add_argument("--platform-role", required=True, metavar="ARN",
                   help="the platform's IAM role (assumes the tenant roles, maintains buckets and keys)")
    p.add_argument("--format", choices=["json", "terraform"], default="json")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_iam)

    p = sub.add_parser("k8s", help="render each tenant's Kubernetes namespace, quota, network policies and "
                                   "KubernetesExecutor pod template from the configs")
    p.add_argument("tenant", nargs="?", help="only this tenant (default: all)")
    p.add_argument("--account-id", type=_aws_account_id,
                   help="AWS account of the tenants' IAM roles: annotate each ServiceAccount with "
                        "arn:aws:iam::<ID>:role/tenantflow-<tenant> (unless the tenant sets workers.role_arn)")
    p.add_argument("--out", help="write <tenant>.yaml and pod-templates/<tenant>.yaml into this folder "
                                 "(helm-values/k8s) instead of printing them")
    p.set_defaults(func=cmd_k8s)

    p = sub.add_parser("databricks", help="the tenant's Databricks workspace: deploy the job's wheel")
    databricks = p.add_subparsers(dest="databricks_command", required=True)
    p = databricks.add_parser("deploy", help="build the tenantflow wheel and upload it to tenant.yaml's "
                                             "databricks.wheel through the tenant's workspace connection")
    p.add_argument("tenant")
    p.add_argument("--wheel", help="a built wheel to upload (default: build one from --source)")
    p.add_argument("--source", help="the tenantflow source tree to build from (default: the current folder)")
    p.set_defaults(func=cmd_databricks_deploy)

    p = sub.add_parser("usage", help="chargeback: each tenant's slot-hours, landing, storage, Databricks and cost")
    p.add_argument("--from", dest="from_day", metavar="DATE", help="first UTC day (default: 1st of this month)")
    p.add_argument("--to", dest="to_day", metavar="DATE", help="last UTC day, inclusive (default: today)")
    p.add_argument("--tenant", help="one tenant (default: all)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--plot", metavar="FILE.png", help="also draw cost by tenant and by day into FILE.png")
    _remote_options(p)
    p.set_defaults(func=cmd_usage)

    p = sub.add_parser("audit", help="a tenant's audit trail: loads, quarantines, masking, maintenance, sync, purge")
    p.add_argument("tenant")
    p.add_argument("--from", dest="from_day", metavar="DATE", help="first UTC day (default: the beginning)")
    p.add_argument("--to", dest="to_day", metavar="DATE", help="last UTC day, inclusive (default: today)")
    p.add_argument("--action", help="only this action (load, quarantine, pii.masking, maintenance, "
                                    "retention.delete, offboard.purge, sync.<kind>, or sync.* for all sync changes)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    _remote_options(p)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("compliance", help="a tenant's compliance report: classification, masking, retention, "
                                          "access, audit events")
    p.add_argument("tenant")
    p.add_argument("--from", dest="from_day", metavar="DATE", help="first UTC day of the audit period")
    p.add_argument("--to", dest="to_day", metavar="DATE", help="last UTC day of the audit period, inclusive")
    p.add_argument("--format", choices=["markdown", "html"], default="markdown")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_compliance)
    return parser


def _remote_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--api-url", metavar="URL", help="ask the api-server with your own token (AIRFLOW_CLI_TOKEN or "
                                                    "your airflowctl login) instead of reading the data here")
    p.add_argument("--remote", action="store_true", help="like --api-url, with the URL of your airflowctl login")


REMOTE_CAPABLE = frozenset({"tables", "quality", "usage", "audit"})
REMOTE_SETTINGS = Settings(Path("."), Path("."), Path("."))  # unused: the server has the settings


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if sys.stdout is None:  # started with stdout closed (`tenantflow list >&-`)
        return _fail(args.command, "stdout is closed: nothing can be printed (redirect it, e.g. > out.txt)", 1)
    try:
        # a tenant user's remote view reads no settings (and so never makes an airflow.cfg on their machine)
        remote = args.command in REMOTE_CAPABLE and (args.api_url or args.remote)
        settings = REMOTE_SETTINGS if remote else get_settings()
        if not remote and (args.command not in CONFIG_FREE_COMMANDS or (args.command == "validate" and not args.paths)):
            check_config_dir(settings)
        code = int(args.func(args, settings))
        sys.stdout.flush()  # inside the try: a reader that went away shows up here, not at interpreter exit
        return code
    except CommandFailed as exc:
        return _fail(args.command, str(exc), exc.exit_code)
    except BrokenPipeError:
        # the reader went away (`tenantflow list | head`); no traceback when the interpreter flushes the closed
        # stdout at exit either. 141 = 128 + SIGPIPE, what a shell reports for a command killed by it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _fail(args.command, "output closed by the reader (e.g. `| head`); the rest was not printed", 141)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        explained = explain(exc)
        if explained is None or args.verbose:
            raise
        return _fail(args.command, explained, 1)


def _fail(command: str, message: str, code: int) -> int:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141 if code == 0 else code
    sys.stderr.write(f"tenantflow {command}: {message}\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
