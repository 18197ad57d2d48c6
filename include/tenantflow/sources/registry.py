"""Source kind -> its hook, so the extract operator has no ladder of kinds.

Hooks are named by import path and imported on first use: their Airflow provider hooks pull in boto3,
requests and SQLAlchemy, which DAG parsing must not import. The paths are ours (keyed by the config's
``kind`` literal), never taken from tenant YAML.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenantflow.config.models import Source
    from tenantflow.sources.base import SourceHook

SOURCE_HOOKS: dict[str, str] = {
    "sql": "tenantflow.sources.sql:SqlSourceHook",
    "files": "tenantflow.sources.files:FilesSourceHook",
    "http": "tenantflow.sources.http:HttpSourceHook",
    "graphql": "tenantflow.sources.graphql:GraphQLSourceHook",
}


def source_hook(tenant_id: str, source: Source, **hook_kwargs: Any) -> SourceHook:
    """The hook of ``source``'s kind, bound to the tenant's own connection (another tenant's is refused).

    ``hook_kwargs`` go to the hook's base class (e.g. a botocore ``config`` with short timeouts).
    """
    try:
        module, _, name = SOURCE_HOOKS[source.kind].partition(":")
    except KeyError:
        raise ValueError(f"no source hook for kind {source.kind!r}; known kinds: {sorted(SOURCE_HOOKS)}") from None
    hook_class = getattr(import_module(module), name)
    return hook_class(tenant_id=tenant_id, connection_id=source.connection_id, **hook_kwargs)
