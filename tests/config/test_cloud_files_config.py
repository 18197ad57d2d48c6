"""gs:// and az:// / abfs:// files sources in a tenant's YAML: schemes, the connection they need, ownership.

Errors are reported at the file, line and field of the value, like every config error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config.test_errors import check, errors_of, the_error, write
from tenantflow.config import load_tenant

DROPS = """\
source:
  kind: files
  path: {path}
  format: csv
{connection}target:
  table: drops
  mode: append
"""


def drops(root: Path, path: str, connection: str | None = "finance__drops") -> Path:
    line = f"  connection_id: {connection}\n" if connection else ""
    return write(root, "finance/pipelines/drops.yaml", DROPS.format(path=path, connection=line))


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


@pytest.mark.parametrize("path", ["gs://acme-finance-drops/fx/*.csv", "az://finance-drops/fx/*.csv",
                                  "abfs://finance-drops/fx/2026-*/*.csv.gz", "gs://partner-exports/fx/*.csv"])
def test_cloud_paths_of_the_tenant_load(root: Path, path: str) -> None:
    drops(root, path)
    pipeline = load_tenant(root, "finance").pipeline("drops")
    assert (pipeline.source.path, pipeline.source.connection_id) == (path, "finance__drops")


@pytest.mark.parametrize(("path", "what"), [("gs://acme-finance-drops/fx/*.csv", "google_cloud_platform"),
                                             ("az://finance-drops/fx/*.csv", "wasb")])
def test_a_cloud_path_without_a_connection_is_an_error_naming_the_connection_type(root: Path, path: str,
                                                                                   what: str) -> None:
    file = drops(root, path, connection=None)
    check(the_error(root), file, 1, 1, "source",
          f"path {path!r} is read through the tenant's own {what} connection: set source.connection_id")


@pytest.mark.parametrize(("path", "message"), [
    ("gcs://acme-finance-drops/fx/*.csv", "unsupported scheme 'gcs://'; use a local path or one of s3://, gs://, "
                                          "az://, abfs://"),
    ("wasbs://finance-drops/fx/*.csv", "unsupported scheme 'wasbs://'"),
    ("gs://acme-finance-drops", "needs a bucket and an object pattern, e.g. gs://acme-<tenant>-drops/sales/*.csv"),
    ("az:///fx/*.csv", "needs a container and an object pattern"),
])
def test_unsupported_schemes_and_paths_without_a_bucket_name_the_value(root: Path, path: str, message: str) -> None:
    file = drops(root, path)
    check(the_error(root), file, 3, 3, "source.path", message)


@pytest.mark.parametrize("path", ["gs://acme-retail-drops/fx/*.csv", "az://retail-drops/fx/*.csv",
                                  "abfs://acme-retail/fx/*.csv", "gs://acme-shared/retail/*.csv"])
def test_another_tenants_bucket_or_container_is_refused(root: Path, path: str) -> None:
    file = drops(root, path)
    scheme = path.partition("://")[0]
    check(the_error(root), file, 3, 3, "source.path", f"{path!r} points at tenant 'retail'",
          hint=f"{scheme}://acme-finance-drop/")


def test_a_wildcard_in_the_bucket_is_refused(root: Path) -> None:
    file = drops(root, "gs://acme-*/fx/*.csv")
    check(the_error(root), file, 3, 3, "source.path", "bucket name 'acme-*' must not contain wildcards")


def test_another_tenants_connection_is_refused(root: Path) -> None:
    file = drops(root, "az://finance-drops/fx/*.csv", connection="retail__drops")
    (error,) = [e for e in errors_of(root) if e.field == "source.connection_id"]
    check(error, file, 5, 3, "source.connection_id", "connection 'retail__drops' does not belong to tenant 'finance'")
