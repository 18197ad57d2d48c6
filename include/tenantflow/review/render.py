"""The plan as text (a terminal) and as Markdown (a pull-request comment a workflow can update)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tenantflow.review.model import ConfigState, Plan

MARKER = "<!-- tenantflow-plan -->"
_MARKDOWN_SPECIAL = re.compile(r"([\\*<\[\]|])")  # `>` and `#` only matter at a line start


def ref_text(state: ConfigState) -> str:
    """``origin/main (1a2b3c4d5e6f)``; a commit id given as the ref is shown once."""
    return state.short if state.commit.startswith(state.label) else f"{state.label} ({state.short})"


def _refs(base: ConfigState, head: ConfigState) -> str:
    return f"{ref_text(base)} -> {ref_text(head)}"


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
    """Escape Markdown outside `code spans` (crons like */5 stay literal; `_` inside ids never emphasises in GFM)."""
    parts = value.split("`")
    return "`".join(part if i % 2 else _MARKDOWN_SPECIAL.sub(r"\\\1", part) for i, part in enumerate(parts))


def _md_ref(state: ConfigState) -> str:
    return f"`{state.short}`" if state.commit.startswith(state.label) else f"{_md(state.label)} (`{state.short}`)"


def markdown(plan: Plan) -> str:
    lines = [MARKER, "### tenantflow plan", "",
             f"**{_md(plan.summary)}** ({_md_ref(plan.base)} → {_md_ref(plan.head)})"]
    for section in plan.sections:
        lines += ["", f"#### {_md(section.title)}", ""]
        for item in section.items:
            lines.append(f"- {_md(item.text)}")
            lines += [f"  - {_md(detail)}" for detail in item.details]
    return "\n".join(lines) + "\n"


def errors_text(head: ConfigState, errors: Sequence[str]) -> str:
    return "\n".join([*errors, f"FAILED: {len(errors)} error(s) in the configs at {ref_text(head)}"]) + "\n"


def errors_markdown(head: ConfigState, errors: Sequence[str]) -> str:
    lines = [MARKER, "### tenantflow plan", "",
             f"**The configs at {_md_ref(head)} are invalid: {len(errors)} error(s)**", ""]
    lines += [f"- `{error.replace('`', chr(39))}`" for error in errors]
    return "\n".join(lines) + "\n"


RENDERERS = {"text": text, "markdown": markdown}
ERROR_RENDERERS = {"text": errors_text, "markdown": errors_markdown}
