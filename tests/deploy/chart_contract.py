"""What the official Airflow chart 1.19.0 documents for the value keys tenantflow uses -- in our words.

The chart's own files (values.schema.json, ...) are not committed here, so the CI checks our values
files against this hand-written summary instead (tests/deploy/test_helm_chart_schema.py); wherever the
chart's files are present, the same tests check every entry below against the real schema.

A key path names a value: `.` between map keys, `[]` for the items of a list, `*` for any key of a
free-form map (labels, annotations, airflow.cfg sections). Only paths our values files use (or
`tenantflow helm-values` can render) are listed, with their parents. A worker set
(`workers.celery.sets[]`) is free-form in the schema; the chart merges each item over `workers` and
`workers.celery`, so its keys have the types those sections give them.

Types are JSON types ("integer" values are also a "number"). `extra` (objects only): True when the chart
accepts keys it does not list -- for a free-form map, what its `*` entry says they hold; False when it
rejects them. Kubernetes objects (Container, EnvVar, VolumeMount, ...) are the chart's strict copies
of the Kubernetes API schemas (additional keys rejected).
"""

from __future__ import annotations

from dataclasses import dataclass

CHART = "apache-airflow/airflow"
VERSION = "1.19.0"

JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


@dataclass(frozen=True)
class Key:
    types: tuple[str, ...]
    extra: bool | None = None  # objects: does the chart accept keys it does not list?
    enum: tuple[str, ...] = ()
    free_items: bool = False  # arrays: the chart's schema says nothing of the items (not checked here either)

    def __post_init__(self) -> None:
        assert set(self.types) <= set(JSON_TYPES), self.types
        assert (self.extra is None) == ("object" not in self.types), "`extra` is for objects (only)"
        assert not self.free_items or self.types == ("array",), "`free_items` is for arrays (only)"


STRING = Key(("string",))
STRING_OR_NULL = Key(("string", "null"))
BOOLEAN = Key(("boolean",))
INTEGER = Key(("integer",))
CLOSED = Key(("object",), extra=False)
OPEN = Key(("object",), extra=True)
LIST = Key(("array",))
FREE_LIST = Key(("array",), free_items=True)  # e.g. statsd-exporter mapping rules: statsd_exporter's format
QUANTITY = Key(("string", "number"))  # Kubernetes resource quantity: "500m", "4Gi", 2
PULL_POLICY = Key(("string",), enum=("Always", "Never", "IfNotPresent"))


def string_map(path: str) -> dict[str, Key]:
    """Labels, annotations, nodeSelector: any key, string values."""
    return {path: OPEN, f"{path}.*": STRING}


def chart_env(path: str) -> dict[str, Key]:
    """The chart's `<component>.env`: a list of {name, value} (or valueFrom), nothing else."""
    return {path: LIST, f"{path}[]": CLOSED, f"{path}[].name": STRING, f"{path}[].value": STRING}


def service_account_annotations(component: str, *, closed: bool) -> dict[str, Key]:
    """IRSA: `<component>.serviceAccount.annotations` (the chart closes only some serviceAccount sections)."""
    return {f"{component}.serviceAccount": CLOSED if closed else OPEN,
            **string_map(f"{component}.serviceAccount.annotations")}


def resources(path: str) -> dict[str, Key]:
    """A Kubernetes ResourceRequirements: requests / limits maps of quantities."""
    return {path: CLOSED, f"{path}.requests": OPEN, f"{path}.requests.*": QUANTITY,
            f"{path}.limits": OPEN, f"{path}.limits.*": QUANTITY}


def worker_set() -> dict[str, Key]:
    """A `workers.celery.sets` item: its own name, plus keys of `workers.celery` / `workers` it overrides."""
    item = "workers.celery.sets[]"
    return {
        "workers.celery.sets": LIST,
        item: OPEN,
        f"{item}.name": STRING,  # the set's name: its Deployment is <release>-worker-<name>
        f"{item}.queue": STRING,  # from workers.celery
        f"{item}.replicas": Key(("integer", "null")),  # from workers.celery (workers.replicas is deprecated)
        **string_map(f"{item}.labels"),
        **resources(f"{item}.resources"),
        **chart_env(f"{item}.env"),
        **string_map(f"{item}.nodeSelector"),
        **service_account_annotations(item, closed=False),
    }


