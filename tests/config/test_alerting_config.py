"""`alerting:` and `sla:` in a tenant's YAML: errors name the file, line and field, and say what is right."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantflow.config import ConfigErrors, load_tenant

TENANT = "finance/tenant.yaml"
ALERTING = """alerting:
  targets:
    oncall_mail: {kind: smtp, connection: finance__smtp, to: [finance-oncall@example.com]}
  events: {failure: critical, quality_warning: warning, sla_miss: critical, escalation: critical}
  severities:
    critical: [oncall_mail]
    warning: [oncall_mail]
  escalation: {after_failures: 3}        # the 3rd failed run in a row also pages the platform's on-call
"""


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


def set_alerting(root: Path, text: str) -> Path:
    path = root / TENANT
    content = path.read_text()
    assert ALERTING in content
    path.write_text(content.replace(ALERTING, text))
    return path


def the_error(root: Path):
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(root, "finance")
    (error,) = exc.value.errors
    return error


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_webhook_url_in_the_yaml_is_rejected_with_a_pointer_to_connections(root):
    path = set_alerting(root, "alerting:\n  targets:\n    team:\n      kind: slack\n"
                              "      url: https://hooks.slack.com/services/T0/B0/XYZ\n")
    error = the_error(root)
    assert (error.file, error.line) == (path, line_of(path, "team:"))
    assert error.field == "alerting.targets.team"
    assert "`url:` does not belong in tenant configuration" in error.message
    assert "Airflow connection" in error.message and "connection: <tenant>__<name>" in error.message


def test_a_url_in_any_target_field_is_rejected(root):
    set_alerting(root, "alerting:\n  targets:\n    hook: {kind: webhook, connection: finance__hook, "
                       "endpoint: 'https://user:pw@hooks.example.com/x'}\n")
    assert "looks like a URL" in the_error(root).message


def test_the_old_notifications_key_shows_the_new_form(root):
    path = set_alerting(root, "notifications:\n  - kind: email\n    target: finance-oncall@example.com\n")
    error = the_error(root)
    assert (error.line, error.field) == (line_of(path, "notifications:"), "notifications")
    assert "replaced by `alerting:`" in error.message
    assert "severities: {critical: [oncall_mail, team_slack]" in error.message


def test_a_target_on_another_tenants_connection_is_rejected(root):
    path = set_alerting(root, ALERTING.replace("connection: finance__smtp", "connection: retail__smtp"))
    error = the_error(root)
    assert error.field == "alerting.targets.oncall_mail.connection" and error.line == line_of(path, "oncall_mail:")
    assert "does not belong to tenant 'finance'" in error.message


def test_routing_names_only_defined_targets(root):
    set_alerting(root, ALERTING.replace("warning: [oncall_mail]", "warning: [team_slack]"))
    error = the_error(root)
    assert "severities.warning names unknown target(s) ['team_slack']" in error.message
    assert "oncall_mail" in error.message


def test_an_unknown_event_is_an_error(root):
    set_alerting(root, ALERTING.replace("sla_miss: critical", "sla_missed: critical"))
    assert "sla_missed" in str(the_error(root))


def test_an_unknown_severity_is_an_error(root):
    set_alerting(root, ALERTING.replace("sla_miss: critical", "sla_miss: urgent"))
    assert "'critical', 'warning' or 'info'" in the_error(root).message


def test_a_template_that_does_not_parse_is_an_error(root):
    set_alerting(root, ALERTING + "  templates:\n    failure: {subject: '{{ dag_id '}\n")
    error = the_error(root)
    assert error.field == "alerting.templates.failure.subject" and "template does not parse" in error.message


def test_fresh_by_needs_a_once_a_day_schedule(root):
    rates = root / "finance" / "pipelines" / "fx_rates.yaml"
    rates.write_text(rates.read_text().replace('cron: "0 7 * * 1-5"', 'cron: "0 */4 * * *"'))
    error = the_error(root)
    assert error.file == rates and "fires at most once a day" in error.message and "max_duration" in error.message


def test_the_example_sla_becomes_two_deadline_alerts(root):
    from datetime import timedelta

    from tenantflow.notifications.sla import CALLBACK, deadline_alerts
    from tenantflow.pipeline_context import PipelineContext

    bundle = load_tenant(root, "finance")
    alerts = deadline_alerts(PipelineContext(bundle.tenant, bundle.pipeline("fx_rates"), bundle.platform, "/tmp"))
    by_name = {a.name: a for a in alerts}
    # cron 07:00 Berlin, fresh by 09:00 Berlin: 2 hours after the logical date; max 30 minutes after queued
    assert by_name["sla: fresh_by 09:00 Europe/Berlin"].interval == timedelta(hours=2)
    assert type(by_name["sla: fresh_by 09:00 Europe/Berlin"].reference).__name__ == "DagRunLogicalDateDeadline"
    assert by_name["sla: max_duration 30m"].interval == timedelta(minutes=30)
    assert type(by_name["sla: max_duration 30m"].reference).__name__ == "DagRunQueuedAtDeadline"
    assert {a.callback.path for a in alerts} == {CALLBACK}
    assert by_name["sla: max_duration 30m"].callback.kwargs == {"tenant_id": "finance",
                                                                "pipeline_id": "fx_rates", "sla": "max_duration 30m"}
