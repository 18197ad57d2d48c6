"""A digest of the config tree: the reconcile loop applies the configs again only when it changes."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_fingerprint(*roots: Path) -> str:
    """SHA-256 over every file's path (relative to its root) and content; hidden files and folders skipped.

    git-sync swaps a symlink to a new checkout, so the paths are resolved on every call."""
    digest = hashlib.sha256()
    for root in roots:
        root = root.resolve()
        digest.update(f"root {root.name}\n".encode())
        if not root.is_dir():
            digest.update(b"missing\n")
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root)
            if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                continue
            digest.update(f"{relative.as_posix()}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
