"""The plan's data: two loaded config states in, sections of bullet items out (frozen, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tenantflow.config.loader import TenantBundle


@dataclass(frozen=True)
class ConfigState:
    """The configs at one git ref, loaded."""

    label: str
    """What the user asked for, e.g. ``origin/main`` or ``merge-base with main``."""
    commit: str
    bundles: Mapping[str, TenantBundle]
    failures: Mapping[str, str] = field(default_factory=dict)
    """Tenant id -> why its config does not load at this ref."""
    entry_files: frozenset[str] = frozenset()
    """Tenant ids whose DAG entry file (``dags/tenants/<tenant>.py``) exists at this ref."""

    @property
    def short(self) -> str:
        return self.commit[:12]


@dataclass(frozen=True)
class PipelineRename:
    tenant_id: str
    old_id: str
    new_id: str
    new_tenant_id: str | None = None
    """Set when the pipeline file moved to another tenant."""

    @property
    def target_tenant(self) -> str:
        return self.new_tenant_id or self.tenant_id


@dataclass(frozen=True)
class PlanInput:
    base: ConfigState
    head: ConfigState
    renames: tuple[PipelineRename, ...] = ()
    """Pipeline files git saw renamed between base and head."""


@dataclass(frozen=True)
class Item:
    text: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]
    summary: tuple[str, ...] = ()
    """Short phrases for the plan's one-line summary, e.g. ``1 tenant added``."""
    informational: bool = False
    """Notes about the comparison, not changes: alone, they still make a plan of "no changes"."""


SectionBuilder = Callable[[PlanInput], "Section | None"]
"""One section of the plan from the two states; None when it has nothing to say."""


@dataclass(frozen=True)
class Plan:
    base: ConfigState
    head: ConfigState
    sections: tuple[Section, ...]

    @property
    def has_changes(self) -> bool:
        return any(s.items for s in self.sections if not s.informational)

    @property
    def summary(self) -> str:
        phrases = [p for s in self.sections for p in s.summary]
        if not self.has_changes:
            return "no changes"
        return ", ".join(phrases) if phrases else "changes (see below)"


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"
