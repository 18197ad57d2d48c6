"""Alerting and SLA configuration: named targets on connections, routing by severity, templates, SLAs.

A target names one Airflow connection that holds its address and secret (SMTP relay and login, Slack
webhook or token, PagerDuty integration key, webhook base URL and auth): tenant.yaml, which lives in
git, never holds a URL or a token. Routing is two small tables: ``events`` (event -> severity) and
``severities`` (severity -> target names). Models only: delivery is in ``tenantflow.notifications``.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from tenantflow.config.base import Model
from tenantflow.config.durations import Duration

Event = Literal["failure", "quality_warning", "success", "sla_miss", "escalation"]
Severity = Literal["critical", "warning", "info"]
EVENTS: tuple[str, ...] = ("failure", "quality_warning", "success", "sla_miss", "escalation")
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
# keys a URL or secret would be written under: rejected with a pointer to connections
_SECRET_KEYS = ("url", "target", "webhook", "webhook_url", "token", "password", "integration_key", "routing_key",
                "api_key", "secret")


def _no_secret_in_config(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    for key in _SECRET_KEYS:
        if key in data:
            raise ValueError(
                f"`{key}:` does not belong in tenant configuration (it is in git): a URL or token is a "
                "credential. Put it in an Airflow connection (host / password) named '<tenant>__<name>' "
                "and write `connection: <tenant>__<name>` instead"
            )
    for key, value in data.items():
        if isinstance(value, str) and "://" in value:
            raise ValueError(
                f"`{key}: {value.split('://')[0]}://…` looks like a URL; URLs (and the tokens in them) go in "
                "the target's Airflow connection, not in tenant configuration: set `connection:` and keep the "
                "URL in the connection's host"
            )
    return data


class _Target(Model):
    connection: str = Field(min_length=1, description="Airflow connection of the target: '<tenant>__<name>'.")

    @model_validator(mode="before")
    @classmethod
    def _secrets_in_connections(cls, data: Any) -> Any:
        return _no_secret_in_config(data)


class SmtpTarget(_Target):
    """E-mail through the SMTP relay of the connection (host, port, login, TLS) with the provider's SmtpNotifier."""

    kind: Literal["smtp"]
    to: tuple[str, ...] = Field(min_length=1, description="Recipient addresses.")
    cc: tuple[str, ...] = ()
    from_email: str | None = Field(default=None, description="Sender; defaults to the connection's `from_email`.")

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            if not _EMAIL.fullmatch(address):
                raise ValueError(f"{address!r} is not an email address")
        return value


class SlackTarget(_Target):
    """Slack: an incoming webhook (connection type slackwebhook), or with `channel` the Slack API (type slack)."""

    kind: Literal["slack"]
    channel: str | None = Field(
        default=None, pattern=r"^[#@]?[A-Za-z0-9._-]{1,80}$",
        description="Post with the Slack API token of the connection to this channel; omitted: the connection "
        "is an incoming webhook, which names its channel itself.",
    )


class PagerdutyTarget(_Target):
    """A PagerDuty Events API v2 alert; the connection's password is the integration (routing) key."""

    kind: Literal["pagerduty"]
    source: str = Field(default="tenantflow", min_length=1, description="The event's `source` field.")


class WebhookTarget(_Target):
    """A JSON POST of the alert to the connection's base URL (HTTP connection: host, auth, headers in extra)."""

    kind: Literal["webhook"]
    endpoint: str = Field(default="", description="Path appended to the connection's host, e.g. 'alerts/tenantflow'.")

    @field_validator("endpoint")
    @classmethod
    def _plain_path(cls, value: str) -> str:
        if "?" in value or "@" in value:
            raise ValueError(f"endpoint {value!r} carries a query or credentials: keep tokens in the connection "
                             "(password or extra headers), the endpoint is a plain path")
        return value


Target = Annotated[SmtpTarget | SlackTarget | PagerdutyTarget | WebhookTarget, Field(discriminator="kind")]


class Template(Model):
    """Jinja templates of one event's message; the context is documented in README "Alerting and SLAs"."""

    subject: str | None = Field(default=None, min_length=1, description="Subject / summary line.")
    body: str | None = Field(default=None, min_length=1, description="Message text.")

    @field_validator("subject", "body")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            from jinja2 import TemplateSyntaxError
            from jinja2.sandbox import SandboxedEnvironment

            try:
                SandboxedEnvironment().parse(value)
            except TemplateSyntaxError as exc:
                raise ValueError(f"template does not parse: {exc.message} (template line {exc.lineno})") from None
        return value


