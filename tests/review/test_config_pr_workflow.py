"""The config-PR workflow: valid YAML, the right triggers, and only `tenantflow` flags that exist."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest
import yaml

from tenantflow.cli import build_parser
from tenantflow.review.render import MARKER

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "config-pr.yml"


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def tenantflow_commands() -> list[list[str]]:
    """Every `tenantflow ...` invocation of the workflow's run steps, as argv (expressions filled in)."""
    commands = []
    for step in workflow()["jobs"]["plan"]["steps"]:
        for line in step.get("run", "").splitlines():
            words = shlex.split(line.replace("${{ github.base_ref }}", "main"))
            if words and words[0].endswith("/tenantflow"):
                commands.append(words[1:])
    return commands


def test_runs_on_config_pull_requests() -> None:
    data = workflow()
    on = data[True] if True in data else data["on"]  # YAML 1.1 reads the key `on` as true
    assert on["pull_request"]["paths"] == ["tenant_configs/**", "dags/tenants/**"]
    assert data["permissions"]["pull-requests"] == "write"
    steps = data["jobs"]["plan"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(python["with"]["python-version"]) == "3.11"
    assert any(s.get("run") == "make install" for s in steps)


def test_validates_and_posts_the_markdown_plan() -> None:
    commands = tenantflow_commands()
    assert [c[0] for c in commands] == ["validate", "plan"]
    plan = build_parser().parse_args(commands[1])
    assert (plan.base, plan.format, plan.out) == ("origin/main", "markdown", "plan.md")
    steps = workflow()["jobs"]["plan"]["steps"]
    comment = next(s for s in steps if s.get("uses", "").startswith("actions/github-script@"))
    script = comment["with"]["script"]
    assert "readFileSync('plan.md'" in script and f"'{MARKER}'" in script and "updateComment" in script


def _subcommand_flags(name: str) -> set[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {flag for action in sub.choices[name]._actions for flag in action.option_strings}


@pytest.mark.parametrize("argv", tenantflow_commands(), ids=lambda argv: argv[0])
def test_every_flag_exists(argv: list[str]) -> None:
    flags = {word.split("=", 1)[0] for word in argv if word.startswith("--")}
    assert flags <= _subcommand_flags(argv[0]), f"unknown flags {flags - _subcommand_flags(argv[0])} in {argv}"
    build_parser().parse_args(argv)  # exits (fails the test) on anything argparse rejects
