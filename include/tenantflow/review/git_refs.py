"""The git side of ``tenantflow plan``: the repository holding the configs, refs, trees and renames.

Plain ``git`` subprocesses (no library): what a reviewer could type is what the plan uses.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DEFAULT_BASE_BRANCHES = ("origin/main", "main")


class GitError(Exception):
    """A git problem the user can fix: not a repository, an unknown ref, no base to compare with."""


@dataclass(frozen=True)
class Rename:
    old: PurePosixPath
    new: PurePosixPath


def _git(cwd: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=not binary, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (tenantflow plan compares git refs)") from None


def repo_root(path: Path) -> Path:
    if not path.is_dir():
        raise GitError(f"the config dir {path} does not exist (set [tenantflow] config_dir)")
    result = _git(path, "rev-parse", "--show-toplevel")
    if result.returncode != 0:
        raise GitError(f"the config dir {path} is not inside a git repository (tenantflow plan compares git refs)")
    return Path(result.stdout.strip()).resolve()


def commit_of(root: Path, ref: str) -> str:
    """The full commit id ``ref`` names; GitError when there is none."""
    result = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if result.returncode != 0 or not result.stdout.strip():
        raise GitError(f"unknown git ref {ref!r} in {root} (fetch it, e.g. `git fetch origin main`, or pass "
                       "another --base/--head)")
    return result.stdout.strip()


def default_base(root: Path, head: str) -> tuple[str, str]:
    """(label, commit): the merge base of ``head`` with origin/main, else main."""
    for branch in DEFAULT_BASE_BRANCHES:
        if _git(root, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}").returncode != 0:
            continue
        result = _git(root, "merge-base", head, branch)
        if result.returncode == 0 and result.stdout.strip():
            return f"merge-base with {branch}", result.stdout.strip()
    raise GitError(f"no base to compare with: neither {' nor '.join(DEFAULT_BASE_BRANCHES)} shares history with "
                   f"HEAD in {root}; pass --base REF")


def extract(root: Path, commit: str, paths: Sequence[PurePosixPath], dest: Path) -> set[PurePosixPath]:
    """Write ``paths`` (folders relative to the repo root) as they are at ``commit`` under ``dest``.

    Returns the paths that exist at that commit (a base may predate the config tree).
    """
    present = {p for p in paths if _is_tree(root, commit, p)}
    if not present:
        return present
    result = _git(root, "archive", "--format=tar", commit, "--", *(str(p) for p in sorted(present)), binary=True)
    if result.returncode != 0:
        raise GitError(f"git archive {commit[:12]} failed: {result.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        archive.extractall(dest, filter="data")
    return present


def _is_tree(root: Path, commit: str, path: PurePosixPath) -> bool:
    if str(path) in ("", "."):
        return True
    result = _git(root, "cat-file", "-t", f"{commit}:{path}")
    return result.returncode == 0 and result.stdout.strip() == "tree"


def renames(root: Path, base: str, head: str, path: PurePosixPath) -> list[Rename]:
    """Files git sees as renamed (``git diff -M``) between the two commits under ``path``."""
    result = _git(root, "diff", "-M", "--name-status", "-z", base, head, "--", str(path))
    if result.returncode != 0:
        raise GitError(f"git diff {base[:12]} {head[:12]} failed: {result.stderr.strip()}")
    fields = result.stdout.split("\0")
    found: list[Rename] = []
    i = 0
    while i < len(fields) - 1:
        status = fields[i]
        if status.startswith(("R", "C")):
            if status.startswith("R"):
                found.append(Rename(PurePosixPath(fields[i + 1]), PurePosixPath(fields[i + 2])))
            i += 3
        else:
            i += 2
    return found
