"""The plan as text (a terminal) and as Markdown (a pull-request comment a workflow can update)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tenantflow.review.model import ConfigState, Plan

MARKER = "<!-- tenantflow-plan -->"
_MARKDOWN_SPECIAL = re.compile(r"([\\*_<>\[\]|#])")


def _refs(base: ConfigState, head: ConfigState) -> str:
    return f"{base.label} ({base.short}) -> {head.label} ({head.short})"


def text(plan: Plan) -> str:
    lines = [f"tenantflow plan: {_refs(plan.base, plan.head)}"]
    lines.append(f"summary: {plan.summary}")
    for section in plan.sections:
        lines += ["", section.title]
        for item in section.items:
            lines.append(f"  - {item.text}")
            lines += [f"      {detail}" for detail in item.details]
    return "\n".join(lines) + "\n"


def _md(value: str) -> str:
    """Escape Markdown outside `code spans` (ids like finance__orders and crons like */5 stay literal)."""
    parts = value.split("`")
    return "`".join(part if i % 2 else _MARKDOWN_SPECIAL.sub(r"\\\1", part) for i, part in enumerate(parts))


def markdown(plan: Plan) -> str:
    lines = [MARKER, "### tenantflow plan", "",
             f"**{_md(plan.summary)}** (`{plan.base.short}` {_md(plan.base.label)} → `{plan.head.short}` "
             f"{_md(plan.head.label)})"]
    for section in plan.sections:
        lines += ["", f"#### {_md(section.title)}", ""]
        for item in section.items:
            lines.append(f"- {_md(item.text)}")
            lines += [f"  - {_md(detail)}" for detail in item.details]
    return "\n".join(lines) + "\n"


def errors_text(head: ConfigState, errors: Sequence[str]) -> str:
    return "\n".join([*errors, f"FAILED: {len(errors)} error(s) in the configs at {head.label} ({head.short})"]) + "\n"


def errors_markdown(head: ConfigState, errors: Sequence[str]) -> str:
    lines = [MARKER, "### tenantflow plan", "",
             f"**The configs at {_md(head.label)} (`{head.short}`) are invalid: {len(errors)} error(s)**", ""]
    lines += [f"- `{error.replace('`', chr(39))}`" for error in errors]
    return "\n".join(lines) + "\n"


RENDERERS = {"text": text, "markdown": markdown}
ERROR_RENDERERS = {"text": errors_text, "markdown": errors_markdown}
