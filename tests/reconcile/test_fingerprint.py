"""The config tree's fingerprint: what makes the reconcile loop apply the tree again."""

from __future__ import annotations

from pathlib import Path

from conftest import copy_config_tree
from tenantflow.reconcile.fingerprint import tree_fingerprint


def test_any_edit_add_or_removal_changes_it_and_nothing_else_does(tmp_path: Path):
    root = copy_config_tree(tmp_path)
    configs, dags = root / "tenant_configs", root / "dags" / "tenants"
    first = tree_fingerprint(configs, dags)
    assert tree_fingerprint(configs, dags) == first
    (configs / ".git").mkdir()
    (configs / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (dags / "__pycache__").mkdir(exist_ok=True)
    (dags / "__pycache__" / "finance.cpython-311.pyc").write_bytes(b"\0")
    assert tree_fingerprint(configs, dags) == first  # git metadata and bytecode are not config
    tenant = configs / "finance" / "tenant.yaml"
    tenant.write_text(tenant.read_text() + "\n# a comment is a change too\n")
    edited = tree_fingerprint(configs, dags)
    assert edited != first
    (configs / "finance" / "pipelines" / "orders.yaml").rename(configs / "finance" / "pipelines" / "orders2.yaml")
    assert tree_fingerprint(configs, dags) not in (first, edited)  # a rename, same bytes


def test_it_follows_a_swapped_symlink_as_git_sync_does(tmp_path: Path):
    one, two = copy_config_tree(tmp_path / "rev1"), copy_config_tree(tmp_path / "rev2")
    (two / "tenant_configs" / "retail" / "tenant.yaml").unlink()
    link = tmp_path / "repo"
    link.symlink_to(one)
    before = tree_fingerprint(link / "tenant_configs")
    swapped = tmp_path / "repo.new"
    swapped.symlink_to(two)
    swapped.replace(link)  # atomic, like git-sync's worktree swap
    assert tree_fingerprint(link / "tenant_configs") != before


def test_a_missing_tree_has_a_fingerprint_of_its_own(tmp_path: Path):
    assert tree_fingerprint(tmp_path / "nope") != tree_fingerprint(copy_config_tree(tmp_path) / "tenant_configs")