class Escalation(Model):
    after_failures: int = Field(
        ge=1, le=100,
        description="After this many consecutive failed runs of a pipeline, the failure also goes to the "
        "platform's on-call (`alerting.oncall` in _platform.yaml) as event `escalation`.",
    )


def _default_events() -> dict[str, str]:
    return {"failure": "critical", "quality_warning": "warning", "sla_miss": "critical", "escalation": "critical"}


class TenantAlerting(Model):
    targets: dict[str, Target] = Field(default_factory=dict, description="Named targets, each on a connection.")
    events: dict[Event, Severity] = Field(
        default_factory=_default_events,
        description="Severity of each event; an event not listed is not sent (`success` is opt-in).",
    )
    severities: dict[Severity, tuple[str, ...]] = Field(
        default_factory=dict, description="Target names each severity goes to."
    )
    escalation: Escalation | None = None
    templates: dict[Event, Template] = Field(default_factory=dict, description="Per-event message templates.")

    @field_validator("targets")
    @classmethod
    def _target_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not _NAME.match(name):
                raise ValueError(f"target name {name!r} must be a lowercase name (a-z, 0-9, '_')")
        return value

    @model_validator(mode="after")
    def _routes_name_targets(self) -> TenantAlerting:
        for severity, names in self.severities.items():
            unknown = [n for n in names if n not in self.targets]
            if unknown:
                raise ValueError(f"severities.{severity} names unknown target(s) {unknown}; "
                                 f"targets defined: {sorted(self.targets) or 'none'}")
        return self

    def targets_for(self, event: str) -> tuple[str | None, tuple[str, ...]]:
        """(severity, target names) of an event: (None, ()) when the tenant does not alert on it."""
        severity = self.events.get(event)  # type: ignore[call-overload]
        if severity is None:
            return None, ()
        return severity, self.severities.get(severity, ())


class PlatformOncall(Model):
    """The platform team's on-call: where escalations (and their severity) go."""

    targets: dict[str, Target] = Field(min_length=1)
    severity: Severity = "critical"
    templates: dict[Event, Template] = Field(default_factory=dict)


class PlatformAlerting(Model):
    oncall: PlatformOncall | None = None


class PipelineSla(Model):
    """Service levels of a pipeline, watched by Airflow deadline alerts; a miss is the event `sla_miss`."""

    fresh_by: time | None = Field(
        default=None, description="Time of day (HH:MM) by which each scheduled run must have finished.",
    )
    timezone: str = Field(default="UTC", description="IANA time zone of `fresh_by`.")
    max_duration: Duration | None = Field(default=None, description="Longest a run may take from being queued.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Europe/Berlin'") from None
        return value

    @model_validator(mode="after")
    def _something_to_watch(self) -> PipelineSla:
        if self.fresh_by is None and self.max_duration is None:
            raise ValueError("`sla:` needs `fresh_by` (with `timezone`) or `max_duration`, or both")
        return self


def fresh_by_interval(cron: str, cron_timezone: str, sla: PipelineSla) -> timedelta:
    """Time from a scheduled run's logical date (the cron's fire time) to the next ``fresh_by``.

    Deadline alerts measure from a reference of the run; for "fresh by 07:00" that is the logical
    date plus this interval. It is one fixed interval, so the cron must fire once a day at one time
    of day (daily or on some weekdays): an hourly schedule has no single "by 07:00" interval.
    """
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from croniter import croniter

    assert sla.fresh_by is not None
    start = datetime(2026, 1, 5, tzinfo=ZoneInfo(cron_timezone))  # a Monday, away from DST changes
    it = croniter(cron, start)
    fires = [it.get_next(datetime) for _ in range(8)]
    if len({f.date() for f in fires}) != len(fires) or len({f.timetz() for f in fires}) != 1:
        raise ValueError(f"sla.fresh_by needs a schedule that fires at most once a day, at one time; cron {cron!r} "
                         "does not: use sla.max_duration for it")
    zone = ZoneInfo(sla.timezone)
    fire = fires[0].astimezone(zone)
    due = datetime.combine(fire.date(), sla.fresh_by, tzinfo=zone)
    if due <= fire:
        due += timedelta(days=1)
    return due - fire
