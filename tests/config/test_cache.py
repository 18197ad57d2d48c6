"""The parse cache: unchanged tenants skip YAML; any change to an input is a miss; never stale."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tenantflow.config import loader


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


def _touch_later(path: Path, text: str) -> None:
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_warm_load_equals_a_full_load_and_reads_no_yaml(root, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cold = loader.load_tenant(root, "finance", cache_dir=cache)
    assert (cache / "finance.json").is_file()

    def no_yaml(path):
        raise AssertionError(f"YAML read on a warm cache: {path}")

    monkeypatch.setattr(loader, "read_yaml", no_yaml)
    warm = loader.load_tenant(root, "finance", cache_dir=cache)
    assert warm.tenant == cold.tenant and warm.pipelines == cold.pipelines


def test_an_edited_pipeline_is_reloaded(root, tmp_path):
    cache = tmp_path / "cache"
    loader.load_tenant(root, "finance", cache_dir=cache)
    orders = root / "finance" / "pipelines" / "orders.yaml"
    _touch_later(orders, orders.read_text().replace("ERP sales orders", "ERP sales orders v2"))
    bundle = loader.load_tenant(root, "finance", cache_dir=cache)
    assert bundle.pipeline("orders").target.comment == "ERP sales orders v2"


def test_a_broken_edit_is_reported_not_hidden_by_the_cache(root, tmp_path):
    cache = tmp_path / "cache"
    loader.load_tenant(root, "finance", cache_dir=cache)
    orders = root / "finance" / "pipelines" / "orders.yaml"
    _touch_later(orders, orders.read_text().replace("  table: orders\n", "  tabel: orders\n", 1))
    with pytest.raises(loader.ConfigErrors, match="source.tabel: unknown field"):
        loader.load_tenant(root, "finance", cache_dir=cache)


def test_new_and_removed_pipeline_files_invalidate(root, tmp_path):
    cache = tmp_path / "cache"
    loader.load_tenant(root, "retail", cache_dir=cache)
    pipelines = root / "retail" / "pipelines"
    (pipelines / "sales_copy.yaml").write_text((pipelines / "sales.yaml").read_text())
    assert {p.id for p in loader.load_tenant(root, "retail", cache_dir=cache).pipelines} == {
        "online_sales", "products", "sales", "sales_copy", "store_events"}
    (pipelines / "sales_copy.yaml").unlink()
    assert {p.id for p in loader.load_tenant(root, "retail", cache_dir=cache).pipelines} == {
        "online_sales", "products", "sales", "store_events"}


def test_a_new_tenant_invalidates_every_tenant(root, tmp_path):
    """Ownership checks depend on the other tenants' ids, so the set of tenants is part of the key."""
    cache = tmp_path / "cache"
    loader.load_tenant(root, "finance", cache_dir=cache)
    before = json.loads((cache / "finance.json").read_text())["key"]
    (root / "marketing").mkdir()
    time.sleep(0.01)
    os.utime(root)
    loader.load_tenant(root, "finance", cache_dir=cache)
    assert json.loads((cache / "finance.json").read_text())["key"] != before


@pytest.mark.parametrize("content", ["not json", '{"key": "other"}', "[]"])
def test_corrupt_or_foreign_cache_files_are_misses(root, tmp_path, content):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "finance.json").write_text(content)
    assert loader.load_tenant(root, "finance", cache_dir=cache).tenant.id == "finance"


def test_an_unwritable_cache_only_costs_speed(root, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert loader.load_tenant(root, "finance", cache_dir=blocker / "cache").tenant.id == "finance"