def sidecar_container(path: str) -> dict[str, Key]:
    """A Kubernetes Container (the tenantflow-reconcile sidecar), the fields we set."""
    env, mounts = f"{path}.env[]", f"{path}.volumeMounts[]"
    return {
        path: CLOSED,
        f"{path}.name": STRING,
        f"{path}.image": STRING,
        f"{path}.imagePullPolicy": STRING,  # the Kubernetes schema does not enumerate it here
        f"{path}.args": LIST,
        f"{path}.args[]": STRING,
        f"{path}.env": LIST,
        env: CLOSED,
        f"{env}.name": STRING,
        f"{env}.value": STRING,
        f"{env}.valueFrom": CLOSED,
        f"{env}.valueFrom.secretKeyRef": CLOSED,
        f"{env}.valueFrom.secretKeyRef.name": STRING,
        f"{env}.valueFrom.secretKeyRef.key": STRING,
        f"{path}.volumeMounts": LIST,
        mounts: CLOSED,
        f"{mounts}.name": STRING,
        f"{mounts}.mountPath": STRING,
        f"{mounts}.readOnly": BOOLEAN,
        f"{mounts}.subPath": STRING,
        **resources(f"{path}.resources"),
    }


CONTRACT: dict[str, Key] = {
    # image
    "defaultAirflowRepository": STRING,
    "defaultAirflowTag": STRING,
    "airflowVersion": STRING,
    "images": CLOSED,
    "images.airflow": CLOSED,
    "images.airflow.repository": STRING_OR_NULL,
    "images.airflow.tag": STRING_OR_NULL,
    "images.airflow.pullPolicy": PULL_POLICY,
    "executor": STRING,  # the chart checks a pattern: one or more comma-separated *Executor class names
    # airflow.cfg: sections of options; an option's value is a scalar
    "config": OPEN,
    "config.*": OPEN,
    "config.*.*": Key(("boolean", "integer", "number", "string")),
    # metadata DB, broker
    "postgresql": OPEN,  # the bundled PostgreSQL subchart's values
    "postgresql.enabled": BOOLEAN,
    "data": CLOSED,
    "data.metadataSecretName": STRING_OR_NULL,
    "redis": CLOSED,
    "redis.enabled": BOOLEAN,
    # git-sync
    "dags": CLOSED,
    "dags.gitSync": CLOSED,
    "dags.gitSync.enabled": BOOLEAN,
    "dags.gitSync.repo": STRING,
    "dags.gitSync.branch": STRING,
    "dags.gitSync.ref": STRING,
    "dags.gitSync.rev": STRING,
    "dags.gitSync.depth": INTEGER,
    "dags.gitSync.subPath": STRING,
    # components
    "dagProcessor": CLOSED,
    **service_account_annotations("dagProcessor", closed=False),
    **chart_env("dagProcessor.env"),
    "dagProcessor.extraContainers": LIST,
    **sidecar_container("dagProcessor.extraContainers[]"),
    "triggerer": CLOSED,
    **service_account_annotations("triggerer", closed=False),
    **chart_env("triggerer.env"),
    "scheduler": CLOSED,
    **service_account_annotations("scheduler", closed=False),
    "workers": CLOSED,
    **service_account_annotations("workers", closed=False),
    **chart_env("workers.env"),
    "workers.celery": OPEN,
    "workers.celery.replicas": Key(("integer", "null")),
    "workers.celery.enableDefault": BOOLEAN,
    **worker_set(),
    "apiServer": CLOSED,
    **service_account_annotations("apiServer", closed=False),
    "apiServer.apiServerConfig": STRING_OR_NULL,  # webserver_config.py text (--set-file)
    **chart_env("apiServer.env"),
    "apiServer.extraVolumes": LIST,
    "apiServer.extraVolumes[]": CLOSED,  # a Kubernetes Volume
    "apiServer.extraVolumes[].name": STRING,
    "apiServer.extraVolumes[].secret": CLOSED,
    "apiServer.extraVolumes[].secret.secretName": STRING,
    "apiServer.extraVolumeMounts": LIST,
    "apiServer.extraVolumeMounts[]": CLOSED,  # a Kubernetes VolumeMount
    "apiServer.extraVolumeMounts[].name": STRING,
    "apiServer.extraVolumeMounts[].mountPath": STRING,
    "apiServer.extraVolumeMounts[].readOnly": BOOLEAN,
    # metrics: the chart's statsd-exporter (README "Metrics")
    "statsd": CLOSED,
    "statsd.enabled": BOOLEAN,
    "statsd.overrideMappings": FREE_LIST,
    # jobs
    "migrateDatabaseJob": CLOSED,
    "migrateDatabaseJob.enabled": BOOLEAN,
    "migrateDatabaseJob.useHelmHooks": BOOLEAN,
    "createUserJob": CLOSED,
    "createUserJob.enabled": BOOLEAN,  # new in 1.19.0
    **service_account_annotations("createUserJob", closed=True),
    "createUserJob.useHelmHooks": BOOLEAN,
    "createUserJob.applyCustomEnv": BOOLEAN,
    "createUserJob.ttlSecondsAfterFinished": Key(("integer", "null")),
    **string_map("createUserJob.labels"),
    "createUserJob.command": Key(("array", "null")),
    "createUserJob.args": Key(("array", "null")),
    "createUserJob.args[]": STRING,
    **chart_env("createUserJob.env"),
}
