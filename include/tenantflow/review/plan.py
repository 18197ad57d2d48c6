"""The plan of a config change: a pure diff of two loaded config states, section by section.

Each section is one builder in ``SECTION_BUILDERS``; a further section is one more function
``(PlanInput) -> Section | None`` appended there.
"""

from __future__ import annotations

from tenantflow.review.access import pools_section, roles_section, users_section
from tenantflow.review.connections import connections_section
from tenantflow.review.helm import helm_values_section
from tenantflow.review.model import Item, Plan, PlanInput, Section, SectionBuilder
from tenantflow.review.pipelines import pipelines_section
from tenantflow.review.tenants import offboarding_section, storage_section, tenants_section


def notes_section(plan_input: PlanInput) -> Section | None:
    """What the comparison could not see, and leftovers a reviewer should ask about."""
    base, head = plan_input.base, plan_input.head
    items = [Item(f"tenant {tid} did not load at base {base.short}: compared as if it did not exist there",
                  (why.splitlines()[0],))
             for tid, why in sorted(base.failures.items()) if tid not in base.bundles]
    for tid in sorted(head.entry_files - set(head.bundles) - set(head.failures)):
        items.append(Item(f"dags/tenants/{tid}.py is still there but tenant {tid} has no config: delete the entry "
                          "file with the tenant"))
    return Section("Notes", tuple(items), informational=True) if items else None


SECTION_BUILDERS: list[SectionBuilder] = [
    tenants_section,
    pipelines_section,
    roles_section,
    pools_section,
    users_section,
    connections_section,
    storage_section,
    offboarding_section,
    helm_values_section,
    notes_section,
]


def build_plan(plan_input: PlanInput, builders: list[SectionBuilder] | None = None) -> Plan:
    sections = (builder(plan_input) for builder in (SECTION_BUILDERS if builders is None else builders))
    return Plan(plan_input.base, plan_input.head, tuple(s for s in sections if s is not None))
