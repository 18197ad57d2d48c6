"""The source registry: every config kind has a hook, each a subclass of the fitting Airflow hook, each guarded."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest
from pydantic import TypeAdapter

from tenantflow.config.models import FilesSource, GraphQLSource, HttpSource, Source, SqlSource
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.sources.registry import SOURCE_HOOKS, source_hook
from tenantflow.streams.registry import STREAM_READERS

SOURCES = {
    "sql": {"kind": "sql", "connection_id": "retail__erp", "table": "orders"},
    "files": {"kind": "files", "connection_id": "retail__drops", "path": "s3://b/*.csv", "format": "csv"},
    "http": {"kind": "http", "connection_id": "retail__api", "path": "/orders"},
    "graphql": {"kind": "graphql", "connection_id": "retail__shop", "query": "{ orders { id } }",
                "records_path": "data.orders"},
}


def _config_kinds() -> set[str]:
    union = typing.get_args(Source)[0]
    models = [typing.get_args(m)[0] if typing.get_origin(m) is typing.Annotated else m for m in typing.get_args(union)]
    return {typing.get_args(model.model_fields["kind"].annotation)[0] for model in models
            if isinstance(model, type)} | {"queue"}  # queue: a union of its own, by broker


def test_every_config_kind_has_a_hook_or_a_stream_reader():
    streams = {key.split(":", 1)[0] for key in STREAM_READERS}  # stream kinds (cdc, queues) consume, never extract
    assert set(SOURCE_HOOKS) == set(SOURCES)
    assert _config_kinds() == set(SOURCE_HOOKS) | streams and not set(SOURCE_HOOKS) & streams


def test_every_queue_broker_has_a_stream_reader():
    from tenantflow.config.queues import QUEUE_SOURCES

    brokers = {typing.get_args(m.model_fields["broker"].annotation)[0] for m in QUEUE_SOURCES}
    assert {k for k in STREAM_READERS if k.startswith("queue:")} == {f"queue:{b}" for b in brokers}


@pytest.mark.parametrize(("kind", "provider_hook", "model"), [
    ("sql", "airflow.providers.common.sql.hooks.sql:DbApiHook", SqlSource),
    ("files", "airflow.providers.amazon.aws.hooks.base_aws:AwsBaseHook", FilesSource),
    ("http", "airflow.providers.http.hooks.http:HttpHook", HttpSource),
    ("graphql", "tenantflow.sources.http:HttpSourceHook", GraphQLSource),  # the REST hook: same connection, auth
])
def test_each_kind_gets_its_provider_hook_on_the_tenants_connection(kind, provider_hook, model):
    from importlib import import_module

    module, _, name = provider_hook.partition(":")
    source = TypeAdapter(Source).validate_python(SOURCES[kind])
    assert isinstance(source, model)
    hook = source_hook("retail", source)
    assert isinstance(hook, getattr(import_module(module), name))
    assert (hook.tenant_id, hook.connection_id) == ("retail", SOURCES[kind]["connection_id"])


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_each_kind_refuses_another_tenants_connection(kind):
    source = TypeAdapter(Source).validate_python({**SOURCES[kind], "connection_id": "finance__secret"})
    with pytest.raises(TenantIsolationError, match="tenant 'retail' may not use connection 'finance__secret'"):
        source_hook("retail", source)


def test_the_registry_imports_no_provider_hook_until_asked():
    probe = ("import sys; import tenantflow.operators.extract, tenantflow.sources.registry; "
             "print([m for m in ('boto3', 'botocore', 'airflow.providers.amazon.aws.hooks.base_aws', "
             "'airflow.providers.http.hooks.http', 'airflow.providers.common.sql.hooks.sql', "
             "'tenantflow.sources.sql', 'tenantflow.sources.files', 'tenantflow.sources.http', "
             "'tenantflow.sources.graphql', 'graphql') "
             "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
