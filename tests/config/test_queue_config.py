"""Queue source configs: a broken one is a file:line error naming the field; what cannot apply to a stream
(quality rules, transform, cursor, overwrite) is refused where it is written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tenantflow.config import ConfigError, ConfigErrors, load_tenant

EVENTS = """\
description: store events
source:
  kind: queue
  broker: rabbitmq
  connection_id: retail__events_rabbitmq
  queue: retail.store_events
  column_types: {event_id: string}
target:
  table: events
  mode: append
"""


def errors_for(config_tree: Path, text: str) -> list[ConfigError]:
    path = config_tree / "tenant_configs" / "retail" / "pipelines" / "events.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(config_tree / "tenant_configs", "retail")
    return [e for e in exc.value.errors if Path(e.file).name == "events.yaml"]


def only(errors: list[ConfigError]) -> ConfigError:
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def test_the_example_loads(config_tree):
    path = config_tree / "tenant_configs" / "retail" / "pipelines" / "events.yaml"
    path.write_text(EVENTS)
    source = load_tenant(config_tree / "tenant_configs", "retail").pipeline("events").source
    assert (source.kind, source.broker, source.queue, source.batch.max_records) == (
        "queue", "rabbitmq", "retail.store_events", 10_000)


def test_an_unknown_broker_suggests_the_closest(config_tree):
    error = only(errors_for(config_tree, EVENTS.replace("broker: rabbitmq", "broker: rabbit")))
    assert (error.line, error.field) == (4, "source.broker")
    assert "did you mean 'rabbitmq'" in error.hint


def test_a_misspelt_field_of_a_broker_names_the_brokers_fields(config_tree):
    errors = errors_for(config_tree, EVENTS.replace("  queue: retail", "  queues: retail"))
    assert {e.field for e in errors} == {"source.queue", "source.queues"}  # missing, and unknown
    error = next(e for e in errors if e.field == "source.queues")
    assert (error.line, error.field, error.message) == (6, "source.queues", "unknown field")
    assert "did you mean `queue`?" in error.hint


def test_a_bad_column_type_points_at_its_line(config_tree):
    error = only(errors_for(config_tree, EVENTS.replace("{event_id: string}", "{event_id: text}")))
    assert (error.line, error.field) == (7, "source.column_types.event_id")


def test_a_batch_limit_out_of_bounds(config_tree):
    text = EVENTS.replace("  column_types:", "  batch: {max_records: 0}\n  column_types:")
    error = only(errors_for(config_tree, text))
    assert (error.line, error.field) == (7, "source.batch.max_records")


def test_another_tenants_connection_is_refused(config_tree):
    error = only(errors_for(config_tree, EVENTS.replace("retail__events_rabbitmq", "finance__events")))
    assert (error.line, error.field) == (5, "source.connection_id")
    assert "does not belong to tenant 'retail'" in error.message


@pytest.mark.parametrize(("added", "field", "line"), [
    ("quality:\n  - rule: not_null\n    column: event_id\n", "quality", 11),
    ("transform:\n  sql: SELECT * FROM batch\n", "transform", 11),
    ("incremental:\n  cursor: occurred_at\n", "incremental", 11),
])
def test_what_cannot_apply_to_a_stream_is_refused_where_it_is_written(config_tree, added, field, line):
    error = only(errors_for(config_tree, EVENTS + added))
    assert (error.line, error.field) == (line, field)
    assert "apply to a queue source (rabbitmq)" in error.message


def test_overwrite_is_refused(config_tree):
    error = only(errors_for(config_tree, EVENTS.replace("mode: append", "mode: overwrite")))
    assert (error.line, error.field) == (10, "target.mode")
    assert "use mode 'append'" in error.hint
